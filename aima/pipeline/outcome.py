"""One outcome type for every stage, file and case alike: what the flow, the CLI and the
Prefect artifacts read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

#: done: computed now or reused (``reused``); skipped: the stage does not apply (``detail`` says
#: why); failed: bad media found by the stage (``error_code``, ``error``); rejected and duplicate
#: come from ingest only.
Status = Literal["done", "skipped", "failed", "rejected", "duplicate"]


class StageOutcome(BaseModel):
    stage: str
    status: Status
    media_id: str | None = None  # None for a case stage, and for a file that never became an item
    media_type: str | None = None  # set by ingest: which stages the file goes through next
    name: str | None = None  # the file's name as the user knows it (ingest)
    reused: bool = False  # a stored result of the same content key was used
    error_code: str | None = None
    error: str | None = None
    detail: str | None = None  # one line for people: "4 keyframes", "language en", "no audio track"
    warnings: list[str] = Field(default_factory=list)
    output_ref: str | None = None  # where the output is: "documents:<stage>/<media id>", an object key
    data: dict[str, Any] = Field(default_factory=dict)  # small figures: {"keyframes": 4}

    @property
    def ends_file(self) -> bool:
        """True when the file has nothing more to do after this outcome."""
        return self.status in ("failed", "rejected", "duplicate")


class FileOutcome(BaseModel):
    """What a file's first task did: its ingest and, when it ran them, its stages
    (:func:`aima.tasks.stages.analyse_file`)."""

    ingest: StageOutcome
    stages: list[StageOutcome] | None = None  # None: left to the flow, one task run each
