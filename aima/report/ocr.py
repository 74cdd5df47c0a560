"""The report's OCR section: the text read in each image and keyframe, with evidence and locators.

:func:`section` returns

- ``media``: per media item the OCR read, its model, the frames read and each text line: its
  evidence id (``ocr:<media>:<frame>:<n>``), frame, timestamp, the keyframe's evidence id in a
  video, text, confidence, box ``[x, y, width, height]`` in the pixels of the frame whose size
  ``frame_size`` gives, and its locator (media item, timestamp, box);
- ``evidence``: one item per line (``kind`` ``ocr``) for the report's top-level evidence list;
- ``counts``: media items read, frames read, frames with text, lines.

A media item the stage skipped (switched off, a video without keyframes) has no entry here; the
skip and its reason are in the media rows' ``stages`` and ``notes`` (from the stage-run ledger).
"""

from __future__ import annotations

from typing import Any

from aima.evidence import Locator
from aima.storage import Stores

STAGE = "ocr"


def section(stores: Stores, case_id: str) -> dict[str, Any]:
    media, evidence = [], []
    documents = sorted(stores.documents.query(str(case_id), stage=STAGE),
                       key=lambda d: d.media_id or "")
    for document in documents:
        media_id, data = document.media_id, document.data
        lines = []
        for frame in data.get("frames", []):
            for line in frame["lines"]:
                locator = Locator(media_id, timestamp_s=frame["timestamp_s"],
                                  box=tuple(line["box"])).as_dict()
                entry = {
                    "id": line["id"], "frame": frame["frame"],
                    "timestamp_s": frame["timestamp_s"], "keyframe": frame.get("keyframe"),
                    "text": line["text"], "confidence": line["confidence"], "box": line["box"],
                    "frame_size": [frame["width"], frame["height"]],
                    "locator": {**locator, "box": line["box"]},
                }
                lines.append(entry)
                evidence.append({
                    "id": line["id"], "kind": "ocr", "media_id": media_id,
                    "frame": frame["frame"], "timestamp_s": frame["timestamp_s"],
                    "keyframe": frame.get("keyframe"), "box": line["box"],
                    "text": line["text"], "confidence": line["confidence"],
                })
        frames = data.get("frames", [])
        media.append({
            "media_id": media_id, "model_id": data.get("model_id"),
            "frames_read": len(frames),
            "frames_with_text": sum(1 for frame in frames if frame["lines"]),
            "text": "\n".join(line["text"] for line in lines),
            "lines": lines,
        })
    return {
        "media": media,
        "evidence": evidence,
        "counts": {
            "media": len(media),
            "frames": sum(item["frames_read"] for item in media),
            "frames_with_text": sum(item["frames_with_text"] for item in media),
            "lines": len(evidence),
        },
    }
