"""Faces: every face in an image or a video's keyframes, with landmarks, quality and an embedding.

Output: a ``faces`` document per media item listing each face with its evidence id
(``face:<media id>:<frame>:<n>``), frame, timestamp, box and landmarks (in the pixels of the
analysed frame, whose size the document gives), quality, whether it was embedded and the key of
its crop thumbnail (``faces/<media id>/<frame>-<n>.jpg``, longest side 160); and one 128-d
embedding per embedded face in the vector store (kind ``face``, id ``<media id>:<frame>:<n>``,
ref the evidence id), for ``link-persons`` to find the same face elsewhere in the case. Faces
smaller than ``AIMA_FACE_MIN_SIZE`` or of quality below ``AIMA_FACE_MIN_QUALITY`` are kept as
detections but not embedded. A photo without faces gives an empty list, not an error.

Remote compute (a rented machine holding presigned URLs only) must know every object key it may
write before it starts. The crops are declared for up to :data:`MAX_CROPS_PER_FRAME` faces per
frame (``Plan.outputs``); faces past that in one frame are still detected and embedded, without a
crop, and the document says so in a warning.

Nothing here tells who a face belongs to: no age, gender or ethnicity is estimated, and faces are
compared only within their case (``link-persons``).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from aima import evidence
from aima.stages.base import (
    ComputeRequest, Computed, MediaStage, Plan, Skip, StageContext, Summary,
)
from aima.stages.frames import frame_plan, load_frames
from aima.storage.models import MediaItem
from aima.storage.objects import case_prefix
from aima.storage.vectors import Embedding
from aima.vision.face_quality import face_quality

FACE = "face"  # the vector store's kind for face embeddings
MAX_CROPS_PER_FRAME = 32
CROP_SIDE = 160
CROP_MARGIN = 0.3  # of the box side, on each side
JPEG_QUALITY = 85


class Faces(MediaStage):
    name = "faces"
    media_types = frozenset({"image", "video"})
    needs = ("preprocess",)
    device = "gpu"
    model = "faces"
    description = "faces in images and keyframes: boxes, landmarks, quality, crops, embeddings"

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        inputs, frames = frame_plan(ctx, item)
        if not frames:
            return Skip("no keyframes")
        media_id = str(item.id)
        settings = ctx.settings
        return Plan(
            model_id=model.model_id,
            params={**model.parameters, "min_size": settings.face_min_size,
                    "min_quality": settings.face_min_quality, "crop_side": CROP_SIDE},
            inputs=inputs,
            data={"frames": frames, "max_pixels": settings.max_image_pixels},
            outputs=tuple(crop_key(media_id, frame["frame"], n)
                          for frame in frames for n in range(MAX_CROPS_PER_FRAME)),
            replaces=(f"faces/{media_id}/",),
        )

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        media_id, params = request.media_id, request.params
        document: dict[str, Any] = {
            "media_id": media_id, "model_id": model.model_id,
            "landmark_scheme": model.landmark_scheme,
            "thresholds": {"min_size": params["min_size"], "min_quality": params["min_quality"]},
            "frames": [], "faces": [], "warnings": [],
        }
        embeddings: dict[str, list[float]] = {}
        files = {}
        for frame in load_frames(request, max_pixels=request.data.get("max_pixels")):
            pixels = np.asarray(frame.image.convert("RGB"))
            detected = model.detect(pixels)
            document["frames"].append({"frame": frame.frame, "timestamp_s": frame.timestamp_s,
                                       "width": frame.image.width, "height": frame.image.height,
                                       "faces": len(detected)})
            chosen = []
            for n, face in enumerate(detected):
                quality = face_quality(face.box, face.chip, face.eye_left, face.eye_right,
                                       face.nose)
                reason = (f"smaller than {params['min_size']} px"
                          if quality.side_px < params["min_size"] else
                          f"quality {quality.score:.2f} below {params['min_quality']}"
                          if quality.score < params["min_quality"] else None)
                face_id = evidence.face_id(media_id, frame.frame, n)
                entry = {
                    "id": face_id, "frame": frame.frame, "n": n, "timestamp_s": frame.timestamp_s,
                    "box": list(face.box), "score": round(face.score, 3),
                    "landmarks": [[round(x, 1), round(y, 1)] for x, y in face.landmarks],
                    "quality": quality.as_dict(), "embedded": reason is None,
                    "not_embedded_reason": reason, "crop_key": None,
                }
                if n < MAX_CROPS_PER_FRAME:
                    key = crop_key(media_id, frame.frame, n)
                    local = request.workdir / key.replace("/", "_")
                    local.write_bytes(_crop_jpeg(frame.image, face.box))
                    files[key] = local
                    entry["crop_key"] = key
                document["faces"].append(entry)
                if reason is None:
                    chosen.append((face_id, face.chip))
            if len(detected) > MAX_CROPS_PER_FRAME:
                document["warnings"].append(
                    f"frame {frame.frame}: {len(detected)} faces, crops kept for the first "
                    f"{MAX_CROPS_PER_FRAME}")
            vectors = model.embed([chip for _, chip in chosen])
            embeddings.update({face_id: [float(x) for x in vector]
                               for (face_id, _), vector in zip(chosen, vectors, strict=True)})
        document["embedding_dimension"] = model.dimension
        return Computed(result={**document, "embeddings": embeddings}, files=files)

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        case_id, media_id = str(item.case_id), str(item.id)
        document = dict(computed.result)
        embeddings = document.pop("embeddings")
        prefix = case_prefix(case_id)
        document["faces"] = [{**face, "crop_key": prefix + face["crop_key"] if face["crop_key"]
                              else None} for face in document["faces"]]
        ctx.stores.documents.put(case_id, self.name, media_id, document, media_id=media_id)
        # A redo may find fewer faces: link-persons reads only the embeddings this document lists.
        ctx.stores.vectors.upsert(FACE, document["model_id"], [
            Embedding(id=vector_id(face_id), case_id=case_id, media_id=media_id, ref=face_id,
                      vector=vector)
            for face_id, vector in embeddings.items()
        ])
        return _summary(document)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return _summary(ctx.document(self.name, item) or {})


def crop_key(media_id: str, frame: int | str, n: int) -> str:
    """The crop thumbnail's object key, relative to the case."""
    return f"faces/{media_id}/{frame}-{n}.jpg"


def vector_id(face_evidence_id: str) -> str:
    """The vector store id of a face's embedding: ``<media id>:<frame>:<n>``."""
    parsed = evidence.parse(face_evidence_id)
    return ":".join((parsed.media_id, *parsed.parts))


def _crop_jpeg(image: Image.Image, box: tuple[int, int, int, int]) -> bytes:
    x, y, width, height = box
    margin = CROP_MARGIN * max(width, height)
    area = (max(0, int(x - margin)), max(0, int(y - margin)),
            min(image.width, int(x + width + margin)), min(image.height, int(y + height + margin)))
    crop = image.crop(area).convert("RGB")
    crop.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    crop.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _summary(document: dict[str, Any]) -> Summary:
    faces = document.get("faces", [])
    embedded = sum(1 for face in faces if face["embedded"])
    return Summary(detail=f"{len(faces)} faces ({embedded} embedded)" if faces else "no faces",
                   data={"faces": len(faces), "embedded": embedded},
                   warnings=list(document.get("warnings", [])))


STAGE = Faces()
