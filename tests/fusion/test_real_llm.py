"""The packaged language model (SmolLM2-135M-Instruct GGUF, llama.cpp) through the fuse stage on a
case analysed by the real stages. A 135M model writes weak content: this pins down structure and
grounding (every id it keeps is evidence of the case, in the right file; the counts add up),
never its prose."""

from __future__ import annotations

from aima.fusion import DOCUMENT, narrative_section
from aima.fusion.schema import Narrative
from aima.models.factory import load_model
from aima.pipeline.runner import run_case_stage
from aima.settings import Settings
from aima.stages.fuse import STAGE as FUSE
from tests.fusion.test_stage import _report

CONTEXT, REPLY = 4096, 384  # the case's prompt is about 1,850 tokens; short replies keep it quick


def test_the_packaged_model_writes_a_narrative_whose_kept_claims_are_all_grounded(analysed_case):
    llm = load_model("llm", Settings(llm_context_tokens=CONTEXT, llm_max_new_tokens=REPLY))
    assert llm.available and llm.model_id.startswith("gguf:SmolLM2-135M-Instruct")
    outcome = run_case_stage(analysed_case.stores, FUSE, analysed_case.case_id,
                             models=lambda kind: {"llm": llm}[kind])
    document = analysed_case.stores.documents.get(analysed_case.case_id, *DOCUMENT)
    narrative = document["narrative"]
    Narrative.model_validate(narrative)  # the report's shape, whatever the model wrote
    assert outcome.data["narrative"] == narrative["status"] == "written", narrative["reason"]
    assert narrative["model_id"] == document["model_id"] == llm.model_id
    assert document["parameters"]["context_tokens"] == CONTEXT

    call = document["calls"][0]
    assert document["strategy"] == "single" and call["scope"] == "case"
    assert 1000 < call["prompt_tokens"] / call["attempts"] <= CONTEXT - REPLY
    assert 0 < call["reply_tokens"] <= REPLY * call["attempts"]
    assert document["timings"]["llm_s"] > 0

    g = narrative["grounding"]
    assert g["claims"] == g["grounded"] + g["ungrounded"] + g["dropped"] >= 1
    report = _report(analysed_case)
    where = {item["id"]: item["media_id"] for item in report["evidence"]}
    for event in narrative["timeline"] + narrative["restraints"]:
        assert event["grounded"] and event["evidence"]
        assert all(where[i] == event["media_id"] for i in event["evidence"])
    for claim in narrative["persons"] + narrative["indicators"] + narrative["contradictions"] \
            + narrative["requires_human_review"]:
        assert set(claim["evidence"]) <= set(where) and claim["grounded"] == bool(claim["evidence"])
    assert set(narrative["summary_evidence"]) <= set(where)
    assert narrative["summary_grounded"] == bool(narrative["summary_evidence"])
    kept = sum(len(narrative[k]) for k in ("timeline", "persons", "restraints", "indicators",
                                           "contradictions", "requires_human_review"))
    assert kept + bool(narrative["summary"]) == g["grounded"] + g["ungrounded"]
    assert narrative_section(analysed_case.stores, analysed_case.case_id)["status"] == "written"
