"""The speech stages: transcribe, diarize (per media item) and link speakers (per case).

- ``transcribe``: Whisper on the item's 16 kHz audio track (made by preprocess) -> a ``transcribe``
  document (language, segments, words with times and probabilities).
- ``diarize``: who speaks when within the file -> a ``diarize`` document (the transcript with local
  speaker labels and turns) and one voice embedding per local speaker in the vector store.
- ``link``: the voice embeddings of all files of the case clustered into case speakers
  (``speaker-1``...; stable across reruns) -> a ``speakers`` document and one case person per
  speaker with its voice appearances.

Items without an audio track are skipped. Silence or noise only gives an empty transcript, which
is a result, not an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select

from aima.models.speech import SpeechModels
from aima.scratch import scratch_dir
from aima.settings import Settings
from aima.speech.diarization import Diarization, speaker_centroids
from aima.speech.speakers import FileSpeaker, carry_over_ids, link_case_speakers
from aima.speech.transcript import SpeakerTurn, Transcript
from aima.stage_runs import StageLedger, params_hash, stage_key
from aima.storage import Stores
from aima.storage.models import CasePerson, MediaItem, PersonAppearance
from aima.storage.vectors import Embedding

VOICE = "voice"


class SpeechOutcome(BaseModel):
    media_id: str
    stage: str
    status: str  # done | skipped
    reused: bool = False
    detail: str | None = None


def _item(stores: Stores, media_id: str) -> MediaItem:
    with stores.metadata.session() as session:
        return session.get(MediaItem, uuid.UUID(media_id))


def _audio_key(stores: Stores, item: MediaItem) -> str | None:
    preprocess = stores.documents.get(str(item.case_id), "preprocess", str(item.id)) or {}
    return (preprocess.get("audio") or {}).get("key")


@contextmanager
def _local_audio(stores: Stores, settings: Settings, key: str) -> Iterator[Path]:
    """The item's 16 kHz audio track, fetched from the object store into scratch space."""
    with scratch_dir(settings, "speech") as directory:
        path = directory / "audio.wav"
        stores.objects.get_file(key, path)
        yield path


def transcribe_params(models: SpeechModels, settings: Settings) -> dict[str, Any]:
    return {**models.recognizer.parameters, "language": settings.asr_language}


def transcribe_media(stores: Stores, settings: Settings, models: SpeechModels, media_id: str,
                     *, reanalyse: bool = False) -> SpeechOutcome:
    item = _item(stores, media_id)
    key_name = _audio_key(stores, item) if item is not None else None
    if key_name is None:
        return SpeechOutcome(media_id=media_id, stage="transcribe", status="skipped",
                             detail="no audio track")
    key = stage_key(item.case_id, item.id, "transcribe", models.recognizer.model_id,
                    transcribe_params(models, settings))
    ledger = StageLedger(stores.metadata)
    if not reanalyse and ledger.done(key):
        return SpeechOutcome(media_id=media_id, stage="transcribe", status="done", reused=True)
    with ledger.run(key) as record, _local_audio(stores, settings, key_name) as wav:
        with models.lock:
            transcript = models.recognizer.transcribe(wav, language=settings.asr_language)
        document = {"model_id": models.recognizer.model_id, **transcript.model_dump(mode="json")}
        stores.documents.put(str(item.case_id), "transcribe", media_id, document, media_id=media_id)
        record["output_ref"] = f"documents:transcribe/{media_id}"
    detail = "no speech found" if transcript.is_empty else f"language {transcript.language}"
    return SpeechOutcome(media_id=media_id, stage="transcribe", status="done", detail=detail)


def diarize_media(stores: Stores, settings: Settings, models: SpeechModels, media_id: str,
                  *, reanalyse: bool = False) -> SpeechOutcome:
    item = _item(stores, media_id)
    case_id = str(item.case_id) if item is not None else ""
    document = stores.documents.get(case_id, "transcribe", media_id) if item else None
    audio_key = _audio_key(stores, item) if item is not None else None
    if document is None or audio_key is None:
        return SpeechOutcome(media_id=media_id, stage="diarize", status="skipped",
                             detail="no transcript")
    # The diarization depends on the transcript it labels: its key includes the transcript's.
    params = {"transcript": params_hash("transcribe", transcribe_params(models, settings)),
              "transcript_model": document["model_id"]}
    key = stage_key(item.case_id, item.id, "diarize", models.diarizer.model_id, params)
    ledger = StageLedger(stores.metadata)
    if not reanalyse and ledger.done(key):
        return SpeechOutcome(media_id=media_id, stage="diarize", status="done", reused=True)
    transcript = Transcript.model_validate({k: v for k, v in document.items() if k != "model_id"})
    with ledger.run(key) as record, _local_audio(stores, settings, audio_key) as wav:
        with models.lock:
            if transcript.turns:  # diarized by the recognizer itself (WhisperX with pyannote)
                diarization = Diarization(
                    transcript, speaker_centroids(models.encoder, wav, transcript.turns),
                    document["model_id"])
            else:
                diarization = models.diarizer.diarize(wav, transcript)
        stores.documents.put(case_id, "diarize", media_id, {
            "model_id": diarization.model_id,
            "voice_model": models.encoder.model_id,
            "speakers": sorted(diarization.centroids),
            **diarization.transcript.model_dump(mode="json"),
        }, media_id=media_id)
        stores.vectors.upsert(VOICE, models.encoder.model_id, [
            Embedding(id=f"{media_id}:{label}", case_id=case_id, media_id=media_id,
                      ref=f"voice:{media_id}:{label}", vector=centroid.tolist())
            for label, centroid in sorted(diarization.centroids.items())
        ])
        record["output_ref"] = f"documents:diarize/{media_id}"
    return SpeechOutcome(media_id=media_id, stage="diarize", status="done",
                         detail=f"{len(diarization.centroids)} speakers")


