"""The case report arranged for reading: what the HTML (and so the PDF) template shows, in order.

:func:`build_view` turns the report dict into plain values the template loops over without any
logic of its own: the header, the summary and the narrative's status, the review box, persons
with face crops and what they said, a keyframe strip per video, transcripts, findings with the
pictures they cite, the timeline and coverage (chart geometry from
:mod:`~aima.report.exports.charts`), the media table and the evidence appendix. Every section is
empty rather than missing when the report lacks it. Evidence ids are cited as
``{"id", "short", "anchor"}`` (:func:`~aima.report.exports.common.cite`) so that each links to its
entry in the appendix; an id cited but not in the report's evidence list still gets an entry, so
no link dangles.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aima.report.exports import charts, common
from aima.report.exports.common import cite, cites
from aima.report.exports.pictures import Pictures

#: Pictures shown with one finding or person at most (the appendix lists every cited item).
PICTURES_PER_FINDING = 4
CROPS_PER_PERSON = 8
SUMMARY_COUNTS = (("files", "files"), ("keyframes", "keyframes"),
                  ("audio_tracks", "audio tracks"), ("transcribed", "transcribed files"),
                  ("speakers", "speakers"), ("frames_analysed", "frames described"))


class _Evidence:
    """The report's evidence items by id, and the picture each visual one has."""

    def __init__(self, report: dict[str, Any], pictures: Pictures):
        self.items = {e["id"]: e for e in report.get("evidence", []) if e.get("id")}
        self.pictures = pictures
        self.names = common.names(report)
        # an image has no keyframe: its own thumbnail (media rows), else the picture a model saw
        # (the original, shrunk by Pictures when large)
        self.media_picture = {row["id"]: row["thumbnail_key"] for row in report.get("media", [])
                              if row.get("thumbnail_key")}
        for item in self.items.values():
            if item.get("kind") in ("vlm", "detection") and item.get("keyframe") is None and \
                    item.get("object_key"):
                self.media_picture.setdefault(item["media_id"], item["object_key"])

    def picture(self, evidence_id: str) -> dict[str, Any] | None:
        """``{"uri", "boxes", "caption", "id", "anchor"}`` for a visual evidence item whose
        picture the object store has (boxes in percent of the picture); None otherwise."""
        item = self.items.get(evidence_id)
        if item is None:
            return None
        kind, boxes = item.get("kind"), []
        if kind == "face":
            key = item.get("crop_key")
        elif kind == "keyframe":
            key = item.get("thumbnail_key")
        else:  # vlm, ocr, detection: the keyframe they rest on, or the image itself
            frame = self.items.get(item.get("keyframe") or "")
            key = (frame or {}).get("thumbnail_key") or self.media_picture.get(item.get("media_id"))
            box = _percent_box(item.get("box"), item.get("frame_size"))
            if box:
                boxes.append({**box, "label": item.get("label") or kind})
        uri = self.pictures.uri(key)
        if uri is None:
            return None
        return {"uri": uri, "boxes": boxes, "id": evidence_id,
                "anchor": common.anchor(evidence_id), "caption": self.where(item)}

    def pictures_of(self, ids, limit: int = PICTURES_PER_FINDING) -> list[dict[str, Any]]:
        """The pictures of ``ids``, one per distinct picture: the boxes of several detections in
        one frame are drawn on that frame's one picture."""
        shown: dict[str, dict[str, Any]] = {}
        for evidence_id in ids or []:
            picture = self.picture(evidence_id) if isinstance(evidence_id, str) else None
            if picture is None:
                continue
            if picture["uri"] in shown:
                shown[picture["uri"]]["boxes"] += picture["boxes"]
            elif len(shown) < limit:
                shown[picture["uri"]] = picture
        return list(shown.values())

    def where(self, item: dict[str, Any]) -> str:
        name = self.names.get(item.get("media_id"), item.get("media_id") or "")
        if item.get("timestamp_s") is not None:
            return f"{name} at {common.clock(item['timestamp_s'])}"
        if item.get("start_s") is not None:
            return f"{name} {common.clock(item['start_s'])}-{common.clock(item.get('end_s'))}"
        return str(name)


