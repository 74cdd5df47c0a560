"""Near-duplicate stacks of a small case of real photos, their altered copies and videos made of
photos: copies stack with their original, a clip joins the video it was cut from, and different
photos and videos stay apart."""

from __future__ import annotations

import pytest

from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import media_rows
from aima.report.triage import annotate_rows, section, stack_label
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.stages.near_duplicates import DOCUMENT, STAGE
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.triage.phash import PictureHash, distance, picture_hash
from aima.triage.stacks import Candidate, find_stacks
from tests.triage.photos import TRANSFORMS, cut_clip, make_photo_video, photo, save

LONG_SCENES = ["hubble_deep_field", "retina", "coins", "moon", "page", "grass", "gravel", "brick",
               "immunohistochemistry", "cell", "clock", "text"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("near-duplicates")
    astronaut, coffee = photo("astronaut"), photo("coffee")
    save(astronaut, folder / "astronaut.png")
    for name in ("resized", "jpeg30", "cropped", "brighter", "mirrored"):
        save(TRANSFORMS[name](astronaut), folder / f"astronaut-{name}.jpg")
    save(coffee, folder / "coffee.jpg")
    save(TRANSFORMS["jpeg30"](coffee), folder / "coffee-jpeg30.jpg")
    save(TRANSFORMS["mirrored"](TRANSFORMS["corner-cropped"](coffee)),
         folder / "coffee-corner-cropped-mirrored.jpg")
    for name in ("chelsea", "rocket", "camera", "moon"):  # different photos: each stays alone
        save(photo(name), folder / f"{name}.jpg")
    long = make_photo_video(folder / "long.mp4", LONG_SCENES)  # 60 s, a slow pan per photo
    cut_clip(long, folder / "clip.mp4", 22.5, 5)  # starts in the middle of a scene
    cut_clip(long, folder / "long-small-mirrored.mp4", 0, 60, scale="192:108", mirror=True)
    # Shares its last scene (the moon) with long.mp4, and nothing else: not a copy.
    make_photo_video(folder / "other.mp4", ["astronaut", "chelsea", "moon"])
    return folder


@pytest.fixture(scope="module")
def case(folder, tmp_path_factory):
    with open_stores(Settings(data_dir=tmp_path_factory.mktemp("data"))) as stores:
        the_case = get_or_create_case(stores.metadata, "stacks")
        case_id = str(the_case.id)
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            ingested = ingest_file(stores, stores.settings, case_id,
                                   SourceFile(uri=str(path), name=path.name))
            assert ingested.status == "done", ingested
            assert run_media_stage(stores, "preprocess", ingested.media_id).status == "done"
        outcome = run_case_stage(stores, STAGE, case_id)
        document = stores.documents.get(case_id, *DOCUMENT)
        rows = media_rows(stores, the_case)
        triage = section(stores, case_id)
        annotate_rows(rows, triage)
        yield {"outcome": outcome, "document": document, "rows": rows, "triage": triage}


def named(stack):
    names = {m["media_id"]: m["name"] for m in stack["members"]}
    return names[stack["representative"]], sorted(names.values())


def test_the_case_stacks_as_expected(case):
    stacks = [(s["id"], s["media_type"], *named(s)) for s in case["document"]["stacks"]]
    assert stacks == [
        ("stack-1", "image", "astronaut.png",
         ["astronaut-brighter.jpg", "astronaut-cropped.jpg", "astronaut-jpeg30.jpg",
          "astronaut-mirrored.jpg", "astronaut-resized.jpg", "astronaut.png"]),
        ("stack-2", "image", "coffee.jpg",
         ["coffee-corner-cropped-mirrored.jpg", "coffee-jpeg30.jpg", "coffee.jpg"]),
        ("stack-3", "video", "long.mp4", ["clip.mp4", "long-small-mirrored.mp4", "long.mp4"]),
    ]
    assert case["document"]["counts"] == {"hashed": 17, "not_hashed": 0, "stacks": 3,
                                          "in_stacks": 12, "copies": 9}
    assert case["outcome"].status == "done"
    assert case["outcome"].detail == "3 stacks of 12 files (9 near-duplicates) among 17 hashed"


def test_members_carry_their_distance_to_the_representative(case):
    images, _, videos = case["document"]["stacks"]
    first, *copies = images["members"]
    assert first["representative"] and first["distance"] == 0
    assert all(not m["representative"] and 0 <= m["distance"] <= 10 for m in copies)
    members = {m["name"]: m for m in videos["members"]}
    assert members["clip.mp4"]["containment"] == 1.0
    assert members["long-small-mirrored.mp4"]["containment"] == 1.0
    assert members["clip.mp4"]["distance"] <= 10


def test_report_rows_point_copies_at_their_representative(case):
    rows = {row["name"]: row for row in case["rows"]}
    assert rows["astronaut-mirrored.jpg"]["near_duplicate_of"]["name"] == "astronaut.png"
    assert rows["astronaut-mirrored.jpg"]["near_duplicate_of"]["stack"] == "stack-1"
    assert rows["clip.mp4"]["near_duplicate_of"]["media_id"] == rows["long.mp4"]["id"]
    assert rows["astronaut.png"]["near_duplicate_of"] is None
    assert rows["astronaut.png"]["near_duplicate_stack"] == "stack-1"
    for alone in ("chelsea.jpg", "rocket.jpg", "camera.jpg", "moon.jpg", "other.mp4"):
        assert rows[alone]["near_duplicate_of"] is None, alone
        assert rows[alone]["near_duplicate_stack"] is None, alone
    assert stack_label(rows["astronaut.png"]) == "stack-1"
    assert stack_label(rows["coffee-jpeg30.jpg"]).startswith("stack-2: copy of coffee.jpg (")
    assert stack_label(rows["clip.mp4"]).startswith("stack-3: copy of long.mp4 (100% contained, ")
    assert stack_label(rows["chelsea.jpg"]) == ""
    assert case["triage"]["summary"]["near_duplicate_stacks"] == 3
    assert case["triage"]["summary"]["near_duplicates"] == 9


def test_each_alteration_stays_close_and_different_photos_stay_far():
    original = photo("chelsea")
    hashed = picture_hash(original)
    for name, alter in TRANSFORMS.items():
        assert distance(hashed, picture_hash(alter(original))) <= 6, name
    others = [picture_hash(photo(name)) for name in ("astronaut", "coffee", "rocket", "camera")]
    assert min(distance(hashed, other) for other in others) >= 16
    assert PictureHash.from_dict(hashed.as_dict()) == hashed


def test_a_flat_picture_matches_nothing_and_one_shared_scene_links_videos_only_through_it():
    from PIL import Image

    black = picture_hash(Image.new("RGB", (64, 48)))
    assert black.flat and distance(black, black) > 64
    scene = [picture_hash(photo("moon"))]
    long = Candidate("long", "long.mp4", "video", tuple(
        picture_hash(photo(n)) for n in ("moon", "coins", "page", "grass", "camera")),
        duration_s=50)
    intro = Candidate("intro", "intro.mp4", "video", tuple(scene), duration_s=5)
    shares = Candidate("shares", "shares.mp4", "video", tuple(
        scene + [picture_hash(photo("astronaut")), picture_hash(photo("chelsea"))]),
        duration_s=15)
    stacks = find_stacks([long, intro, shares])
    assert [[m.media_id for m in s.members] for s in stacks] == [["long", "intro", "shares"]]
    # The intro alone is in both; without it, one shared scene of three is not containment.
    assert find_stacks([long, shares]) == []


def test_items_preprocessed_before_hashing_are_listed_as_not_hashed(tmp_path):
    save(photo("rocket"), tmp_path / "rocket.jpg")
    save(TRANSFORMS["jpeg30"](photo("rocket")), tmp_path / "rocket-jpeg30.jpg")
    with open_stores(Settings(data_dir=tmp_path / "data")) as stores:
        case_id = str(get_or_create_case(stores.metadata, "old").id)
        ids = {}
        for name in ("rocket.jpg", "rocket-jpeg30.jpg"):
            ids[name] = ingest_file(stores, stores.settings, case_id,
                                    SourceFile(uri=str(tmp_path / name), name=name)).media_id
            run_media_stage(stores, "preprocess", ids[name])
        old = stores.documents.get(case_id, "preprocess", ids["rocket-jpeg30.jpg"])
        del old["phash_algorithm"], old["phash"]  # as preprocess version 1 wrote it
        stores.documents.put(case_id, "preprocess", ids["rocket-jpeg30.jpg"], old,
                             media_id=ids["rocket-jpeg30.jpg"])
        outcome = run_case_stage(stores, STAGE, case_id)
        document = stores.documents.get(case_id, *DOCUMENT)
    assert document["stacks"] == []
    assert document["not_hashed"] == [{
        "media_id": ids["rocket-jpeg30.jpg"], "name": "rocket-jpeg30.jpg",
        "reason": "preprocessed without perceptual hashes (run the analysis again)"}]
    assert outcome.data == {"hashed": 1, "not_hashed": 1, "stacks": 0, "in_stacks": 0,
                            "copies": 0}
