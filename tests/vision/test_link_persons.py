"""Case persons from faces across photos and a video: counts, stable ids, reviewer corrections."""

from __future__ import annotations

import uuid

import pytest

from aima import persons_edits
from aima.persons import case_persons, person_id
from aima.persons_edits import PersonEditError
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report.faces import section
from aima.settings import Settings
from aima.stages.faces import STAGE as FACES
from aima.stages.ingest import ingest_file
from aima.stages.link_persons import STAGE as LINK_PERSONS, link_face_persons
from aima.storage import audit, open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import MediaItem
from aima.vision.face_clusters import CaseFace, cluster_faces
from tests.vision import facegen
from tests.vision.facegen import iou

A, B, C, D = "astronaut", 1, 31, 45


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Three identities across three photos and a video: where each face is, per file."""
    folder = tmp_path_factory.mktemp("case")
    return folder, {
        "both.jpg": facegen.write_photo(folder / "both.jpg",
                                        [(A, 130, (60, 80)), (B, 120, (400, 160))]),
        "pair.jpg": facegen.write_photo(folder / "pair.jpg",
                                        [(C, 130, (80, 200)), (A, 110, (330, 40))],
                                        backdrop="chelsea", variant=3),
        "single.jpg": facegen.write_photo(folder / "single.jpg", [(C, 140, (250, 120))],
                                          backdrop="rocket", variant=5),
        "clip.mp4": facegen.write_video(folder / "clip.mp4", [
            ("horse", [(B, 120, (100, 100))]),
            ("grass", [(C, 110, (400, 150)), (A, 120, (80, 60))])]),
    }


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def add(stores, case_id, folder, names):
    model = {"faces": facegen.face_model()}.get
    for name in names:
        ingested = ingest_file(stores, stores.settings, case_id,
                               SourceFile(uri=str(folder / name), name=name))
        assert run_media_stage(stores, "preprocess", ingested.media_id).status == "done"
        assert run_media_stage(stores, FACES, ingested.media_id, models=model).status == "done"


def link(stores, case_id):
    return run_case_stage(stores, LINK_PERSONS, case_id, models={"faces": facegen.face_model()}.get)


def face_identities(stores, case_id, placements) -> dict[str, str | int]:
    """Face evidence id -> the identity put where the face was found."""
    with stores.metadata.session() as session:
        names = {str(item.id): item.original_name for item in
                 session.query(MediaItem).filter_by(case_id=uuid.UUID(case_id))}
    found = {}
    for document in stores.documents.query(case_id, stage="faces"):
        for face in document.data["faces"]:
            shown = [p for p in placements[names[document.media_id]]
                     if p.start_s is None or p.start_s <= face["timestamp_s"] < p.end_s]
            found[face["id"]] = max(shown, key=lambda p: iou(p.box, tuple(face["box"]))).identity
    return found


def identities(stores, case_id, placements) -> dict[str, set]:
    """Person key -> the identities of its faces."""
    of = face_identities(stores, case_id, placements)
    document = stores.documents.get(case_id, "link-persons", "case")
    return {p["key"]: {of[f] for f in p["faces"]} for p in document["persons"]}


def test_three_identities_across_photos_and_a_video_are_three_persons_with_stable_ids(
        stores, media):
    folder, placements = media[0], dict(media[1])
    case_id = str(get_or_create_case(stores.metadata, "three").id)
    add(stores, case_id, folder, list(placements))

    outcome = link(stores, case_id)

    assert outcome.data["persons"] == 3 and outcome.data["unassigned"] == 0, outcome
    found = identities(stores, case_id, placements)
    assert sorted(sorted(map(str, members)) for members in found.values()) == [
        ["1"], ["31"], ["astronaut"]]
    persons = [p for p in case_persons(stores.metadata, case_id) if "face" in p["modalities"]]
    assert sorted(p["label"] for p in persons) == ["Person 1", "Person 2", "Person 3"]
    appearances = [a for p in persons for a in p["appearances"]]
    assert len(appearances) == 8 and all(a["evidence"][0].startswith("face:") for a in appearances)
    assert sum(a["start_s"] is not None for a in appearances) == 3  # the video's faces
    report = section(stores, case_id)
    assert report["counts"] == {"faces": 8, "embedded": 8, "not_embedded": 0, "persons": 3,
                                "unassigned": 0}
    assert len(report["evidence"]) == 8 and {e["kind"] for e in report["evidence"]} == {"face"}
    before = stores.documents.get(case_id, "link-persons", "case")["persons"]

    link(stores, case_id)  # a rerun
    assert stores.documents.get(case_id, "link-persons", "case")["persons"] == before

    # Files added later, one of them first in the canonical order, with a known face and a new one.
    moved = max(found, key=lambda key: int(key.split("-")[1]))  # not person-1
    identity = next(iter(found[moved]))
    with stores.metadata.session() as session:
        hashes = [item.sha256 for item in session.query(MediaItem)]
    placements["early.jpg"] = facegen.write_photo_sorting_first(
        folder / "early.jpg", [(identity, 130, (60, 120)), (D, 130, (380, 100))], hashes,
        backdrop="horse", variant=7)
    placements["late.jpg"] = facegen.write_photo(folder / "late.jpg", [(D, 120, (200, 150))],
                                                 backdrop="brick", variant=9)
    add(stores, case_id, folder, ["early.jpg", "late.jpg"])

    assert link(stores, case_id).data["persons"] == 4
    after = identities(stores, case_id, placements)
    for key, members in found.items():
        assert after[key] == members  # the known persons keep their keys
    assert after["person-4"] == {D}
    ids = {p["id"] for p in case_persons(stores.metadata, case_id)}
    assert {str(person_id(case_id, key)) for key in found} <= ids


def test_reviewer_corrections_survive_a_rerun(stores, media):
    folder, placements = media
    case_id = str(get_or_create_case(stores.metadata, "edits").id)
    add(stores, case_id, folder, list(placements))
    link(stores, case_id)
    key = {next(iter(v)): k for k, v in identities(stores, case_id, placements).items()}
    document = stores.documents.get(case_id, "link-persons", "case")
    faces_of = {p["key"]: p["faces"] for p in document["persons"]}

    persons_edits.rename(stores, case_id, key[A], "Woman in orange suit", actor="reviewer-1")
    with pytest.raises(PersonEditError, match="both in one frame"):
        persons_edits.merge(stores, case_id, key[A], key[C], actor="reviewer-1")
    persons_edits.merge(stores, case_id, key[B], key[C].removeprefix("person-"), actor="reviewer-2")
    moved = faces_of[key[A]][-1:]
    new = persons_edits.split(stores, case_id, "woman in orange SUIT", moved, actor="reviewer-1")
    published = stores.documents.get(case_id, "link-persons", "case")["persons"]

    link(stores, case_id)  # a rerun clusters afresh and applies the corrections again

    assert stores.documents.get(case_id, "link-persons", "case")["persons"] == published
    listed = {p["key"]: p for p in persons_edits.list_persons(stores, case_id)}
    assert listed[key[A]]["label"] == "Woman in orange suit"
    assert listed[key[A]]["appearances"] == len(faces_of[key[A]]) - 1
    assert key[C] not in listed and listed[key[B]]["appearances"] == 5
    assert listed[new["key"]]["appearances"] == 1 and new["key"] == "person-4"
    assert new["faces"] == moved
    edits = persons_edits.edits(stores.metadata, case_id)
    assert [(e.action, e.actor) for e in edits] == [
        ("rename", "reviewer-1"), ("merge", "reviewer-2"), ("split", "reviewer-1")]
    logged = [(e.action, e.actor) for e in audit.events(stores.metadata, case_id)]
    assert logged == [("persons.rename", "reviewer-1"), ("persons.merge", "reviewer-2"),
                      ("persons.split", "reviewer-1")]


def test_persons_said_not_to_be_the_same_stay_apart_when_clustered_more_loosely(stores, media):
    folder, placements = media
    case_id = str(get_or_create_case(stores.metadata, "apart").id)
    add(stores, case_id, folder, list(placements))
    link(stores, case_id)
    key = {next(iter(v)): k for k, v in identities(stores, case_id, placements).items()}
    loose = 0.9
    of = face_identities(stores, case_id, placements)
    faces = persons_edits.face_index(stores, case_id, facegen.face_model().model_id)
    embedded = [CaseFace(e.ref, e.media_id, e.media_id, faces[e.ref]["frame"], faces[e.ref]["n"],
                         e.vector)
                for e in stores.vectors.fetch("face", facegen.face_model().model_id, case_id, 128)]
    mixed = cluster_faces(embedded, max_distance=loose).clusters
    assert any(len({of[f] for f in members}) > 1 for members in mixed)  # loose merges people

    persons_edits.not_same(stores, case_id, key[A], key[B], actor="reviewer")
    persons_edits.not_same(stores, case_id, key[A], key[C], actor="reviewer")
    persons_edits.not_same(stores, case_id, key[B], key[C], actor="reviewer")
    model = facegen.face_model()
    link_face_persons(stores, case_id, model.model_id, model.dimension, min_faces=2,
                      max_distance=loose)

    assert identities(stores, case_id, placements) == {key[A]: {A}, key[B]: {B}, key[C]: {C}}
