"""Case reports with known content, in the shape :func:`aima.report.build_report` returns.

:func:`small_report`: a street video (two speakers, two face persons, a vision analysis of a
restrained and distressed person, a restraint observation by detector and VLM), a photo (one face,
a printed notice read by OCR) and a phone call (one speaker); one proposed speaker-face link.
:func:`long_report`: a long video with many transcript segments and faces, too large for a small
context window. Every id is built with :mod:`aima.evidence`, as the stages build them.
"""

from __future__ import annotations

import uuid

from aima import evidence

VIDEO, PHOTO, CALL = (str(uuid.uuid5(uuid.NAMESPACE_URL, name))
                      for name in ("video", "photo", "call"))
CONTEXT = "Complaint about an incident at a street door on 3 May."


def _segment(media_id: str, n: int, start: float, end: float, speaker: str, text: str) -> dict:
    return {"id": evidence.segment_id(media_id, n), "start": start, "end": end,
            "speaker": speaker, "text": text, "words": []}


def _face(media_id: str, frame, n: int, timestamp_s, person: str | None) -> dict:
    return {"id": evidence.face_id(media_id, frame, n), "frame": frame, "timestamp_s": timestamp_s,
            "box": [10, 10, 50, 50], "person": person, "person_label": None, "embedded": True}


def _person(key: str, label: str, modality: str, appearances: list[tuple]) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)), "label": label,
            "speaker_id": key if modality == "voice" else None, "modalities": [modality],
            "appearances": [{"media_id": m, "modality": modality, "start_s": s, "end_s": e,
                             "evidence": ids} for m, s, e, ids in appearances]}


def _report(media: list[dict], transcripts: list[dict], faces: dict[str, list[dict]],
            frames: list[dict], observations: list[dict], detections: list[dict],
            ocr: dict[str, list[dict]], persons: list[dict], links: list[dict],
            keyframes: dict[str, list[float]]) -> dict:
    items = []
    for media_id, times in keyframes.items():
        items += [{"id": evidence.keyframe_id(media_id, n), "kind": "keyframe",
                   "media_id": media_id, "timestamp_s": t} for n, t in enumerate(times)]
    for t in transcripts:
        items += [{"id": s["id"], "kind": "audio_segment", "media_id": t["media_id"],
                   "start_s": s["start"], "end_s": s["end"], "speaker": s["speaker"],
                   "text": s["text"]} for s in t["segments"]]
    for media_id, found in faces.items():
        items += [{"kind": "face", "media_id": media_id, **f} for f in found]
    items += [{"id": f["id"], "kind": "vlm", "media_id": f["media_id"], "frame": f["frame"],
               "timestamp_s": f["timestamp_s"], "keyframe": f["keyframe"]} for f in frames]
    items += [{"kind": "detection", **d} for d in detections]
    for media_id, lines in ocr.items():
        items += [{"id": line["id"], "kind": "ocr", "media_id": media_id,
                   "timestamp_s": line["timestamp_s"], "text": line["text"]} for line in lines]
    face_keys = sorted({f["person"] for found in faces.values() for f in found if f["person"]})
    return {
        "case": {"id": str(uuid.uuid4()), "name": "Street door", "context": CONTEXT},
        "media": media,
        "persons": persons,
        "person_links": links,
        "transcripts": transcripts,
        "faces": {"media": [{"media_id": m, "faces": found} for m, found in faces.items()],
                  "persons": [{"key": key, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                               "label": key.replace("-", " ").capitalize()}
                              for key in face_keys]},
        "frames": frames,
        "restraint_observations": observations,
        "text": [{"media_id": m, "lines": lines} for m, lines in ocr.items()],
        "summary": {"files": len(media), "speakers": 2},
        "evidence": items,
    }


