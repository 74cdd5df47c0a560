"""Fusion: the case's evidence, put into words by a language model and checked against the evidence.

==================  ========================================================================
module              what it does
==================  ========================================================================
``facts``           what code computes from the report: fact lines ending with evidence ids
``prompt``          the system prompt (boundaries), per-file, merging and single prompts
``schema``          the model's answer (pydantic, JSON schema) and the report's narrative
``grounding``       reading an answer, and checking every cited id against the case
``fuse``            the calls (one, or per file and then per case) and the stored document
==================  ========================================================================

The ``fuse`` stage (:mod:`aima.stages.fuse`) stores :func:`~aima.fusion.fuse.fuse_report`'s
document under (case, ``fuse``, ``case``); :func:`narrative_section` reads it back for the
report. Nothing here imports :mod:`aima.report` (which imports the stage registry): the stage
builds the report and hands it in.
"""

from __future__ import annotations

from typing import Any

from aima.fusion.fuse import NOT_RUN_REASON, fuse_report
from aima.fusion.schema import empty_narrative

STAGE = "fuse"
DOCUMENT = (STAGE, "case")  # (stage, key) of the case's fuse document


def narrative_section(stores: Any, case_id: str) -> dict[str, Any]:
    """The report's ``narrative``: the stored one, or ``not_written`` when the stage never ran.

    Besides the narrative's own keys it says when it was generated and with which prompt.
    """
    document = stores.documents.get(str(case_id), *DOCUMENT)
    if not document or "narrative" not in document:
        return empty_narrative("not_written", NOT_RUN_REASON)
    return {**document["narrative"], "prompt_version": document.get("prompt_version"),
            "generated_at": document.get("generated_at")}


__all__ = ["DOCUMENT", "STAGE", "fuse_report", "narrative_section"]
