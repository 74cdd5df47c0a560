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

Run inline, :meth:`Fuse.run` does it all. With a GPU pool (``AIMA_GPU_POOL``) the stage runs in
three halves like a media stage (:func:`aima.pipeline.runner.prepare_case_stage`):
:meth:`Fuse.prepare` builds the report from the stores in the parent flow run (or finds the stored
narrative still valid: nothing to compute), :meth:`Fuse.compute` writes the narrative on the GPU
machine from that report and the stored document alone (no store), and :meth:`Fuse.record`
stores the document in the parent.
"""

from __future__ import annotations

import uuid
from typing import Any

from aima.fusion import DOCUMENT, fuse_report
from aima.fusion.fuse import REPAIRS, default_reply_tokens, input_key
from aima.fusion.grounding import TIME_TOLERANCE_S
from aima.stages.base import CaseStage, ComputeRequest, Computed, StageContext, Summary
from aima.storage.models import Case


class Fuse(CaseStage):
    name = "fuse"
    needs = ("link-speakers", "link-persons")
    device = "gpu"  # a useful narrative needs a large model; the packaged one runs on a CPU
    model = "llm"
    description = ("the language model's case narrative: timeline, dossiers, indicators, each "
                   "claim checked against the evidence ids it cites")

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        report, previous = self._facts(ctx, case_id, model)
        return self._store(ctx, case_id, fuse_report(report, model, previous=previous, **OPTIONS))

    def prepare(self, ctx: StageContext, case_id: str, model: Any) -> dict[str, Any] | Summary:
        """The compute half's input (the case report and the stored document), or the stored
        narrative's summary when it was written from the same input (nothing to compute).

        Only the model's id and parameters are read: it is not loaded here."""
        report, previous = self._facts(ctx, case_id, model)
        if (stored := reusable(report, model, previous)) is not None:
            return summarise(stored)
        return {"report": report, "previous": previous}

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        """The narrative from ``request.data`` (what :meth:`prepare` gave) alone: no store."""
        data = request.data
        return Computed(result=fuse_report(data["report"], model, previous=data.get("previous"),
                                           **OPTIONS))

    def record(self, ctx: StageContext, case_id: str, computed: Computed) -> Summary:
        return self._store(ctx, case_id, computed.result)

    def _facts(self, ctx: StageContext, case_id: str,
               model: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The case report (empty for a model that is not available: NoLLM reads nothing) and
        the stored fuse document."""
        from aima.report import build_report  # aima.report imports the stage registry

        stores = ctx.stores
        with stores.metadata.session() as session:
            case = session.get(Case, uuid.UUID(str(case_id)))
        if case is None:
            raise KeyError(f"no case {case_id}")
        previous = stores.documents.get(str(case_id), *DOCUMENT)
        report = build_report(stores, case) if model.available else {}
        return report, previous

    def _store(self, ctx: StageContext, case_id: str, document: dict[str, Any]) -> Summary:
        if not document["reused"]:
            ctx.stores.documents.put(str(case_id), *DOCUMENT, document)
        return summarise(document)


#: How the stage fuses, the same in :meth:`Fuse.run`, :meth:`Fuse.compute` and :func:`reusable`.
OPTIONS: dict[str, Any] = {"strategy": "auto", "tolerance_s": TIME_TOLERANCE_S,
                           "repairs": REPAIRS}


def reusable(report: dict[str, Any], llm: Any,
             previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """``previous`` marked reused when :func:`fuse_report` would return it as it is (a written
    narrative of the same input key), else None; known without loading the model."""
    if (not previous or previous.get("narrative", {}).get("status") != "written"
            or not getattr(llm, "available", True)):
        return None
    key = input_key(report, llm, reply_tokens=default_reply_tokens(llm), **OPTIONS)
    return {**previous, "reused": True} if previous.get("input_key") == key else None


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
