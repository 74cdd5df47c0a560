"""Preprocess: probe a media item, extract keyframes, audio and thumbnails into the stores.

Outputs, all under the case's prefix in the object store:

- ``keyframes/<media id>/<n>.jpg`` (longest side <= 1280) and ``thumbnails/<media id>/<n>.jpg``
  (longest side 320) for a video; ``thumbnails/<media id>/image.jpg`` for an image
- ``audio/<media id>.wav``: 16 kHz mono, for an audio file and a video with a readable audio track

and one ``preprocess`` document per media item with the probe, the keyframes (each with its
evidence id ``kf:<media id>:<n>`` and timestamp) and the audio track. A corrupt audio track in an
otherwise good video is a warning on the document, not a failure of the video.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aima.jobs import set_media_status
from aima.media.audio import extract_audio
from aima.media.errors import BadMedia
from aima.media.keyframes import iter_keyframes
from aima.media.probe import ProbeInfo, probe
from aima.media.sniff import Sniffed
from aima.media.thumbnails import load_image, thumbnail_jpeg
from aima.scratch import scratch_dir
from aima.settings import Settings
from aima.stage_runs import StageFailed, StageLedger, stage_key
from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.storage.objects import case_prefix

STAGE = "preprocess"
MODEL_ID = "pyav"
THUMBNAIL_SIDE = 320
KEYFRAME_SIDE = 1280
JPEG_QUALITY = 90


class PreprocessOutcome(BaseModel):
    media_id: str
    status: str  # done | failed | skipped  (the media item itself becomes "preprocessed")
    reused: bool = False  # True when a stored result of the same content key was found
    error_code: str | None = None
    error: str | None = None
    keyframes: int = 0


def preprocess_params(settings: Settings) -> dict[str, Any]:
    return {
        "keyframe_max_gap_s": settings.keyframe_max_gap_s,
        "keyframe_side": KEYFRAME_SIDE,
        "thumbnail_side": THUMBNAIL_SIDE,
        "audio": "wav-16k-mono",
    }


def preprocess_media(
    stores: Stores, settings: Settings, media_id: str, *, reanalyse: bool = False
) -> PreprocessOutcome:
    """Preprocess one ingested media item, or reuse what is stored for the same content key.

    Bad media (found only now, e.g. a video truncated halfway) marks the item ``failed`` with a
    code and reason and returns; unexpected errors are recorded and raised (to be retried).
    """
    with stores.metadata.session() as session:
        item = session.get(MediaItem, uuid.UUID(media_id))
    if item is None or item.status == "rejected":
        return PreprocessOutcome(media_id=media_id, status="skipped")
    key = stage_key(item.case_id, item.id, STAGE, MODEL_ID, preprocess_params(settings))
    ledger = StageLedger(stores.metadata)
    if not reanalyse and ledger.done(key) is not None:
        set_media_status(stores.metadata, item.id, "preprocessed")
        document = stores.documents.get(str(item.case_id), STAGE, media_id) or {}
        return PreprocessOutcome(media_id=media_id, status="done", reused=True,
                                 keyframes=len(document.get("keyframes", [])))
    set_media_status(stores.metadata, item.id, "processing")
    try:
        with ledger.run(key) as record, scratch_dir(settings, "preprocess") as scratch:
            original = scratch / "original"
            stores.objects.get_file(item.object_key, original)
            try:
                document = _preprocess(stores, settings, item, original, scratch)
            except BadMedia as bad:
                raise StageFailed(bad.code, bad.reason) from None
            stores.documents.put(str(item.case_id), STAGE, media_id, document, media_id=media_id)
            record["output_ref"] = f"documents:{STAGE}/{media_id}"
    except StageFailed as failed:
        set_media_status(stores.metadata, item.id, "failed", failed.code, failed.reason)
        return PreprocessOutcome(media_id=media_id, status="failed", error_code=failed.code,
                                 error=failed.reason)
    set_media_status(stores.metadata, item.id, "preprocessed", probe=document["probe"])
    return PreprocessOutcome(media_id=media_id, status="done", keyframes=len(document["keyframes"]))


def _preprocess(stores: Stores, settings: Settings, item: MediaItem, path: Path,
                scratch: Path) -> dict[str, Any]:
    case_id, media_id = str(item.case_id), str(item.id)
    sniffed = Sniffed(media_type=item.media_type, format=item.format, mime=item.mime)
    info: ProbeInfo = probe(path, sniffed)
    prefix = case_prefix(case_id)
    document: dict[str, Any] = {
        "media_id": media_id, "probe": info.model_dump(mode="json"), "keyframes": [],
        "audio": None, "thumbnail_key": None, "warnings": list(info.warnings),
    }
    if item.media_type == "image":
        key = f"{prefix}thumbnails/{media_id}/image.jpg"
        _put_jpeg(stores, key, thumbnail_jpeg(load_image(path), THUMBNAIL_SIDE))
        document["thumbnail_key"] = key
    if item.media_type == "video":
        stores.objects.delete_prefix(f"{prefix}keyframes/{media_id}/")  # a redo starts clean
        stores.objects.delete_prefix(f"{prefix}thumbnails/{media_id}/")
        for n, frame in enumerate(iter_keyframes(path, max_gap_s=settings.keyframe_max_gap_s,
                                                 max_side=KEYFRAME_SIDE)):
            frame_key = f"{prefix}keyframes/{media_id}/{n:05d}.jpg"
            thumb_key = f"{prefix}thumbnails/{media_id}/{n:05d}.jpg"
            _put_jpeg(stores, frame_key, _jpeg(frame.image))
            _put_jpeg(stores, thumb_key, thumbnail_jpeg(frame.image, THUMBNAIL_SIDE))
            document["keyframes"].append({
                "id": f"kf:{media_id}:{n}", "index": n, "timestamp_s": round(frame.timestamp_s, 3),
                "frame_index": frame.frame_index, "reason": frame.reason,
                "score": round(frame.score, 4), "key": frame_key, "thumbnail_key": thumb_key,
            })
        if document["keyframes"]:
            document["thumbnail_key"] = document["keyframes"][0]["thumbnail_key"]
    if item.media_type == "audio" or (item.media_type == "video" and info.audio_streams):
        wav = scratch / "audio.wav"
        try:
            audio = extract_audio(path, wav)
        except BadMedia as bad:
            if item.media_type == "audio":
                raise
            document["warnings"].append(f"audio track not used: {bad.reason}")
        else:
            key = f"{prefix}audio/{media_id}.wav"
            stores.objects.put_file(key, wav, content_type="audio/wav")
            document["audio"] = {"key": key, **audio.model_dump(exclude={"path"})}
    return document


def _jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _put_jpeg(stores: Stores, key: str, data: bytes) -> None:
    stores.objects.put_stream(key, io.BytesIO(data), length=len(data), content_type="image/jpeg")
