"""One picture per stack: with the setting on, an image's analysis is left to a better copy of it
already in the case; different pictures, videos and the setting's default are untouched."""

from __future__ import annotations

import dataclasses

import pytest

from aima.models.factory import load_model
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import build_report
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.triage.photos import TRANSFORMS, photo, save


def ocr(kind: str):
    return load_model(kind, Settings())


@pytest.fixture
def case(tmp_path):
    astronaut = photo("astronaut")
    files = [save(astronaut, tmp_path / "astronaut.png"),
             save(TRANSFORMS["resized"](astronaut), tmp_path / "astronaut-resized.jpg"),
             save(TRANSFORMS["mirrored"](astronaut), tmp_path / "astronaut-mirrored.jpg"),
             save(photo("coffee"), tmp_path / "coffee.jpg")]
    with open_stores(Settings(data_dir=tmp_path / "data")) as stores:
        the_case = get_or_create_case(stores.metadata, "one per stack")
        ids = {}
        for path in files:
            ingested = ingest_file(stores, stores.settings, str(the_case.id),
                                   SourceFile(uri=str(path), name=path.name))
            ids[path.name] = ingested.media_id
            assert run_media_stage(stores, "preprocess", ingested.media_id).status == "done"
        yield stores, the_case, ids


def test_only_the_best_copy_of_a_picture_is_analysed_when_asked(case):
    stores, the_case, ids = case
    asked = dataclasses.replace(stores, settings=stores.settings.model_copy(
        update={"near_duplicate_representatives_only": True}))

    outcomes = {name: run_media_stage(asked, "ocr", media_id, models=ocr)
                for name, media_id in ids.items()}

    assert outcomes["astronaut.png"].status == "done"  # the most pixels: the representative
    assert outcomes["coffee.jpg"].status == "done"  # a different picture
    for copy in ("astronaut-resized.jpg", "astronaut-mirrored.jpg"):
        assert outcomes[copy].status == "skipped"
        assert outcomes[copy].detail.startswith("near-duplicate of astronaut.png (")
        assert "one picture per stack is analysed" in outcomes[copy].detail
    rows = {row["name"]: row for row in build_report(asked, the_case)["media"]}
    assert rows["astronaut-resized.jpg"]["notes"].startswith("ocr skipped: near-duplicate of")


def test_by_default_every_copy_is_analysed(case):
    stores, _, ids = case

    outcomes = [run_media_stage(stores, "ocr", media_id, models=ocr) for media_id in ids.values()]

    assert [o.status for o in outcomes] == ["done"] * 4
