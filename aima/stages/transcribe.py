"""Transcribe: Whisper on the item's 16 kHz audio track (made by preprocess).

Output: a ``transcribe`` document (model id, language, segments, words with times and
probabilities). Items without an audio track are skipped. Silence or noise gives an empty
transcript, which is a result, not an error.
"""

from __future__ import annotations

from typing import Any

from aima.stages.base import (
    ComputeRequest, Computed, DocumentStage, Plan, Skip, StageContext, Summary,
)
from aima.storage.models import MediaItem


def audio_key(ctx: StageContext, item: MediaItem) -> str | None:
    """The object key of the item's 16 kHz audio track, if preprocess made one."""
    return ((ctx.document("preprocess", item) or {}).get("audio") or {}).get("key")


class Transcribe(DocumentStage):
    name = "transcribe"
    media_types = frozenset({"audio", "video"})
    needs = ("preprocess",)
    device = "gpu"
    model = "asr"
    description = "speech to text with word timestamps and the spoken language (Whisper)"

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        key = audio_key(ctx, item)
        if key is None:
            return Skip("no audio track")
        return Plan(model_id=model.model_id,
                    params={**model.parameters, "language": ctx.settings.asr_language},
                    inputs={"audio": key})

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        transcript = model.transcribe(request.inputs["audio"], language=request.params["language"])
        return Computed(result={"model_id": model.model_id, **transcript.model_dump(mode="json")})

    def summarise(self, document: dict[str, Any]) -> Summary:
        return _summary(document)


def _summary(document: dict[str, Any]) -> Summary:
    segments = len(document.get("segments", []))
    detail = f"language {document.get('language')}" if segments else "no speech found"
    return Summary(detail=detail, data={"segments": segments})


STAGE = Transcribe()