def _percent_box(box, size) -> dict[str, float] | None:
    if not box or not size or len(size) != 2 or not all(size) or len(box) != 4:
        return None
    width, height = size
    x, y, w, h = box
    return {"left": round(100 * x / width, 2), "top": round(100 * y / height, 2),
            "width": round(100 * w / width, 2), "height": round(100 * h / height, 2)}


def build_view(report: dict[str, Any], pictures: Pictures) -> dict[str, Any]:
    """Everything the report template shows, in the order it shows it."""
    evidence = _Evidence(report, pictures)
    names = evidence.names
    persons = _persons(common.persons(report), evidence)
    speaker_labels = {p["key"]: p["label"] for p in persons if p["key"]}
    keyframes = _keyframes(report, evidence)
    shown_at = {f["id"]: "strip-" + f["anchor"] for strip in keyframes for f in strip["frames"]
                if f["uri"]}
    shown_at.update({face: p["anchor"] for p in persons for face in p["faces"]})
    return {
        "header": _header(report),
        "summary": _summary(report),
        "narrative": _narrative(report, names),
        "review": _review(report),
        "persons": persons,
        "person_links": [{**link, "speaker_label": speaker_labels.get(link.get("speaker")),
                          "person_label": speaker_labels.get(link.get("person")),
                          "evidence": cites(link.get("evidence"))}
                         for link in report.get("person_links") or []],
        "keyframes": keyframes,
        "transcripts": _transcripts(report, names, speaker_labels),
        "findings": _findings(report, evidence),
        "timeline": charts.timeline(report, names, speaker_labels),
        "coverage": charts.coverage(report),
        "media": _media(report, evidence),
        "appendix": _appendix(report, evidence, shown_at),
    }


def _header(report: dict[str, Any]) -> dict[str, Any]:
    case = report.get("case") or {}
    models = []
    for stage, ids in (case.get("models") or {}).items():
        models.append((stage, ", ".join(ids) if isinstance(ids, list) else str(ids)))
    return {"name": case.get("name") or case.get("id") or "(unnamed case)",
            "id": case.get("id"), "context": case.get("context"),
            "created_at": case.get("created_at"), "generated_at": case.get("generated_at"),
            "generator": case.get("generator"), "version": case.get("report_version"),
            "models": models}


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    summary = report.get("summary") or {}
    counts = [(label, summary[key]) for key, label in SUMMARY_COUNTS if key in summary]
    faces, text = summary.get("faces") or {}, summary.get("text") or {}
    detected = summary.get("restraint_detections") or {}
    counts += [(label, value) for label, value in (
        ("faces", faces.get("faces")), ("face persons", faces.get("persons")),
        ("text lines read", text.get("lines")),
        ("restraint observations", detected.get("observations")),
        ("timeline events", len(report.get("timeline") or []) or None),
        ("evidence items", len(report.get("evidence") or []))) if value is not None]
    skipped = ", ".join(f"{stage} ({n} files)" for stage, n in
                        (summary.get("skipped_stages") or {}).items())
    return {"counts": counts, "by_status": list((summary.get("by_status") or {}).items()),
            "skipped": skipped, "longest_unseen_s": summary.get("longest_unseen_s"),
            "unparsed": summary.get("vlm_unparsed")}


