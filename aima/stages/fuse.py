"""Fuse (case stage): a language model writes the case narrative, each claim grounded in evidence.

Builds the case report from the stores (:func:`aima.report.build_report`: transcripts with case
speakers, faces and case persons, vision analyses, restraint observations, OCR), turns it into
fact lines and asks the ``llm`` model for the fused narrative: a summary, one timeline, a dossier
per person, restraints, indicators of distress or coercion, contradictions between sources and
requests for human review (:mod:`aima.fusion`). Every evidence id the model cites is checked
against the case; claims without valid evidence are dropped or marked ``grounded: false``.

Output: the ``fuse`` case document (narrative, model id and parameters, prompt version, calls,
token counts, timings), read into the report by :func:`aima.fusion.narrative_section`. A rerun
on the same facts with the same model reuses the stored narrative. With no language model
configured (``AIMA_LLM_ENABLED=false``) the narrative is ``not_written``, with that reason.
The narrative is evidence for a human reviewer: it identifies no one and decides nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from aima.fusion import DOCUMENT, fuse_report
from aima.stages.base import CaseStage, StageContext, Summary
from aima.storage.models import Case


class Fuse(CaseStage):
    name = "fuse"
    needs = ("link-speakers", "link-persons")
    device = "gpu"  # a useful narrative needs a large model; the packaged one runs on a CPU
    model = "llm"
    description = ("the language model's case narrative: timeline, dossiers, indicators, each "
                   "claim checked against the evidence ids it cites")

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        from aima.report import build_report  # aima.report imports the stage registry

        stores = ctx.stores
        with stores.metadata.session() as session:
            case = session.get(Case, uuid.UUID(str(case_id)))
        if case is None:
            raise KeyError(f"no case {case_id}")
        previous = stores.documents.get(str(case_id), *DOCUMENT)
        report = build_report(stores, case) if model.available else {}  # NoLLM reads nothing
        document = fuse_report(report, model, previous=previous)
        if not document["reused"]:
            stores.documents.put(str(case_id), *DOCUMENT, document)
        return summarise(document)


def summarise(document: dict[str, Any]) -> Summary:
    """The stage's line and figures for a fuse document."""
    narrative = document["narrative"]
    status, counts = narrative["status"], narrative["grounding"]
    data = {"narrative": status, "calls": document["tokens"]["calls"],
            **{k: counts[k] for k in ("claims", "grounded", "ungrounded", "dropped")}}
    if status == "not_written":
        return Summary(detail=f"narrative not written: {narrative['reason']}", data=data)
    if status == "failed":
        return Summary(detail=f"narrative failed: {narrative['reason']}", data=data,
                       warnings=[f"the narrative failed: {narrative['reason']}"])
    detail = (f"narrative written: {counts['grounded']} of {counts['claims']} claims grounded, "
              f"{counts['dropped']} dropped, {document['tokens']['calls']} calls"
              + (" (reused)" if document.get("reused") else ""))
    return Summary(detail=detail, data=data)


STAGE = Fuse()
