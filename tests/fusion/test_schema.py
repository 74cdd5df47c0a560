"""The schema the language model is held to: published, bounded, and free of identity fields."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from aima.fusion.schema import (
    Narrative, NarrativeAnswer, TimelineClaim, answer_schema, empty_narrative,
)
from tests.fusion.scripted import answer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fusion.schema.json"


def _objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_the_published_schema_is_the_one_the_code_sends():
    assert json.loads(DOCS.read_text()) == answer_schema(), (
        "docs/fusion.schema.json is stale: python -m aima.fusion.schema > docs/fusion.schema.json")


def test_the_schema_suits_constrained_decoding():
    schema = answer_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    text = json.dumps(schema)
    assert "$ref" not in text and "anyOf" not in text
    objects = list(_objects(schema))
    assert len(objects) == 7  # the answer and its six kinds of claim
    for node in objects:
        assert node["additionalProperties"] is False
        assert set(node["required"]) == set(node["properties"])
    for node in _objects({"type": "object", "properties": {"x": schema}}):
        for prop in node["properties"].values():
            if prop.get("type") == "string" and "enum" not in prop:
                assert prop["maxLength"] <= 1200
            if prop.get("type") == "array":
                assert prop["maxItems"] <= 20
                assert prop["items"].get("maxLength", 0) <= 200 or prop["items"]["type"] == "object"


def test_no_field_asks_for_identity_age_gender_or_ethnicity():
    words = json.dumps(answer_schema()).lower()
    for word in ("name", "age", "gender", "sex", "ethnic", "race", "identity"):
        assert f'"{word}' not in words


def test_an_answer_that_fits_the_schema_validates_as_the_model():
    reply = json.loads(answer(
        summary="Two persons at a door.",
        timeline=[{"time": 1.0, "media_id": "m1", "description": "speaker-1 speaks",
                   "evidence": ["seg:m1:0"], "confidence": "high"}],
        indicators=[{"kind": "distress", "description": "crying", "evidence": ["vlm:m1:1"],
                     "confidence": "low"}]))
    jsonschema.validate(reply, answer_schema())
    assert NarrativeAnswer.model_validate(reply).timeline[0].evidence == ["seg:m1:0"]


def test_over_long_strings_and_lists_are_cut_not_refused():
    claim = TimelineClaim.model_validate({
        "time": 2, "media_id": "m1", "description": "x" * 1000,
        "evidence": [f"seg:m1:{n}" for n in range(30)], "confidence": "low", "invented": 1})
    assert len(claim.description) == 200
    assert claim.evidence == [f"seg:m1:{n}" for n in range(6)]
    full = TimelineClaim.model_validate({  # ids are never cut: a cut id is another id
        "time": 2, "media_id": "6b830250-9e01-5e6e-8062-6770029c2d09", "description": "d",
        "evidence": ["seg:6b830250-9e01-5e6e-8062-6770029c2d09:12"], "confidence": "low"})
    assert full.evidence == ["seg:6b830250-9e01-5e6e-8062-6770029c2d09:12"]
    assert full.media_id == "6b830250-9e01-5e6e-8062-6770029c2d09"
    assert not hasattr(claim, "invented")


def test_an_unknown_confidence_is_refused():
    with pytest.raises(ValueError):
        TimelineClaim.model_validate({"time": 2, "media_id": "m1", "description": "d",
                                      "evidence": [], "confidence": "certain"})


def test_an_empty_narrative_has_every_key_of_the_report_section():
    section = empty_narrative("not_written", "no language model configured")
    assert set(section) == set(Narrative.model_fields)
    assert section["status"] == "not_written" and section["timeline"] == []
    assert section["grounding"]["claims"] == 0
