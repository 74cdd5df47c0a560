"""Perceptual hashes (``phash``) in hash sets: imported from text and CSV lists, matched against
the pictures of a case by Hamming distance when the report is made, never at ingest, and never a
reason to set a file aside."""

from __future__ import annotations

import dataclasses

import imagehash
import pytest
from PIL import Image
from sqlalchemy import func, select

from aima.hashsets.formats import HashListError
from aima.hashsets.store import HashSetError, import_file, list_sets, match, \
    perceptual_entries, skip_reason
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report.hashsets import add_to_rows, section
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import HashSetEntry
from aima.triage.phash import PictureHash
from tests.hashsets.samples import sha256
from tests.mediagen import ffmpeg
from tests.triage.photos import TRANSFORMS, make_photo_video, photo, save

#: two 64-bit pHashes as imagehash writes them
PHASHES = ("d5c53a3ac5c52a3a", "f0e0d0c0b0a09080")


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def entries(stores) -> int:
    with stores.metadata.session() as session:
        return session.scalar(select(func.count()).select_from(HashSetEntry))


def test_a_phash_text_list_is_told_apart_by_length_among_file_hashes(stores, tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_text(f"# pictures\n{PHASHES[0].upper()}  astronaut.jpg\n{PHASHES[1]}\n"
                    f"{sha256(b'first file')}\n")

    info = import_file(stores.metadata, "mixed", path, category="known-relevant", actor="a")

    assert (info.entries, info.format) == (3, "text")
    loaded = perceptual_entries(stores.metadata)
    assert sorted(f"{int(h):016x}" for h in loaded.hashes) == sorted(PHASHES)
    assert loaded.sets == [("mixed", "known-relevant")]
    # the file hash still matches exactly at ingest; a phash is never looked up there
    assert match(stores.metadata, sha256(b"first file")) == [
        {"set": "mixed", "category": "known-relevant", "algorithm": "sha256"}]


def test_algorithm_phash_insists_on_phashes(stores, tmp_path):
    path = tmp_path / "pictures.txt"
    path.write_text(f"{PHASHES[0]}\n{sha256(b'x')}\n")

    with pytest.raises(HashListError) as error:
        import_file(stores.metadata, "p", path, category="known-relevant", actor="a",
                    algorithm="phash")

    assert str(error.value) == f"line 2: '{sha256(b'x')}' is not a phash hash"
    assert entries(stores) == 0 and list_sets(stores.metadata) == []
    with pytest.raises(HashSetError, match="unknown algorithm 'ahash'"):
        import_file(stores.metadata, "p", path, category="known-relevant", actor="a",
                    algorithm="ahash")


def test_a_csv_list_with_a_phash_column_and_a_hash_column_named_phash(stores, tmp_path):
    named = tmp_path / "named.csv"
    named.write_text(f"File,pHash\na.jpg,{PHASHES[0]}\nb.jpg,\nc.jpg,{PHASHES[1].upper()}\n")
    generic = tmp_path / "generic.csv"
    generic.write_text(f"name,hash\na.jpg,{PHASHES[0]}\n")

    assert import_file(stores.metadata, "named", named, category="known-relevant",
                       actor="a").entries == 2
    assert import_file(stores.metadata, "generic", generic, category="known-relevant",
                       actor="a", format="csv", algorithm="phash").entries == 1
    loaded = perceptual_entries(stores.metadata)
    assert sorted((loaded.sets[s][0], f"{int(h):016x}")
                  for h, s in zip(loaded.hashes, loaded.set_index, strict=True)) == [
        ("generic", PHASHES[0]), ("named", PHASHES[0]), ("named", PHASHES[1])]


@pytest.mark.parametrize("format, body, where", [
    ("text", f"{PHASHES[0]}\n# next one is not hex\n0123456789abcdeg\n", "line 3"),
    ("csv", f"name,phash\na.jpg,{PHASHES[0]}\nb.jpg,0123456789abcdeg\n", "line 3"),
])
def test_a_malformed_16_character_line_is_named_and_nothing_is_kept(stores, tmp_path, format,
                                                                    body, where):
    path = tmp_path / f"bad.{format}"
    path.write_text(body)

    with pytest.raises(HashListError) as error:
        import_file(stores.metadata, "bad", path, category="known-relevant", actor="a")

    expected = "phash" if format == "csv" else "sha256, sha1, md5 or phash"
    assert str(error.value) == f"{where}: '0123456789abcdeg' is not a {expected} hash"
    assert entries(stores) == 0 and list_sets(stores.metadata) == []


def copy_phash(name: str, *alterations: str) -> str:
    picture = photo(name)
    for alteration in alterations:
        picture = TRANSFORMS[alteration](picture)
    return str(imagehash.phash(picture))


def bits(value: int, listed: str) -> int:
    return bin(value ^ int(listed, 16)).count("1")


def closest(stored: PictureHash, listed: str) -> int:
    return min(bits(h, listed) for h in (stored.hash, stored.mirror, *stored.crops))


def analysed(stores, case, path):
    outcome = ingest_file(stores, stores.settings, str(case.id),
                          SourceFile(uri=str(path), name=path.name))
    assert outcome.status == "done"
    assert run_media_stage(stores, "preprocess", outcome.media_id).status == "done"
    return outcome.media_id


def test_the_report_lists_a_picture_near_a_listed_phash_with_its_distance(stores, tmp_path):
    original = save(photo("astronaut"), tmp_path / "case" / "astronaut.png")
    different = save(photo("coffee"), tmp_path / "case" / "coffee.png")
    # the lists were made elsewhere from altered copies: imagehash's pHash of each
    listed = copy_phash("astronaut", "resized", "jpeg30", "brighter")
    mirrored = copy_phash("astronaut", "mirrored", "resized", "jpeg30")
    (tmp_path / "seen.txt").write_text(f"{listed}  astronaut-small.jpg\n")
    (tmp_path / "mirrored.csv").write_text(f"file,phash\nastronaut-flipped.jpg,{mirrored}\n")
    # known-benign on purpose: a perceptual match is a lead, it must not set the file aside
    import_file(stores.metadata, "seen-pictures", tmp_path / "seen.txt",
                category="known-benign", actor="analyst")
    import_file(stores.metadata, "flipped", tmp_path / "mirrored.csv",
                category="known-relevant", actor="analyst")
    case = get_or_create_case(stores.metadata, "perceptual")
    near, other = analysed(stores, case, original), analysed(stores, case, different)

    report = section(stores, str(case.id))
    rows = [{"id": near}, {"id": other}]
    add_to_rows(rows, report)

    # the distance is the fewest bits between the entry and the picture, its mirror and crops
    stored = PictureHash.from_dict(stores.documents.get(str(case.id), "preprocess",
                                                        near)["phash"])
    whole, expected = bits(stored.hash, listed), closest(stored, listed)
    flipped_whole, flipped = bits(stored.hash, mirrored), closest(stored, mirrored)
    assert 0 < expected <= 10 and 0 <= flipped <= 10 < flipped_whole  # 10: the default
    assert rows[0]["hash_matches"] == [
        {"set": "flipped", "category": "known-relevant", "algorithm": "phash",
         "distance": flipped, "frame": "image"},
        {"set": "seen-pictures", "category": "known-benign", "algorithm": "phash",
         "distance": expected, "frame": "image"}]
    assert whole == expected
    found = rows[0]["hash_matches"][1]
    assert rows[1]["hash_matches"] == []
    assert report["summary"] == {"files": 1, "by_category": {"known-benign": 1,
                                                             "known-relevant": 1},
                                 "by_set": {"flipped": 1, "seen-pictures": 1}, "perceptual": 1,
                                 "phash_max_distance": 10}
    assert skip_reason(stores, near) is None
    # the threshold is AIMA_NEAR_DUPLICATE_MAX_DISTANCE: at the distance it matches, below not
    def within(bits: int) -> dict:
        settings = stores.settings.model_copy(update={"near_duplicate_max_distance": bits})
        return section(dataclasses.replace(stores, settings=settings), str(case.id))["media"]

    assert found in within(expected)[near]
    assert found not in within(expected - 1).get(near, [])


def test_a_keyframe_near_a_listed_phash_is_named_by_its_index_and_evidence(stores, tmp_path):
    video = make_photo_video(tmp_path / "case" / "scenes.mp4", ["moon", "chelsea"], scene_s=2.0)
    # the list holds a small frame grab of the cat's scene, taken elsewhere
    grab = tmp_path / "grab.png"
    ffmpeg("-ss", "2.0", "-i", video, "-frames:v", "1", "-vf", "scale=160:90", grab)
    listed = str(imagehash.phash(Image.open(grab)))
    (tmp_path / "cats.csv").write_text(f"name,phash\nchelsea.jpg,{listed}\n")
    import_file(stores.metadata, "cats", tmp_path / "cats.csv", category="known-relevant",
                actor="analyst")
    case = get_or_create_case(stores.metadata, "keyframes")
    media_id = analysed(stores, case, video)

    matches = section(stores, str(case.id))["media"][media_id]

    keyframes = stores.documents.get(str(case.id), "preprocess", media_id)["keyframes"]
    assert matches and all(m["set"] == "cats" and m["algorithm"] == "phash" for m in matches)
    by_index = {frame["index"]: frame for frame in keyframes}
    for found in matches:
        frame = by_index[found["frame"]]
        assert found["evidence"] == frame["id"]
        assert frame["timestamp_s"] >= 1.5  # the cat's scene, not the moon's
        assert 0 <= found["distance"] <= 10
