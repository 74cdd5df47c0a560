"""Ingest hashes each file once for sha256, md5 and sha1, looks them up in the hash sets and keeps
the matches; a known-benign file is marked to skip the analysis stages and the report says so."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid

import pytest

from aima.hashsets.store import import_file, remove, skip_reason
from aima.pipeline.sources import SourceFile
from aima.report.hashsets import add_to_rows, section
from aima.settings import Settings
from aima.stages.ingest import HASH_CHUNK, hashes_of, ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import MediaItem
from tests.mediagen import make_images

BENIGN_MD5 = {"set": "stock-photos", "category": "known-benign", "algorithm": "md5"}


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def digests(path) -> dict[str, str]:
    data = path.read_bytes()
    return {name: hashlib.new(name, data).hexdigest() for name in ("sha256", "md5", "sha1")}


def item(stores, media_id) -> MediaItem:
    with stores.metadata.session() as session:
        return session.get(MediaItem, uuid.UUID(media_id))


def ingest(stores, case, path):
    return ingest_file(stores, stores.settings, str(case.id),
                       SourceFile(uri=str(path), name=path.name))


def test_the_three_hashes_of_one_read_equal_hashlibs_across_chunks(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(2 * HASH_CHUNK + 12345))

    assert hashes_of(path) == digests(path)


def test_a_file_in_a_known_benign_set_is_marked_and_skips_the_stages(stores, tmp_path):
    images = make_images(tmp_path / "images")
    known, other = images["jpeg"], images["png"]
    (tmp_path / "benign.txt").write_text(f"# stock photos\n{digests(known)['md5']}\n")
    import_file(stores.metadata, "stock-photos", tmp_path / "benign.txt",
                category="known-benign", actor="analyst")
    case = get_or_create_case(stores.metadata, "triage")

    found = ingest(stores, case, known)
    unknown = ingest(stores, case, other)

    assert found.status == "done" and unknown.status == "done"
    stored = item(stores, found.media_id)
    assert {"sha256": stored.sha256, "md5": stored.md5, "sha1": stored.sha1} == digests(known)
    assert stored.hash_matches == [BENIGN_MD5]
    assert found.detail == "image (jpeg); known-benign: in hash set stock-photos"
    assert found.data == {"hash_matches": [BENIGN_MD5]}
    assert skip_reason(stores, found.media_id) == "known-benign: in hash set stock-photos"
    assert skip_reason(stores, stored) == "known-benign: in hash set stock-photos"
    assert item(stores, unknown.media_id).hash_matches == []
    assert skip_reason(stores, unknown.media_id) is None
    analyse_all = dataclasses.replace(
        stores, settings=stores.settings.model_copy(update={"hashsets_skip_known_benign": False}))
    assert skip_reason(analyse_all, found.media_id) is None

    report = section(stores, str(case.id))
    rows = [{"id": found.media_id}, {"id": unknown.media_id}]
    add_to_rows(rows, report)

    assert report["summary"] == {"files": 1, "by_category": {"known-benign": 1},
                                 "by_set": {"stock-photos": 1}, "perceptual": 0,
                                 "phash_max_distance": 10}
    assert rows[0]["hash_matches"] == [BENIGN_MD5]
    assert rows[1]["hash_matches"] == []


def test_ingesting_again_refreshes_the_matches(stores, tmp_path):
    path = make_images(tmp_path / "images")["jpeg"]
    (tmp_path / "alerts.csv").write_text(f"name,sha1\nphoto.jpg,{digests(path)['sha1']}\n")
    case = get_or_create_case(stores.metadata, "refresh")
    first = ingest(stores, case, path)
    assert item(stores, first.media_id).hash_matches == []

    import_file(stores.metadata, "alerts", tmp_path / "alerts.csv", category="known-relevant",
                actor="analyst")
    again = ingest(stores, case, path)

    assert again.reused and again.media_id == first.media_id
    assert item(stores, first.media_id).hash_matches == [
        {"set": "alerts", "category": "known-relevant", "algorithm": "sha1"}]
    assert again.detail == "in hash set alerts (known-relevant)"
    assert skip_reason(stores, first.media_id) is None  # relevant files are analysed

    remove(stores.metadata, "alerts", actor="analyst")
    ingest(stores, case, path)

    assert item(stores, first.media_id).hash_matches == []


def test_a_rejected_file_keeps_its_hashes_and_matches(stores, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a picture, but a known file\n")
    (tmp_path / "set.txt").write_text(digests(path)["sha256"] + "\n")
    import_file(stores.metadata, "known-docs", tmp_path / "set.txt", category="known-relevant",
                actor="analyst")
    case = get_or_create_case(stores.metadata, "rejects")

    outcome = ingest(stores, case, path)

    assert outcome.status == "rejected"
    stored = item(stores, outcome.media_id)
    assert {"sha256": stored.sha256, "md5": stored.md5, "sha1": stored.sha1} == digests(path)
    assert stored.hash_matches == [{"set": "known-docs", "category": "known-relevant",
                                   "algorithm": "sha256"}]


def test_the_runner_skips_every_stage_of_a_known_benign_file_and_says_why(stores, tmp_path):
    from aima.pipeline.runner import run_media_stage
    from aima.report import build_report

    images = make_images(tmp_path / "images")
    known, other = images["jpeg"], images["png"]
    (tmp_path / "benign.txt").write_text(digests(known)["sha256"] + "\n")
    import_file(stores.metadata, "stock-photos", tmp_path / "benign.txt",
                category="known-benign", actor="analyst")
    case = get_or_create_case(stores.metadata, "set-aside")
    found, unknown = ingest(stores, case, known), ingest(stores, case, other)

    skipped = run_media_stage(stores, "preprocess", found.media_id)
    analysed = run_media_stage(stores, "preprocess", unknown.media_id)

    assert (skipped.status, skipped.detail) == ("skipped", "known-benign: in hash set stock-photos")
    assert analysed.status == "done"
    rows = {row["name"]: row for row in build_report(stores, case)["media"]}
    assert rows[known.name]["notes"] == "preprocess skipped: known-benign: in hash set stock-photos"
    assert rows[known.name]["hash_matches"] == [
        {"set": "stock-photos", "category": "known-benign", "algorithm": "sha256"}]
    assert rows[other.name]["hash_matches"] == []
