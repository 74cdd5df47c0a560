"""The fuse stage on a case analysed by the real stages: stored narrative, skip, failure, reuse."""

from __future__ import annotations

import re
import uuid

from aima.fusion import DOCUMENT, narrative_section
from aima.models.llm import NO_LLM_REASON, NoLLM
from aima.pipeline.runner import run_case_stage
from aima.report import build_report
from aima.stages.fuse import STAGE as FUSE
from aima.storage.models import Case
from tests.fusion.scripted import ScriptedLLM, faithful


def _run(analysed, llm):
    return run_case_stage(analysed.stores, FUSE, analysed.case_id, models=lambda kind: {
        "llm": llm}[kind])


def _report(analysed) -> dict:
    with analysed.stores.metadata.session() as session:
        case = session.get(Case, uuid.UUID(analysed.case_id))
    return build_report(analysed.stores, case)


def test_the_stage_is_a_case_stage_after_linking_with_the_llm():
    assert (FUSE.name, FUSE.scope, FUSE.model) == ("fuse", "case", "llm")
    assert FUSE.needs == ("link-speakers", "link-persons")


def test_without_a_language_model_the_narrative_is_not_written_and_says_why(analysed_case):
    outcome = _run(analysed_case, NoLLM())
    assert outcome.status == "done" and outcome.output_ref == "documents:fuse/case"
    assert outcome.detail == f"narrative not written: {NO_LLM_REASON}"
    assert outcome.data["narrative"] == "not_written"
    section = narrative_section(analysed_case.stores, analysed_case.case_id)
    assert section["status"] == "not_written" and section["reason"] == NO_LLM_REASON
    assert section["model_id"] is None and section["timeline"] == []


def test_a_written_narrative_is_stored_grounded_in_the_case_and_reused(analysed_case):
    llm = ScriptedLLM(faithful)
    outcome = _run(analysed_case, llm)
    assert len(llm.calls) == 1 and outcome.data["narrative"] == "written"
    prompt = llm.calls[0]["messages"][1]["content"]
    assert 'said "' in prompt and "faces seen: person-1" in prompt
    assert re.search(r'"NO ENTRY AFTER 10 PM" \[ocr:m\d+:image:0\]', prompt)

    document = analysed_case.stores.documents.get(analysed_case.case_id, *DOCUMENT)
    narrative = document["narrative"]
    assert narrative["status"] == "written" and document["model_id"] == "scripted"
    report = _report(analysed_case)
    known = {item["id"] for item in report["evidence"]}
    media = {row["id"] for row in report["media"]}
    assert narrative["timeline"] and all(set(e["evidence"]) <= known and e["media_id"] in media
                                         for e in narrative["timeline"])
    assert {p["person"] for p in narrative["persons"]} <= {"person-1", "person-2", "speaker-1",
                                                           "speaker-2"}
    g = narrative["grounding"]
    assert outcome.data["grounded"] == g["grounded"] > 5 and g["dropped"] == 0
    assert outcome.detail.startswith(f"narrative written: {g['grounded']} of {g['claims']}")

    again = ScriptedLLM(faithful)
    reused = _run(analysed_case, again)
    assert again.calls == [] and reused.detail.endswith("(reused)")
    assert analysed_case.stores.documents.get(analysed_case.case_id, *DOCUMENT) == document


def test_a_malformed_answer_fails_the_narrative_and_leaves_the_report_whole(analysed_case):
    before = _report(analysed_case)
    broken = ScriptedLLM('{"summary": "Two persons talk at the', model_id="broken")
    outcome = _run(analysed_case, broken)
    assert len(broken.calls) == 2
    assert outcome.status == "done" and outcome.data["narrative"] == "failed"
    assert outcome.warnings and "not valid JSON" in outcome.warnings[0]
    section = narrative_section(analysed_case.stores, analysed_case.case_id)
    assert section["status"] == "failed" and "not valid JSON" in section["reason"]
    after = _report(analysed_case)
    for key in ("media", "persons", "transcripts", "faces", "restraint_observations", "text",
                "evidence", "requires_human_review", "review_reasons"):
        assert after[key] == before[key]
