"""Preprocess: probe a media item, extract keyframes, audio and thumbnails.

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
from typing import Any

from aima import evidence
from aima.media import keyframes
from aima.media.audio import extract_audio
from aima.media.errors import BadMedia
from aima.media.probe import probe
from aima.media.sniff import Sniffed
from aima.media.thumbnails import load_image, thumbnail_jpeg
from aima.stages.base import (
    ComputeRequest, Computed, MediaStage, Plan, StageContext, Summary,
)
from aima.storage.models import MediaItem
from aima.storage.objects import case_prefix

THUMBNAIL_SIDE = 320
KEYFRAME_SIDE = 1280
JPEG_QUALITY = 90


class Preprocess(MediaStage):
    name = "preprocess"
    needs = ("ingest",)
    description = "probe; keyframes, 16 kHz audio track and thumbnails into the object store"

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan:
        media_id = str(item.id)
        return Plan(
            model_id="pyav",
            params={"keyframe_max_gap_s": ctx.settings.keyframe_max_gap_s,
                    "keyframe_side": KEYFRAME_SIDE, "thumbnail_side": THUMBNAIL_SIDE,
                    "audio": "wav-16k-mono"},
            inputs={"original": item.object_key},
            # The pixel limit refuses bad input; it does not change a result, so it is not a
            # parameter of the key.
            data={"format": item.format, "mime": item.mime,
                  "max_pixels": ctx.settings.max_image_pixels},
            replaces=(f"keyframes/{media_id}/", f"thumbnails/{media_id}/"),
        )

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        path, out, media_id = request.inputs["original"], request.workdir, request.media_id
        sniffed = Sniffed(media_type=request.media_type, format=request.data["format"],
                          mime=request.data["mime"])
        max_pixels = request.data["max_pixels"]
        info = probe(path, sniffed, max_pixels=max_pixels)
        document: dict[str, Any] = {
            "media_id": media_id, "probe": info.model_dump(mode="json"), "keyframes": [],
            "audio": None, "thumbnail_key": None, "warnings": list(info.warnings),
        }
        files = {}

        def jpeg(relative: str, data: bytes) -> str:
            local = out / relative.replace("/", "_")
            local.write_bytes(data)
            files[relative] = local
            return relative

        if request.media_type == "image":
            document["thumbnail_key"] = jpeg(f"thumbnails/{media_id}/image.jpg",
                                             thumbnail_jpeg(load_image(path, max_pixels=max_pixels),
                                                            THUMBNAIL_SIDE))
        if request.media_type == "video":
            for n, frame in enumerate(keyframes.iter_keyframes(
                    path, max_gap_s=request.params["keyframe_max_gap_s"], max_side=KEYFRAME_SIDE,
                    max_pixels=max_pixels)):
                document["keyframes"].append({
                    "id": evidence.keyframe_id(media_id, n), "index": n,
                    "timestamp_s": round(frame.timestamp_s, 3), "frame_index": frame.frame_index,
                    "reason": frame.reason, "score": round(frame.score, 4),
                    "key": jpeg(f"keyframes/{media_id}/{n:05d}.jpg", _jpeg(frame.image)),
                    "thumbnail_key": jpeg(f"thumbnails/{media_id}/{n:05d}.jpg",
                                          thumbnail_jpeg(frame.image, THUMBNAIL_SIDE)),
                })
            if document["keyframes"]:
                document["thumbnail_key"] = document["keyframes"][0]["thumbnail_key"]
        if request.media_type == "audio" or (request.media_type == "video" and info.audio_streams):
            wav = out / "audio.wav"
            try:
                audio = extract_audio(path, wav)
            except BadMedia as bad:
                if request.media_type == "audio":
                    raise
                document["warnings"].append(f"audio track not used: {bad.reason}")
            else:
                files[f"audio/{media_id}.wav"] = wav
                document["audio"] = {"key": f"audio/{media_id}.wav",
                                     **audio.model_dump(exclude={"path"})}
        return Computed(result=document, files=files)

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        document = _with_full_keys(computed.result, case_prefix(str(item.case_id)))
        ctx.stores.documents.put(str(item.case_id), self.name, str(item.id), document,
                                 media_id=str(item.id))
        with ctx.stores.metadata.session() as session:
            session.get(MediaItem, uuid.UUID(str(item.id))).probe = document["probe"]
        return _summary(document)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return _summary(ctx.document(self.name, item) or {})


def _with_full_keys(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Object keys in the document as the object store knows them (compute wrote relative ones)."""
    document = dict(document)
    if document.get("thumbnail_key"):
        document["thumbnail_key"] = prefix + document["thumbnail_key"]
    document["keyframes"] = [{**frame, "key": prefix + frame["key"],
                              "thumbnail_key": prefix + frame["thumbnail_key"]}
                             for frame in document["keyframes"]]
    if document.get("audio"):
        document["audio"] = {**document["audio"], "key": prefix + document["audio"]["key"]}
    return document


def _summary(document: dict[str, Any]) -> Summary:
    count = len(document.get("keyframes", []))
    return Summary(detail=f"{count} keyframes" if count else None, data={"keyframes": count},
                   warnings=list(document.get("warnings", [])))


def _jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


STAGE = Preprocess()
