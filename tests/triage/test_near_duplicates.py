"""Near-duplicate stacks of a small case of real photos, their altered copies and videos made of
photos: copies stack with their original, a clip joins the video it was cut from, and different
photos and videos stay apart; so do different pictures of text on plain paper (a generated
case's), whose 64-bit hashes are as close as copies are."""

from __future__ import annotations

from pathlib import Path

import pytest

from aima.eval.generate import _CaseMaker, plan
from aima.media.thumbnails import load_image
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import media_rows
from aima.report.triage import annotate_rows, section, stack_label
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.stages.near_duplicates import DOCUMENT, STAGE
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.triage.phash import (
    DETAIL_ALGORITHM, HashArray, PictureHash, close_pairs, distance, picture_hash, same_picture,
)
from aima.triage.stacks import Candidate, find_stacks
from tests.triage.photos import TRANSFORMS, cut_clip, make_photo_video, photo, save

LONG_SCENES = ["hubble_deep_field", "retina", "coins", "moon", "page", "grass", "gravel", "brick",
               "immunohistochemistry", "cell", "clock", "text"]
#: rounds of a generated case's text pictures whose 64-bit hashes are 2 (7, 13) and 4 (1, 12)
#: bits apart, although their words differ
CLOSE_TEXTS = (7, 13, 1, 12)


def text_pictures(folder: Path, rounds) -> dict[int, Path]:
    """Text on paper as aima/eval's generator makes it (round -> the PNG it wrote)."""
    maker = _CaseMaker(folder, seed=0)
    return {round_: folder / maker.make("text", round_).name for round_ in rounds}


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
    texts = text_pictures(folder, CLOSE_TEXTS)  # different texts: each stays alone, but one copy
    save(TRANSFORMS["resized"](load_image(texts[7])), folder / "text-07-resized.jpg")
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
        ("stack-4", "image", "text-07.png", ["text-07-resized.jpg", "text-07.png"]),
    ]
    assert case["document"]["counts"] == {"hashed": 22, "not_hashed": 0, "stacks": 4,
                                          "in_stacks": 14, "copies": 10}
    assert case["document"]["detail_algorithm"] == DETAIL_ALGORITHM
    assert case["outcome"].status == "done"
    assert case["outcome"].detail == "4 stacks of 14 files (10 near-duplicates) among 22 hashed"


def test_members_carry_their_distance_to_the_representative(case):
    images, _, videos, _ = case["document"]["stacks"]
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
    for alone in ("chelsea.jpg", "rocket.jpg", "camera.jpg", "moon.jpg", "other.mp4",
                  "text-13.png", "text-01.png", "text-12.png"):
        assert rows[alone]["near_duplicate_of"] is None, alone
        assert rows[alone]["near_duplicate_stack"] is None, alone
    assert stack_label(rows["astronaut.png"]) == "stack-1"
    assert stack_label(rows["coffee-jpeg30.jpg"]).startswith("stack-2: copy of coffee.jpg (")
    assert stack_label(rows["clip.mp4"]).startswith("stack-3: copy of long.mp4 (100% contained, ")
    assert stack_label(rows["chelsea.jpg"]) == ""
    assert case["triage"]["summary"]["near_duplicate_stacks"] == 4
    assert case["triage"]["summary"]["near_duplicates"] == 10


def test_each_alteration_stays_close_and_different_photos_stay_far():
    original = photo("chelsea")
    hashed = picture_hash(original)
    for name, alter in TRANSFORMS.items():
        assert distance(hashed, picture_hash(alter(original))) <= 6, name
    others = [picture_hash(photo(name)) for name in ("astronaut", "coffee", "rocket", "camera")]
    assert min(distance(hashed, other) for other in others) >= 16
    assert PictureHash.from_dict(hashed.as_dict()) == hashed
    # Hashed before detail hashes (an older preprocess): judged on the 64-bit hashes alone.
    stored = hashed.as_dict()
    del stored["detail"]
    older = PictureHash.from_dict(stored)
    assert older.detail is None and older.hash == hashed.hash
    assert same_picture(older, picture_hash(TRANSFORMS["jpeg30"](original)), 10) is not None


def test_different_pictures_of_text_on_paper_do_not_stack_and_their_copies_do(tmp_path):
    """The 20 text pictures of a 160-file generated case chained into one stack of 17 when
    stacks were connected components of 64-bit hashes; each gets one altered copy here."""
    rounds = sorted({round_ for kind, round_ in plan(160) if kind == "text"})
    files = text_pictures(tmp_path, rounds)
    alterations = list(TRANSFORMS)
    candidates = []
    for round_, path in files.items():
        original = load_image(path)
        altered = TRANSFORMS[alterations[round_ % len(alterations)]](original)
        for name, picture in ((path.name, original), (f"copy-of-{path.name}", altered)):
            candidates.append(Candidate(name, name, "image", (picture_hash(picture),),
                                        pixels=picture.width * picture.height))
    originals = [c.hashes[0] for c in candidates[::2]]
    close = close_pairs(HashArray.of(originals), 10)
    assert min(close.values()) <= 2 and len(close) >= 20  # as close as copies: the hard case

    stacks = find_stacks(candidates)

    assert sorted(sorted(m.name for m in s.members) for s in stacks) == sorted(
        [f"copy-of-{path.name}", path.name] for path in files.values())
    assert all(s.representative == s.members[0].media_id for s in stacks)


def test_a_flat_picture_matches_nothing_and_a_shared_intro_does_not_chain_two_videos():
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
    # The intro is in both videos and joins the longer one; the two videos, which share only
    # that scene (one of three), do not chain through it into one stack.
    assert [[m.media_id for m in s.members] for s in stacks] == [["long", "intro"]]
    assert find_stacks([long, shares]) == []
    alone = find_stacks([intro, shares])
    assert [[m.media_id for m in s.members] for s in alone] == [["shares", "intro"]]


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
