"""Preprocess: probe a media item, extract keyframes, audio and thumbnails.

Outputs, all under the case's prefix in the object store:

- ``keyframes/<media id>/<n>.jpg`` (longest side <= 1280) and ``thumbnails/<media id>/<n>.jpg``
  (longest side 320) for a video; ``thumbnails/<media id>/image.jpg`` for an image
- ``audio/<media id>.wav``: 16 kHz mono, for an audio file and a video with a readable audio track

and one ``preprocess`` document per media item with the probe, the keyframes (each with its
evidence id ``kf:<media id>:<n>`` and timestamp) and the audio track. A corrupt audio track in an
otherwise good video is a warning on the document, not a failure of the video.

For triage (:mod:`aima.triage`) the document also holds

- ``phash``: the perceptual hashes of an image (:func:`aima.triage.phash.picture_hash`, as the
  picture is displayed), ``phash`` on every keyframe of a video, and a video's ``signature``
  (hashes of one frame a second, :mod:`aima.triage.signature`): what the ``near-duplicates``
  case stage compares;
- ``captured_at`` (``time``, ``utc``, ``source``, ``note``) and ``location`` (``lat``, ``lon``,
  ``alt``, ``source``) from EXIF or QuickTime metadata (:mod:`aima.triage.capture`). The source
  file's modification time, the last resort, is read when the work is planned (compute sees only
  AIMA's copy). Corrupt metadata is a warning on the document, never a failure.
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
from aima.triage.capture import read_capture, source_file_time
from aima.triage.phash import ALGORITHM as PHASH_ALGORITHM, picture_hash
from aima.triage.signature import sample_hashes

THUMBNAIL_SIDE = 320
KEYFRAME_SIDE = 1280
JPEG_QUALITY = 90


class Preprocess(MediaStage):
    name = "preprocess"
    # 2: perceptual hashes, capture time and position; 3: detail hashes of images;
    # 4: keyframes: a luma-only change makes a cut (grey scenes)
    version = "4"
    needs = ("ingest",)
    description = ("probe; keyframes, 16 kHz audio track and thumbnails into the object store; "
                   "perceptual hashes, capture time and place")

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
                  "max_pixels": ctx.settings.max_image_pixels,
                  "file_time": source_file_time(item.source_uri, item.size_bytes)},
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
            "phash_algorithm": PHASH_ALGORITHM, "phash": None,
        }
        capture = read_capture(path, request.media_type, file_time=request.data.get("file_time"),
                               max_pixels=max_pixels)
        document["captured_at"] = capture.captured_at.model_dump()
        document["location"] = capture.location.model_dump() if capture.location else None
        document["warnings"] += capture.warnings
        files = {}

        def jpeg(relative: str, data: bytes) -> str:
            local = out / relative.replace("/", "_")
            local.write_bytes(data)
            files[relative] = local
            return relative

        if request.media_type == "image":
            image = load_image(path, max_pixels=max_pixels)
            document["phash"] = picture_hash(image).as_dict()
            document["thumbnail_key"] = jpeg(f"thumbnails/{media_id}/image.jpg",
                                             thumbnail_jpeg(image, THUMBNAIL_SIDE))
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
                    "phash": picture_hash(frame.image, detail=False).as_dict(),
                })
            if document["keyframes"]:
                document["thumbnail_key"] = document["keyframes"][0]["thumbnail_key"]
            document["signature"], notes = sample_hashes(path, duration_s=info.duration_s,
                                                         max_pixels=max_pixels)
            document["warnings"] += notes
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