def small_report() -> dict:
    transcripts = [
        {"media_id": VIDEO, "language": "en", "segments": [
            _segment(VIDEO, 0, 1.0, 3.0, "speaker-1", "Open the door now."),
            _segment(VIDEO, 1, 4.0, 6.0, "speaker-2", "Please let me go."),
            _segment(VIDEO, 2, 12.0, 14.5, "speaker-1", "Sit down and wait.")]},
        {"media_id": CALL, "language": "en", "segments": [
            _segment(CALL, 0, 0.5, 2.5, "speaker-2", "I was held at the door.")]},
    ]
    faces = {VIDEO: [_face(VIDEO, 0, 0, 0.0, "person-1"), _face(VIDEO, 1, 0, 10.0, "person-1"),
                     _face(VIDEO, 1, 1, 10.0, "person-2")],
             PHOTO: [_face(PHOTO, evidence.IMAGE_FRAME, 0, None, "person-2")]}
    analysis = {
        "scene": {"place": "street", "setting": "outdoor", "lighting": "daylight"},
        "person_count": 2,
        "persons": [
            {"position": "left", "clothing": [{"item": "jacket", "colours": ["black"]}],
             "uniforms_or_logos": [], "posture": "standing", "restraints": [],
             "gagged": False, "blindfolded": False, "visible_distress": []},
            {"position": "right", "clothing": [], "uniforms_or_logos": [],
             "posture": "sitting on the ground",
             "restraints": [{"type": "handcuffs", "where": "wrists behind"}],
             "gagged": False, "blindfolded": False, "visible_distress": ["crying"]}],
        "interactions": ["the person on the left holds the other by the arm"],
        "visible_text": []}
    frames = [{"media_id": VIDEO, "id": evidence.vlm_id(VIDEO, 1), "frame": 1,
               "timestamp_s": 10.0, "keyframe": evidence.keyframe_id(VIDEO, 1),
               "status": "parsed", "analysis": analysis}]
    detection = {"id": evidence.detection_id(VIDEO, 1, 0), "media_id": VIDEO, "frame": 1,
                 "timestamp_s": 10.0, "label": "handcuffs", "score": 0.81,
                 "face": evidence.face_id(VIDEO, 1, 1)}
    observations = [{"media_id": VIDEO, "frame": 1, "timestamp_s": 10.0, "type": "handcuffs",
                     "signals": ["detector", "vlm"], "support": "both", "score": 0.81,
                     "confidence": "higher", "faces": [evidence.face_id(VIDEO, 1, 1)],
                     "evidence": [detection["id"], evidence.vlm_id(VIDEO, 1),
                                  evidence.keyframe_id(VIDEO, 1)]}]
    ocr = {PHOTO: [{"id": evidence.ocr_id(PHOTO, evidence.IMAGE_FRAME, 0), "frame": "image",
                    "timestamp_s": None, "text": "NO ENTRY AFTER 10 PM"}]}
    persons = [
        _person("person-1", "Person 1", "face",
                [(VIDEO, 0.0, 0.0, [evidence.face_id(VIDEO, 0, 0)]),
                 (VIDEO, 10.0, 10.0, [evidence.face_id(VIDEO, 1, 0)])]),
        _person("person-2", "Person 2", "face",
                [(VIDEO, 10.0, 10.0, [evidence.face_id(VIDEO, 1, 1)]),
                 (PHOTO, None, None, [evidence.face_id(PHOTO, evidence.IMAGE_FRAME, 0)])]),
        _person("speaker-1", "Speaker 1", "voice",
                [(VIDEO, 1.0, 3.0, [evidence.segment_id(VIDEO, 0)]),
                 (VIDEO, 12.0, 14.5, [evidence.segment_id(VIDEO, 2)])]),
        _person("speaker-2", "Speaker 2", "voice",
                [(VIDEO, 4.0, 6.0, [evidence.segment_id(VIDEO, 1)]),
                 (CALL, 0.5, 2.5, [evidence.segment_id(CALL, 0)])]),
    ]
    links = [{"speaker": "speaker-2", "person": "person-2", "status": "proposed",
              "co_occurrences": 1, "score": 0.7,
              "evidence": [evidence.segment_id(VIDEO, 1), evidence.face_id(VIDEO, 1, 1)]}]
    media = [{"id": VIDEO, "name": "street.mp4", "type": "video", "duration_s": 20.0,
              "status": "done"},
             {"id": PHOTO, "name": "door.jpg", "type": "image", "duration_s": None,
              "status": "done"},
             {"id": CALL, "name": "call.wav", "type": "audio", "duration_s": 3.0,
              "status": "done"}]
    return _report(media, transcripts, faces, frames, observations, [detection], ocr, persons,
                   links, {VIDEO: [0.0, 10.0]})


def long_report(segments: int = 240, files: int = 2) -> dict:
    """``files`` long videos, each with ``segments`` transcript segments and a face every 10 s."""
    media, transcripts, faces, persons, keyframes = [], [], {}, [], {}
    for f in range(files):
        media_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"long-{f}"))
        duration = segments * 5.0
        media.append({"id": media_id, "name": f"long-{f}.mp4", "type": "video",
                      "duration_s": duration, "status": "done"})
        transcripts.append({"media_id": media_id, "language": "en", "segments": [
            _segment(media_id, n, n * 5.0, n * 5.0 + 4.0, f"speaker-{1 + n % 2}",
                     f"Sentence number {n} of file {f}, about the door and the street.")
            for n in range(segments)]})
        keyframes[media_id] = [k * 10.0 for k in range(segments // 2)]
        faces[media_id] = [_face(media_id, k, 0, k * 10.0, "person-1")
                           for k in range(segments // 2)]
    for key in ("speaker-1", "speaker-2"):
        persons.append(_person(key, key.replace("-", " ").capitalize(), "voice", [
            (t["media_id"], s["start"], s["end"], [s["id"]]) for t in transcripts
            for s in t["segments"] if s["speaker"] == key]))
    persons.append(_person("person-1", "Person 1", "face", [
        (m, f["timestamp_s"], f["timestamp_s"], [f["id"]]) for m, found in faces.items()
        for f in found]))
    return _report(media, transcripts, faces, [], [], [], {}, persons, [], keyframes)
