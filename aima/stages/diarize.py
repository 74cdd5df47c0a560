"""Diarize: who speaks when within one file.

Output: a ``diarize`` document (the transcript with local speaker labels ``SPEAKER_00``... and
their turns) and one voice embedding per local speaker in the vector store, for
``link-speakers`` to find the same voice in other files of the case.

A transcript that the recognizer diarized itself (WhisperX with pyannote on the gpu profile)
keeps its turns; only the voice centroids are computed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aima import evidence
from aima.speech.diarization import Diarization, speaker_centroids
from aima.speech.transcript import Transcript
from aima.stages.base import (
    ComputeRequest, Computed, MediaStage, Plan, Skip, StageContext, Summary,
)
from aima.stages.transcribe import audio_key
from aima.storage.models import MediaItem
from aima.storage.vectors import Embedding

VOICE = "voice"  # the vector store's kind for voice embeddings


class Diarize(MediaStage):
    name = "diarize"
    media_types = frozenset({"audio", "video"})
    needs = ("transcribe",)
    device = "gpu"
    model = "diarizer"
    description = "who speaks when within the file; one voice embedding per speaker"

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        transcript = ctx.document("transcribe", item)
        key = audio_key(ctx, item)
        if transcript is None or key is None:
            return Skip("no transcript")
        # The diarization labels this transcript: the transcript's content is part of its key.
        digest = hashlib.sha256(json.dumps(transcript, sort_keys=True).encode()).hexdigest()
        return Plan(model_id=model.model_id,
                    params={"transcript": digest[:32], "voice_model": model.encoder.model_id},
                    inputs={"audio": key}, data={"transcript": transcript})

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        document = request.data["transcript"]
        transcript = Transcript.model_validate(
            {k: v for k, v in document.items() if k != "model_id"})
        wav = request.inputs["audio"]
        if transcript.turns:  # diarized by the recognizer itself
            diarization = Diarization(
                transcript, speaker_centroids(model.encoder, wav, transcript.turns),
                document["model_id"])
        else:
            diarization = model.diarize(wav, transcript)
        return Computed(result={
            "model_id": diarization.model_id,
            "voice_model": model.encoder.model_id,
            "speakers": sorted(diarization.centroids),
            **diarization.transcript.model_dump(mode="json"),
            "centroids": {label: centroid.tolist()
                          for label, centroid in sorted(diarization.centroids.items())},
        })

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        case_id, media_id = str(item.case_id), str(item.id)
        document = dict(computed.result)
        centroids = document.pop("centroids")
        ctx.stores.documents.put(case_id, self.name, media_id, document, media_id=media_id)
        ctx.stores.vectors.upsert(VOICE, document["voice_model"], [
            Embedding(id=f"{media_id}:{label}", case_id=case_id, media_id=media_id,
                      ref=evidence.voice_id(media_id, label), vector=vector)
            for label, vector in centroids.items()
        ])
        return _summary(document)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return _summary(ctx.document(self.name, item) or {})


def _summary(document: dict[str, Any]) -> Summary:
    count = len(document.get("speakers", []))
    return Summary(detail=f"{count} speakers", data={"speakers": count})


STAGE = Diarize()
