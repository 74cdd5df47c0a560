"""Cases analysed by the real stages (embedded profile) for the report's computed parts.

``talking_case``: two videos. In ``solo.mp4`` one face (the astronaut) is on screen, alone, while
one voice says three sentences; in ``pair.mp4`` two other faces are on screen together while
another voice says two sentences. Keyframes come every second, so every sentence has keyframes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from aima.models.factory import load_model
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import build_report
from aima.settings import Settings
from aima.stages import registry
from aima.stages.ingest import ingest_file
from aima.storage import Stores, open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import Case
from tests.report_facts import casegen
from tests.speech.speechgen import VOICE_A, VOICE_B, Turn

A, B, C = "astronaut", 1, 31
SOLO_LINES = ["Please call the office before noon tomorrow.",
              "The meeting was moved to the second floor.",
              "She left her keys on the kitchen table."]
PAIR_LINES = ["We drove along the coast for three hours.",
              "The children played in the park until dark."]


class Models:
    """The embedded profile's models, each loaded once."""

    def __init__(self, settings: Settings):
        self.settings, self.loaded = settings, {}

    def __call__(self, kind: str):
        if kind not in self.loaded:
            self.loaded[kind] = load_model(kind, self.settings)
        return self.loaded[kind]


@pytest.fixture(scope="session")
def model_settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("unused"),
                    model_cache_dir=tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="session")
def models(model_settings) -> Models:
    return Models(model_settings)


def analyse(stores: Stores, case_id: str, folder: Path, names: list[str], models: Models,
            case_stages: tuple[str, ...] = ("link-speakers", "link-persons")) -> dict[str, str]:
    """Ingest ``names`` from ``folder`` in that order and run every media stage the registry
    has for them, then ``case_stages``; returns {file name: media id}."""
    ids = {}
    for name in names:
        ingested = ingest_file(stores, stores.settings, case_id,
                               SourceFile(uri=str(folder / name), name=name))
        ids[name] = ingested.media_id
        for stage in registry.media_stages(ingested.media_type):
            outcome = run_media_stage(stores, stage, ingested.media_id, models=models)
            assert outcome.status in ("done", "skipped"), outcome
    for stage in case_stages:
        run_case_stage(stores, stage, case_id, models=models)
    return ids


def report_of(stores: Stores, case_id: str) -> tuple[dict, dict[str, dict]]:
    """The case report (the parts the computed sections read) and the preprocess documents."""
    with stores.metadata.session() as session:
        case = session.get(Case, uuid.UUID(case_id))
    documents = {d.media_id: d.data for d in stores.documents.query(case_id, stage="preprocess")}
    return build_report(stores, case), documents


@dataclass
class TalkingCase:
    stores: Stores
    case_id: str
    ids: dict[str, str]  # file name -> media id
    turns: dict[str, list[Turn]]  # file name -> speech turns


@pytest.fixture(scope="session")
def talking_case(tmp_path_factory, models) -> TalkingCase:
    folder = tmp_path_factory.mktemp("talking")
    turns = {
        "solo.mp4": casegen.talking_video(
            folder / "solo.mp4",
            [("horse", [(A, 110, (60, 60))]), ("grass", [(A, 110, (280, 50))])],
            [(VOICE_A, line) for line in SOLO_LINES]),
        "pair.mp4": casegen.talking_video(
            folder / "pair.mp4", [("coffee", [(B, 100, (40, 60)), (C, 100, (300, 80))])],
            [(VOICE_B, line) for line in PAIR_LINES]),
    }
    settings = Settings(data_dir=folder / "data", keyframe_max_gap_s=1.0, ocr_enabled=False,
                        model_cache_dir=models.settings.model_cache_dir)
    with open_stores(settings) as stores:
        case_id = str(get_or_create_case(stores.metadata, "talking").id)
        ids = analyse(stores, case_id, folder, ["solo.mp4", "pair.mp4"], models)
        yield TalkingCase(stores, case_id, ids, turns)
