"""The question set and its answers: schema, prompt, parsing, the one repair, review findings.

These run on real JSON strings as models write them (clean, wrapped in prose or code fences, cut
off, off-schema), without a model; the model paths are in test_describe_models.py.
"""

from __future__ import annotations

import json

from aima.models.vlm import settle
from aima.vision.findings import restraint_indicators, review_reasons
from aima.vision.parse import parse_answer
from aima.vision.prompt import question, repair_question
from aima.vision.schema import analysis_schema

KITCHEN = {
    "scene": {"place": "kitchen", "setting": "indoor", "lighting": "dim artificial light"},
    "person_count": 2,
    "persons": [
        {"position": "left foreground", "clothing": [{"item": "hoodie", "colours": ["grey"]}],
         "uniforms_or_logos": [], "posture": "sitting on the floor",
         "restraints": [{"type": "cable ties", "where": "wrists behind"}],
         "gagged": True, "blindfolded": False, "visible_distress": ["crying"]},
        {"position": "right background", "clothing": [{"item": "jacket",
                                                       "colours": ["black", "yellow"]}],
         "uniforms_or_logos": ["POLICE on the back"], "posture": "standing",
         "restraints": [], "gagged": False, "blindfolded": False, "visible_distress": []},
    ],
    "interactions": ["person 2 stands over person 1"],
    "visible_text": ["EXIT"],
}
EMPTY_STREET = {"scene": {"place": "street", "setting": "outdoor", "lighting": "daylight"},
                "person_count": 0, "persons": [], "interactions": [], "visible_text": []}


def properties(schema) -> set[str]:
    names = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= properties(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= properties(value)
    return names


def test_the_schema_asks_the_fixed_questions_and_nothing_about_who_someone_is():
    schema = analysis_schema()
    names = properties(schema)
    assert {"scene", "place", "setting", "lighting", "person_count", "persons", "position",
            "clothing", "colours", "uniforms_or_logos", "posture", "restraints", "type", "where",
            "gagged", "blindfolded", "visible_distress", "interactions", "visible_text"} <= names
    assert not {n for n in names if any(w in n for w in ("age", "gender", "sex", "ethnic",
                                                         "race", "name", "identity"))}
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text  # inlined for every server
    restraint = schema["properties"]["persons"]["items"]["properties"]["restraints"]["items"]
    assert restraint["properties"]["type"]["enum"] == [
        "handcuffs", "cable ties", "rope", "tape", "chain", "other"]
    assert restraint["properties"]["where"]["enum"] == [
        "wrists in front", "wrists behind", "ankles", "other"]


def test_the_prompt_carries_the_case_context_and_forbids_estimating_who_someone_is():
    assert "Case context" not in question(None) and "Case context" not in question("  ")
    prompt = question("Hostage case, warehouse in Leeds.")
    assert prompt.endswith("Hostage case, warehouse in Leeds.")
    assert "do not estimate age, gender or ethnicity" in prompt
    repair = repair_question('{"scene": ', "not valid JSON", "ctx")
    assert "not valid JSON" in repair and '{\\"scene\\": ' in repair and "ctx" in repair


def test_answers_parse_clean_in_prose_or_in_code_fences():
    clean = json.dumps(KITCHEN)
    for text in (clean, f"Here is the analysis:\n```json\n{clean}\n```\nAnything else?",
                 "Note {this} first. " + clean):
        parsed = parse_answer(text)
        assert parsed.ok, parsed.error
        assert parsed.analysis.persons[0].restraints[0].where == "wrists behind"


def test_fields_a_model_adds_on_its_own_are_dropped():
    answer = {**EMPTY_STREET, "age_estimate": 35, "persons": []}
    answer["scene"] = {**answer["scene"], "gender": "male"}
    analysis = parse_answer(json.dumps(answer)).analysis
    assert "age_estimate" not in analysis.model_dump_json()
    assert "gender" not in analysis.model_dump_json()


def test_answers_that_do_not_parse_say_why():
    cut = json.dumps(KITCHEN)[:200]
    assert parse_answer(cut).error.startswith("not valid JSON")
    assert parse_answer("I cannot help with that.").error == "no JSON object in the answer"
    wrong = {**EMPTY_STREET, "scene": {**EMPTY_STREET["scene"], "setting": "underwater"}}
    assert "scene.setting" in parse_answer(json.dumps(wrong)).error
    bound = {**EMPTY_STREET, "visible_text": ["x" * 81]}
    assert "visible_text.0" in parse_answer(json.dumps(bound)).error


def test_one_repair_for_the_answers_that_failed_and_unparsed_after_it():
    asked = []

    def second_answers(indices, prompts):  # what the model answered to the repair prompt
        asked.append((indices, prompts))
        return [json.dumps(EMPTY_STREET), "Sorry, still no JSON."]

    first = [json.dumps(KITCHEN), json.dumps(KITCHEN)[:120], "no idea"]
    parsed, repaired, unparsed = settle(first, second_answers, context="ctx")

    (indices, prompts), = asked  # one repair round, for the two failures only
    assert indices == [1, 2] and all("could not be used" in p and "ctx" in p for p in prompts)
    assert (parsed.status, parsed.attempts, parsed.error) == ("parsed", 1, None)
    assert parsed.analysis.person_count == 2
    assert (repaired.status, repaired.attempts) == ("repaired", 2)
    assert repaired.analysis.scene.place == "street" and "not valid JSON" in repaired.error
    assert (unparsed.status, unparsed.analysis, unparsed.raw) == (
        "unparsed", None, "Sorry, still no JSON.")
    assert unparsed.error == ("first answer: no JSON object in the answer; "
                              "repair: no JSON object in the answer")


def test_restraints_gags_blindfolds_and_distress_are_for_a_human_reviewer():
    indicators = restraint_indicators(KITCHEN)
    assert indicators == [{"person": 1, "position": "left foreground",
                           "restraints": [{"type": "cable ties", "where": "wrists behind"}],
                           "gagged": True, "blindfolded": False, "signals": ["vlm"]}]
    reasons = review_reasons(KITCHEN, 3, 12.04)
    assert reasons == [
        "the vision-language model reports cable ties (wrists behind), a gag on person 1 in "
        "keyframe 3 at 12.0 s: a restraint indicator for a human reviewer to check, not a finding",
        "the vision-language model reports visible distress (crying) on person 1 in keyframe 3 "
        "at 12.0 s: for a human reviewer to check",
    ]
    assert review_reasons(EMPTY_STREET, "image", None) == []
    assert restraint_indicators(None) == []