def _narrative(report: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    narrative = report.get("narrative") or {}
    status = narrative.get("status")
    written = status == "written"
    reason = narrative.get("reason") or ("no narrative in this report" if not narrative
                                         else f"status {status}")
    return {
        "written": written, "status": status or "absent", "reason": reason,
        "model_id": narrative.get("model_id"), "summary": narrative.get("summary"),
        # Older reports have no flag: their summary is shown as it was.
        "summary_grounded": narrative.get("summary_grounded", True),
        "summary_evidence": cites(narrative.get("summary_evidence")),
        "grounding": narrative.get("grounding") or {},
        "timeline": [{**item, "name": names.get(item.get("media_id"), item.get("media_id")),
                      "evidence": cites(item.get("evidence"))}
                     for item in narrative.get("timeline") or []] if written else [],
        "contradictions": [_generic(item) for item in narrative.get("contradictions") or []]
        if written else [],
    }


def _generic(item: Any) -> dict[str, Any]:
    """A narrative item of a shape the schema leaves open: its text and its evidence."""
    if not isinstance(item, dict):
        return {"text": str(item), "evidence": []}
    text = item.get("description") or item.get("reason") or item.get("text") or ", ".join(
        f"{k}: {v}" for k, v in item.items() if k != "evidence" and isinstance(v, (str, int)))
    return {"text": text, "evidence": cites(item.get("evidence"))}


def _review(report: dict[str, Any]) -> dict[str, Any]:
    """Why a human must review, each reason with the evidence it rests on (where known)."""
    cited = {}
    for item in (report.get("restraint_observations") or []) + (report.get("restraints") or []):
        if item.get("reason"):
            cited.setdefault(item["reason"], item.get("evidence") or [])
    reasons, seen = [], set()
    for text in report.get("review_reasons") or []:
        if text not in seen:
            seen.add(text)
            reasons.append({"text": text, "evidence": cites(cited.get(text))})
    for item in (report.get("narrative") or {}).get("requires_human_review") or []:
        # The model's own requests join the box only when they cite evidence of the case.
        if isinstance(item, dict) and item.get("grounded") is False:
            continue
        text = item.get("reason") if isinstance(item, dict) else str(item)
        if text and text not in seen:
            seen.add(text)
            reasons.append({"text": text, "evidence": cites(item.get("evidence")
                                                            if isinstance(item, dict) else [])})
    return {"required": bool(report.get("requires_human_review") or reasons), "reasons": reasons}


def _persons(persons: list[dict[str, Any]], evidence: _Evidence) -> list[dict[str, Any]]:
    shown = []
    for number, person in enumerate(persons, start=1):
        first = person["first_seen"]
        shown.append({
            **person, "anchor": f"person-{number}",
            "crops": evidence.pictures_of(person["faces"], CROPS_PER_PERSON),
            "appearances": [{**a, "evidence": cites(a.get("evidence"))}
                            for a in person["appearances"]],
            "said": [{**s, "name": evidence.names.get(s.get("media_id"), s.get("media_id")),
                      "evidence": cites(s.get("evidence"))} for s in person["said"]],
            "restraints": [_generic(r) for r in person["restraints"]],
            "first_seen": (f"{first.get('name')}"
                           + (f" at {common.clock(first['start_s'])}"
                              if first.get("start_s") is not None else "")) if first else None,
        })
    return shown


def _keyframes(report: dict[str, Any], evidence: _Evidence) -> list[dict[str, Any]]:
    by_media: dict[str, list] = defaultdict(list)
    for item in evidence.items.values():
        if item.get("kind") == "keyframe":
            by_media[item.get("media_id")].append(item)
    strips = []
    for media_id in common.media_order(report):
        frames = sorted(by_media.get(media_id, []), key=lambda f: f.get("timestamp_s") or 0)
        if frames:
            strips.append({"name": evidence.names.get(media_id, media_id), "frames": [
                {"uri": evidence.pictures.uri(f.get("thumbnail_key")), "time":
                 common.clock(f.get("timestamp_s")), **cite(f["id"])} for f in frames]})
    return strips


def _transcripts(report: dict[str, Any], names: dict[str, str],
                 speaker_labels: dict[str, str]) -> list[dict[str, Any]]:
    shown = []
    for transcript in report.get("transcripts") or []:
        segments = transcript.get("segments") or []
        if not segments:
            continue
        media_id = transcript.get("media_id")
        shown.append({
            "name": transcript.get("name") or names.get(media_id, media_id),
            "language": transcript.get("language"),
            "probability": transcript.get("language_probability"),
            "speakers": sorted({speaker_labels.get(s.get("speaker"), s.get("speaker"))
                                for s in segments if s.get("speaker")}),
            "segments": [{"start": common.clock(s.get("start")), "end": common.clock(s.get("end")),
                          "speaker": speaker_labels.get(s.get("speaker"), s.get("speaker")),
                          "language": s.get("language"), "text": (s.get("text") or "").strip(),
                          **cite(s["id"])} for s in segments],
        })
    return shown


def _findings(report: dict[str, Any], evidence: _Evidence) -> dict[str, Any]:
    groups: dict[tuple[Any, str], dict[str, Any]] = {}
    for o in report.get("restraint_observations") or []:
        key = (o.get("media_id"), str(o.get("frame")))
        if key not in groups:
            groups[key] = {"where": evidence.where(o), "observations": [], "ids": []}
        groups[key]["observations"].append({
            "type": o.get("type"), "support": o.get("support"),
            "signals": ", ".join(o.get("signals") or []), "score": o.get("score"),
            "confidence": o.get("confidence"), "evidence": cites(o.get("evidence"))})
        groups[key]["ids"] += (o.get("evidence") or []) + (o.get("faces") or [])
    # one card per frame: its picture once, with the boxes of every detection in it
    observations = [{"where": g["where"], "observations": g["observations"],
                     "pictures": evidence.pictures_of(g["ids"])} for g in groups.values()]
    frames, flagged = [], []
    for frame in report.get("frames") or []:
        analysis = frame.get("analysis") or {}
        scene = analysis.get("scene") or {}
        ids = [frame.get("id"), frame.get("keyframe")]
        where = evidence.where({"media_id": frame.get("media_id"),
                                "timestamp_s": frame.get("timestamp_s")})
        entry = {
            "where": where, "status": frame.get("status"),
            "scene": ", ".join(str(v) for v in (scene.get("place"), scene.get("setting"),
                                                scene.get("lighting")) if v),
            "persons": analysis.get("person_count"),
            "interactions": "; ".join(analysis.get("interactions") or []),
            "visible_text": "; ".join(analysis.get("visible_text") or []),
            "error": frame.get("error"), "evidence": cites(i for i in ids if i),
        }
        frames.append(entry)
        if frame.get("requires_human_review"):
            flagged.append({**entry, "reasons": frame.get("review_reasons") or [],
                            "pictures": evidence.pictures_of([i for i in ids if i])})
    narrative = report.get("narrative") or {}
    indicators = [{
        "kind": i.get("kind"), "description": i.get("description"),
        "confidence": i.get("confidence"), "grounded": i.get("grounded"),
        "evidence": cites(i.get("evidence")), "pictures": evidence.pictures_of(i.get("evidence")),
    } for i in narrative.get("indicators") or []] if narrative.get("status") == "written" else []
    text = [{"where": evidence.where(line), "text": line.get("text"),
             "confidence": line.get("confidence"), **cite(line["id"])}
            for line in evidence.items.values() if line.get("kind") == "ocr"]
    return {"observations": observations, "flagged": flagged, "frames": frames,
            "indicators": indicators, "text": text,
            "any": bool(observations or flagged or indicators or text)}


def _media(report: dict[str, Any], evidence: _Evidence) -> list[dict[str, Any]]:
    return [{
        **row, "duration": common.clock(row.get("duration_s")),
        "picture": evidence.pictures.uri(row.get("thumbnail_key")),
        "stage_list": [(s.get("stage"), s.get("status"), s.get("reason"))
                       for s in row.get("stages") or []],
    } for row in report.get("media") or []]


def _appendix(report: dict[str, Any], evidence: _Evidence,
              shown_at: dict[str, str]) -> list[dict[str, Any]]:
    """Every evidence item, then every id cited but not listed. A picture shown elsewhere on the
    page (a keyframe in its strip, a face in its person's gallery) is linked, not repeated: only
    faces of no person have their crop here."""
    entries = []
    for item in report.get("evidence") or []:
        if not item.get("id"):
            continue
        kind = item.get("kind")
        detail = [item.get("text"), item.get("label"),
                  f"score {item['score']:.2f}" if isinstance(item.get("score"), (int, float))
                  else None,
                  f"speaker {item['speaker']}" if item.get("speaker") else None,
                  f"person {item['person_label']}" if item.get("person_label") else None,
                  f"box {item['box']}" if item.get("box") else None,
                  item.get("status") if kind == "vlm" else None]
        picture = (evidence.picture(item["id"])
                   if kind == "face" and item["id"] not in shown_at else None)
        entries.append({**cite(item["id"]), "kind": kind, "where": evidence.where(item),
                        "detail": " · ".join(str(d) for d in detail if d),
                        "picture": picture, "shown_at": shown_at.get(item["id"])})
    listed = {entry["id"] for entry in entries}
    cited = {k: v for k, v in report.items() if k != "evidence"}
    for evidence_id in dict.fromkeys(i for i in common.cited_ids(cited) if i not in listed):
        media_id = evidence_id.split(":")[1] if evidence_id.count(":") else ""
        entries.append({**cite(evidence_id), "kind": evidence_id.partition(":")[0],
                        "where": evidence.names.get(media_id, ""),
                        "detail": "cited, but not in this report's evidence list",
                        "picture": None, "shown_at": None})
    return entries