def link_speakers(stores: Stores, models: SpeechModels, case_id: str) -> dict[str, Any]:
    """Cluster the case's voices into case speakers; store them and their case persons."""
    diarized = {d.media_id: d.data for d in stores.documents.query(case_id, stage="diarize")}
    embeddings = stores.vectors.fetch(VOICE, models.encoder.model_id, case_id,
                                      models.encoder.dimension)
    with stores.metadata.session() as session:
        hashes = {str(i.id): i.sha256 for i in session.scalars(
            select(MediaItem).where(MediaItem.case_id == uuid.UUID(case_id)))}
    file_speakers = []
    for embedding in embeddings:
        media_id, label = embedding.id.rsplit(":", 1)
        if media_id not in diarized or media_id not in hashes:
            continue  # a media item diarized by another voice model, or gone
        turns = [SpeakerTurn(**t) for t in diarized[media_id]["turns"] if t["speaker"] == label]
        file_speakers.append(FileSpeaker(media_id, hashes[media_id], label,
                                         embedding.vector, turns))
    earlier = stores.documents.get(case_id, "speakers", "case") or {}
    previous = {tuple(key.rsplit(":", 1)): sid
                for key, sid in earlier.get("assignments", {}).items()}
    linked = carry_over_ids(link_case_speakers(file_speakers), previous)
    document = {
        "voice_model": models.encoder.model_id,
        "speakers": [
            {"id": s.speaker_id,
             "members": [{"media_id": m, "label": label} for m, label in s.members],
             "turns": {m: [t.model_dump() for t in turns] for m, turns in s.turns.items()}}
            for s in linked.speakers
        ],
        "assignments": {f"{m}:{label}": sid for (m, label), sid in linked.assignments.items()},
    }
    stores.documents.put(case_id, "speakers", "case", document)
    _store_persons(stores, case_id, document["speakers"], diarized)
    return document


def segment_id(media_id: str, index: int) -> str:
    """The evidence id of a transcript segment."""
    return f"seg:{media_id}:{index}"


def _overlapping_segments(document: dict, start: float, end: float, media_id: str) -> list[str]:
    return [segment_id(media_id, n) for n, segment in enumerate(document.get("segments", []))
            if segment["start"] < end and segment["end"] > start]


def _store_persons(stores: Stores, case_id: str, speakers: list[dict],
                   diarized: dict[str, dict]) -> None:
    """One case person per case speaker, its voice turns as appearances (replaced each run).

    Person ids derive from the case id and the speaker id, so they are stable across reruns.
    """
    case_uuid = uuid.UUID(case_id)
    with stores.metadata.session() as session:
        voice_people = select(CasePerson.id).where(
            CasePerson.case_id == case_uuid, CasePerson.cluster_key.like("voice:%"))
        session.execute(delete(PersonAppearance).where(PersonAppearance.person_id.in_(voice_people)))
        session.execute(delete(CasePerson).where(CasePerson.id.in_(voice_people)))
        for speaker in speakers:
            number = speaker["id"].rsplit("-", 1)[-1]
            person = CasePerson(id=uuid.uuid5(case_uuid, speaker["id"]), case_id=case_uuid,
                                label=f"Speaker {number}", cluster_key=f"voice:{speaker['id']}")
            session.add(person)
            for media_id, turns in speaker["turns"].items():
                for turn in turns:
                    session.add(PersonAppearance(
                        person_id=person.id, media_id=uuid.UUID(media_id), modality=VOICE,
                        start_s=turn["start"], end_s=turn["end"],
                        evidence=_overlapping_segments(diarized[media_id], turn["start"],
                                                       turn["end"], media_id)))
