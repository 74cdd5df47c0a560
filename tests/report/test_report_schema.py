"""The published JSON Schema of the report (docs/report.schema.json) holds for what build_report
makes, for the sections fusion adds, and for an empty case; and it rejects a broken report."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from aima.report import build_report
from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.report.sections import large_report, with_fusion_sections

SCHEMA = Path(__file__).parents[2] / "docs" / "report.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors(validator, report) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(report)]


def test_the_report_of_a_real_case_is_valid(validator, analysed):
    assert analysed.report["evidence"] and analysed.report["persons"]
    assert errors(validator, analysed.report) == []


def test_a_report_with_the_fusion_sections_is_valid(validator, analysed):
    report = with_fusion_sections(analysed.report)
    assert {"timeline", "timeline_basis", "coverage", "person_links", "dossiers",
            "narrative"} <= set(report)
    assert errors(validator, report) == []
    assert errors(validator, large_report(videos=2, keyframes=3, segments=3)) == []


def test_the_report_of_an_empty_case_is_valid(validator, tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as stores:
        report = build_report(stores, get_or_create_case(stores.metadata, "nothing yet"))
    assert errors(validator, json.loads(json.dumps(report))) == []


def test_broken_reports_are_rejected(validator, analysed):
    report = with_fusion_sections(analysed.report)
    cases = {
        "a bad evidence id": lambda r: r["timeline"][0]["evidence"].append("frame:12"),
        "an unknown event kind": lambda r: r["timeline"][0].update(kind="rumour"),
        "a narrative not written without a reason": lambda r: r.update(
            narrative={"status": "failed"}),
        "a keyframe without its thumbnail": lambda r: next(
            e for e in r["evidence"] if e["kind"] == "keyframe").pop("thumbnail_key"),
        "no media list": lambda r: r.pop("media"),
        "a link of unknown status": lambda r: r["person_links"][0].update(status="maybe"),
    }
    for what, damage in cases.items():
        broken = copy.deepcopy(report)
        damage(broken)
        assert errors(validator, broken), f"{what} was accepted"
