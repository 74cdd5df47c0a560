"""The report's faces section: every face with its evidence id, box and crop, and the case persons.

:func:`section` returns

- ``media``: per media item, the frames analysed and each face (evidence id, frame, timestamp,
  box ``[x, y, width, height]`` in the pixels of the frame whose ``width``/``height`` is given,
  score, quality, whether it was embedded and why not, crop key, and its case person if any);
- ``persons``: the case persons made from faces (key, id, label, face and media counts);
- ``evidence``: one item per face (``kind`` ``face``) for the report's top-level evidence list;
- ``counts``: faces, embedded, not embedded, persons, unassigned (embedded, in no person);
- ``edits_not_applied``: reviewer corrections that no longer fit, with the reason.

No face is named: a person is ``Person N`` or the label a reviewer gave it within this case.
"""

from __future__ import annotations

from typing import Any

from aima.persons_edits import DOCUMENT
from aima.storage import Stores


def section(stores: Stores, case_id: str) -> dict[str, Any]:
    linked = stores.documents.get(case_id, *DOCUMENT) or {}
    person_of = {face: (p["key"], p["label"]) for p in linked.get("persons", [])
                 for face in p["faces"]}
    media, evidence = [], []
    for document in stores.documents.query(case_id, stage="faces"):
        data, media_id = document.data, document.media_id
        frames = {str(f["frame"]): f for f in data.get("frames", [])}
        faces = []
        for face in data.get("faces", []):
            key, label = person_of.get(face["id"], (None, None))
            frame = frames.get(str(face["frame"]), {})
            entry = {
                "id": face["id"], "frame": face["frame"], "timestamp_s": face["timestamp_s"],
                "box": face["box"], "frame_size": [frame.get("width"), frame.get("height")],
                "score": face["score"], "quality": face["quality"]["score"],
                "embedded": face["embedded"], "not_embedded_reason": face["not_embedded_reason"],
                "crop_key": face["crop_key"], "person": key, "person_label": label,
            }
            faces.append(entry)
            evidence.append({"kind": "face", "media_id": media_id, **entry})
        media.append({"media_id": media_id, "model_id": data.get("model_id"),
                      "frames_analysed": len(frames), "faces": faces,
                      "warnings": data.get("warnings", [])})
    all_faces = [face for item in media for face in item["faces"]]
    embedded = sum(1 for face in all_faces if face["embedded"])
    persons = [{"key": p["key"], "id": p["id"], "label": p["label"], "faces": len(p["faces"]),
                "media": len({face.split(":")[1] for face in p["faces"]})}
               for p in linked.get("persons", [])]
    return {
        "media": sorted(media, key=lambda item: item["media_id"]),
        "persons": persons,
        "evidence": evidence,
        "counts": {
            "faces": len(all_faces), "embedded": embedded,
            "not_embedded": len(all_faces) - embedded, "persons": len(persons),
            "unassigned": sum(1 for face in all_faces
                              if face["embedded"] and face["person"] is None),
        },
        "edits_not_applied": linked.get("edits", {}).get("not_applied", []),
    }
