"""The pipeline's stages, described once.

Adding a stage: one module here (a :class:`~aima.stages.base.MediaStage` or
:class:`~aima.stages.base.CaseStage` with its record and its compute/record halves), one line in
:data:`registry` below, its model adapter in ``aima/models/`` and its section in the report.
The flow, the generic Prefect task, the ledger and ``aima stages`` take it from here.
"""

from __future__ import annotations

from collections.abc import Iterable

from aima.stages.base import CaseStage, MediaStage, Stage


class Registry:
    """Every stage of the pipeline, in dependency order."""

    def __init__(self, stages: Iterable[Stage]):
        self._stages: dict[str, Stage] = {}
        for stage in stages:
            if stage.name in self._stages:
                raise ValueError(f"two stages named {stage.name!r}")
            missing = [need for need in stage.needs if need not in self._stages]
            if missing:  # listing a stage after what it needs keeps the order a valid one
                raise ValueError(f"stage {stage.name!r} needs {missing}, not registered before it")
            self._stages[stage.name] = stage

    def __iter__(self):
        return iter(self._stages.values())

    def names(self) -> list[str]:
        return list(self._stages)

    def get(self, name: str) -> Stage:
        try:
            return self._stages[name]
        except KeyError:
            raise KeyError(f"no stage named {name!r}; stages: {', '.join(self._stages)}") from None

    def media_stages(self, media_type: str) -> list[MediaStage]:
        """The runner-driven stages after ingest that apply to ``media_type``, in order."""
        return [s for s in self if isinstance(s, MediaStage) and media_type in s.media_types]

    def case_stages(self) -> list[CaseStage]:
        return [s for s in self if isinstance(s, CaseStage)]

    def stage_names_for(self, media_type: str) -> set[str]:
        """Every stage with a ledger record for an item of ``media_type`` (ingest included)."""
        return {"ingest"} | {s.name for s in self.media_stages(media_type)}


def _build() -> Registry:
    from aima.stages import (
        describe, detect_restraints, diarize, faces, fuse, ingest, link_persons, link_speakers,
        near_duplicates, ocr, preprocess, transcribe,
    )

    return Registry([
        ingest.STAGE,
        preprocess.STAGE,
        describe.STAGE,
        faces.STAGE,
        detect_restraints.STAGE,
        ocr.STAGE,
        transcribe.STAGE,
        diarize.STAGE,
        link_speakers.STAGE,
        link_persons.STAGE,
        near_duplicates.STAGE,
        fuse.STAGE,
    ])


registry = _build()
