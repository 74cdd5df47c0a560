"""Fusion calls: one call when the case fits, per file and then per case when it does not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from aima.fusion import fuse_report, narrative_section
from aima.fusion.prompt import PROMPT_VERSION
from aima.fusion.schema import SCHEMA_VERSION, answer_schema
from aima.models.llm import NO_LLM_REASON, NoLLM
from tests.fusion.reportgen import CONTEXT, long_report, small_report
from tests.fusion.scripted import ScriptedLLM, faithful


def _all_ids_exist(document: dict, report: dict) -> int:
    known = {item["id"] for item in report["evidence"]}
    narrative = document["narrative"]
    cited = [i for key in ("timeline", "persons", "restraints", "indicators", "contradictions",
                           "requires_human_review") for claim in narrative[key]
             for i in claim["evidence"]]
    assert set(cited) <= known
    return len(cited)


def test_a_small_case_is_fused_in_one_call_with_boundaries_and_context_in_the_prompt():
    report = small_report()
    llm = ScriptedLLM(faithful)
    document = fuse_report(report, llm)
    assert document["strategy"] == "single" and len(llm.calls) == 1
    call = llm.calls[0]
    assert call["schema"] == answer_schema()
    system, user = call["messages"][0]["content"], call["messages"][1]["content"]
    for rule in ("Never identify anyone", "never estimate age, gender or ethnicity",
                 "never a verdict", "Never make up an id"):
        assert rule in system
    assert CONTEXT in user and "background, not evidence" in user
    assert '4.0-6.0 s speaker-2 said "Please let me go." [seg:m1:1]' in user

    narrative = document["narrative"]
    assert narrative["status"] == "written" and narrative["model_id"] == "scripted"
    assert _all_ids_exist(document, report) > 10
    assert len(narrative["timeline"]) == 8 and all(e["grounded"] for e in narrative["timeline"])
    assert {p["person"] for p in narrative["persons"]} == {
        "person-1", "person-2", "speaker-1", "speaker-2"}
    assert narrative["requires_human_review"][0]["evidence"][0].startswith("det:")
    g = narrative["grounding"]
    assert g["claims"] == g["grounded"] > 10 and g["dropped"] == 0

    assert document["model_id"] == "scripted"
    assert document["parameters"] == llm.parameters
    assert (document["prompt_version"], document["schema_version"]) == (PROMPT_VERSION,
                                                                         SCHEMA_VERSION)
    assert document["tokens"]["calls"] == 1
    assert document["tokens"]["prompt"] == call["prompt_tokens"] > 500
    assert document["tokens"]["reply"] > 100
    assert document["timings"]["total_s"] >= document["timings"]["llm_s"] >= 0
    assert document["calls"][0]["grounding"]["grounded"] == g["grounded"]


def test_a_large_case_is_split_per_file_and_chunk_within_the_budget_and_merged_at_the_end():
    report = long_report(segments=240, files=2)
    llm = ScriptedLLM(faithful, context_tokens=3072, max_new_tokens=512)
    document = fuse_report(report, llm)
    assert document["strategy"] == "hierarchical"
    scopes = [c["scope"] for c in document["calls"]]
    parts = [s for s in scopes if s.startswith("file m1 part")]
    assert len(parts) > 2 and any(s.startswith("file m2 part") for s in scopes)
    assert scopes[-1] == "case"
    for call in llm.calls:  # every prompt leaves room for its reply in the window
        assert call["prompt_tokens"] + min(call["max_tokens"], 512) <= 3072
    assert document["tokens"]["largest_prompt"] <= 3072 - 512

    # every chunk of m1 has its own facts: together, every segment of m1 exactly once
    m1_chunks = [c["messages"][1]["content"] for c in llm.calls
                 if "Facts of file m1 (part" in c["messages"][1]["content"]]
    cited = [n for text in m1_chunks for n in re.findall(r"\[seg:m1:(\d+)\]", text)]
    assert sorted(map(int, cited)) == list(range(240))

    final = llm.calls[-1]["messages"][1]["content"]
    assert "Narratives written for parts of the case" in final
    assert "Write the narrative of the whole case" in final
    assert re.search(r"Narrative of (file m1 part 1/\d+|group 1/\d+)", final)
    assert re.search(r"event m\d at [\d.]+ s: .+ \[seg:m\d:\d+\]", final)

    narrative = document["narrative"]
    assert narrative["status"] == "written"
    assert narrative["timeline"] and all(e["grounded"] for e in narrative["timeline"])
    assert _all_ids_exist(document, report) > 0


def test_many_small_files_are_packed_into_few_calls_each_fact_once():
    """Calls grow with the facts' tokens, not with the number of files (one call per file made
    a 160-file case 88 calls)."""
    report = long_report(segments=6, files=24)
    llm = ScriptedLLM(faithful, context_tokens=3072, max_new_tokens=512)
    document = fuse_report(report, llm)
    assert document["strategy"] == "hierarchical"
    file_calls = [c for c in llm.calls if "Facts of file" in c["messages"][1]["content"]]
    packs = [c for c in document["calls"] if c["scope"].startswith("files ")]
    assert packs and len(file_calls) <= 24 // 3
    assert re.fullmatch(r"files m1-m\d+ \(\d+\)", packs[0]["scope"])
    cited = sorted(re.findall(r"\[seg:(m\d+:\d+)\]", "".join(
        c["messages"][1]["content"] for c in file_calls)))
    assert cited == sorted(f"m{f}:{n}" for f in range(1, 25) for n in range(6))
    for call in llm.calls:
        assert call["prompt_tokens"] + call["max_tokens"] <= 3072
    assert document["narrative"]["status"] == "written"
    assert document["calls"][-1]["scope"] == "case"


def test_a_partial_reply_gets_half_the_case_level_reply_and_its_prompt_the_rest():
    report = long_report(segments=4, files=100)
    llm = ScriptedLLM(faithful, context_tokens=8192, max_new_tokens=2048)
    document = fuse_report(report, llm)
    assert document["strategy"] == "hierarchical"
    assert {c["max_tokens"] for c in llm.calls[:-1]} == {1024}
    assert llm.calls[-1]["max_tokens"] == 2048
    assert max(c["prompt_tokens"] for c in llm.calls[:-1]) > 8192 - 2048
    assert llm.calls[-1]["prompt_tokens"] <= 8192 - 2048


def test_partials_that_do_not_fit_one_prompt_are_merged_in_groups_first():
    report = long_report(segments=240, files=2)
    llm = ScriptedLLM(faithful, context_tokens=2048, max_new_tokens=512)
    document = fuse_report(report, llm)
    scopes = [c["scope"] for c in document["calls"]]
    groups = [s for s in scopes if s.startswith("group")]
    assert groups and scopes[-1] == "case"
    assert scopes.index(groups[0]) > max(i for i, s in enumerate(scopes) if s.startswith("file"))
    assert document["narrative"]["status"] == "written"
    assert all(c["prompt_tokens"] <= 2048 - 512 for c in document["calls"])


def test_a_context_window_too_small_fails_before_any_call():
    llm = ScriptedLLM(faithful, context_tokens=1000, max_new_tokens=256)
    document = fuse_report(long_report(segments=100, files=1), llm)
    assert document["narrative"]["status"] == "failed"
    assert "tokens for partial narratives" in document["narrative"]["reason"]
    assert llm.calls == []


def test_forcing_one_call_on_a_case_that_does_not_fit_fails_with_the_reason():
    llm = ScriptedLLM(faithful, context_tokens=2048, max_new_tokens=512)
    document = fuse_report(long_report(segments=100, files=1), llm, strategy="single")
    assert document["narrative"]["status"] == "failed"
    assert "AIMA_LLM_CONTEXT_TOKENS" in document["narrative"]["reason"]
    assert document["calls"][0]["status"] == "failed"


def test_a_malformed_file_answer_is_left_out_and_the_case_still_written():
    report = long_report(segments=60, files=2)
    replies = []

    def reply(messages, chars):
        replies.append(messages)
        if "Facts of file m1" in messages[1]["content"]:
            return '{"summary": "cut off'
        return faithful(messages, chars)

    llm = ScriptedLLM(reply, context_tokens=4096, max_new_tokens=512)
    document = fuse_report(report, llm, strategy="hierarchical")
    failed = [c for c in document["calls"] if c["status"] == "failed"]
    assert failed and all(c["scope"].startswith("file m1") for c in failed)
    assert all("not valid JSON" in c["error"] for c in failed)
    assert document["narrative"]["status"] == "written"
    assert "Narrative of file m1" not in llm.calls[-1]["messages"][1]["content"]
    assert "Narrative of file m2" in llm.calls[-1]["messages"][1]["content"]


def test_a_malformed_answer_is_asked_for_once_more_and_a_good_second_answer_is_used():
    llm = ScriptedLLM(['{"summary": "The persons', faithful])
    document = fuse_report(small_report(), llm)
    assert document["narrative"]["status"] == "written"
    assert len(llm.calls) == 2
    retry = llm.calls[1]["messages"][1]["content"]
    assert retry.startswith(llm.calls[0]["messages"][1]["content"])
    assert "A previous answer could not be used (not valid JSON" in retry
    [call] = document["calls"]
    assert (call["status"], call["attempts"]) == ("ok", 2) and "not valid JSON" in call["error"]
    assert call["prompt_tokens"] == llm.calls[0]["prompt_tokens"] + llm.calls[1]["prompt_tokens"]


def test_a_case_answer_malformed_twice_fails_the_narrative():
    llm = ScriptedLLM('{"summary": "x", "timeline": {}}')
    document = fuse_report(small_report(), llm)
    assert len(llm.calls) == 2
    assert document["narrative"]["status"] == "failed"
    assert document["narrative"]["reason"] == ("the case-level answer: does not match the "
                                               "schema: timeline: expected a list")
    assert document["calls"][0]["attempts"] == 2
    assert document["calls"][0]["raw"] == '{"summary": "x", "timeline": {}}'


def test_no_language_model_means_no_narrative_and_no_call():
    document = fuse_report(small_report(), NoLLM())
    narrative = document["narrative"]
    assert narrative["status"] == "not_written" and narrative["reason"] == NO_LLM_REASON
    assert document["calls"] == [] and document["model_id"] is None


def test_the_same_input_reuses_the_stored_narrative_and_a_new_model_does_not():
    report = small_report()
    first = fuse_report(report, ScriptedLLM(faithful))
    again = ScriptedLLM(faithful)
    reused = fuse_report(report, again, previous=first)
    assert reused["reused"] and again.calls == []
    assert reused["narrative"] == first["narrative"]
    other = ScriptedLLM(faithful, max_new_tokens=900)  # other parameters: another key
    assert not fuse_report(report, other, previous=first)["reused"] and other.calls
    report["transcripts"][0]["segments"][0]["text"] = "Close the door."
    changed = ScriptedLLM(faithful)
    assert not fuse_report(report, changed, previous=first)["reused"] and changed.calls


class _Documents:
    def __init__(self, stored=None):
        self.stored = stored

    def get(self, case_id, stage, key):
        assert (stage, key) == ("fuse", "case")
        return self.stored


class _Stores:
    def __init__(self, stored=None):
        self.documents = _Documents(stored)


@pytest.mark.parametrize("stored", [None, {"other": 1}])
def test_the_report_section_says_not_written_when_the_stage_never_ran(stored):
    section = narrative_section(_Stores(stored), "case")
    assert section["status"] == "not_written" and "has not run" in section["reason"]
    assert section["timeline"] == [] and section["grounding"]["claims"] == 0


def test_the_report_section_is_the_stored_narrative():
    document = fuse_report(small_report(), ScriptedLLM(faithful))
    section = narrative_section(_Stores(document), "case")
    assert {k: section[k] for k in document["narrative"]} == document["narrative"]
    assert section["prompt_version"] == PROMPT_VERSION
    assert section["generated_at"] == document["generated_at"]


def test_written_and_failed_narratives_fit_the_report_schema():
    report_schema = json.loads((Path(__file__).resolve().parents[2] / "docs"
                                / "report.schema.json").read_text())
    narrative = {"$ref": "#/$defs/narrative", "$defs": report_schema["$defs"]}
    written = fuse_report(small_report(), ScriptedLLM(faithful))
    jsonschema.validate(narrative_section(_Stores(written), "case"), narrative)
    failed = fuse_report(small_report(), ScriptedLLM("no JSON here"))
    jsonschema.validate(narrative_section(_Stores(failed), "case"), narrative)
    jsonschema.validate(narrative_section(_Stores(None), "case"), narrative)
