"""The case timeline: every observation of a case on one time axis, computed from the evidence.

:func:`build` returns the events, sorted, and the basis of the axis:

- **Within a file** events are placed by their own times: a keyframe's timestamp, a transcript
  segment's start and end, the first and last keyframe of a run of keyframes showing one person.
  An image's events are at 0 s of the image.
- **Across files** each file gets an origin. A file whose capture time is known (the container's
  ``creation_time`` tag of a video or audio file, the EXIF ``DateTimeOriginal`` of a photo, both
  read by :mod:`aima.media.probe`) starts at its capture time, measured from the earliest capture
  time in the case. EXIF times carry no time zone (AIMA does not read ``OffsetTimeOriginal``) and
  are taken as UTC, as container times are: a camera set to local time may be off by its zone.
  Dates before 1971 are clocks never set (the 1904 and 1970 epochs), not capture times.
  Files without a capture time follow the dated ones in ingest order, each starting where the one
  before it ends (its duration; an image lasts 0 s).
- ``timeline_basis.order`` says which of the two placed the files: ``capture_time`` (all known),
  ``ingest_order`` (none known) or ``mixed``; ``timeline_basis.media`` gives each file's origin and
  source.

Events (``kind``): ``keyframe`` (one per keyframe, described by the vision-language analysis of
that frame when there is one; an analysed image is one too), ``speech`` (one per transcript
segment: ``speaker-1: text``), ``face`` (one per run of consecutive keyframes, or one image,
in which a case person's face is seen), ``text`` (the OCR lines of one frame), ``restraint`` (one
per restraint observation: an indicator for a human reviewer) and ``vision`` (interactions or
visible distress the vision-language model reports in a frame). ``at`` is the event's start on
the case axis in seconds. An event keeps only the evidence ids that exist in the report's
``evidence`` list, and an event left without evidence is dropped.

:func:`complete_locators` fills in what the evidence items of the stages leave out: the picture
(thumbnail) of a frame-based item and the language of a transcript segment.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aima.evidence import IMAGE_FRAME, BadEvidenceId, parse
from aima.storage import Stores
from aima.storage.models import MediaItem

#: Order of kinds at one instant of one file: what is seen before what is found in it.
KINDS = ("keyframe", "face", "text", "vision", "restraint", "speech")
EARLIEST_CAPTURE_YEAR = 1971
EXIF_TIME_FORMAT = "%Y:%m:%d %H:%M:%S"
#: evidence kinds whose items are a place in a frame, and so get the frame's picture
FRAME_KINDS = ("face", "ocr", "vlm", "detection")


# --- the axis -----------------------------------------------------------------------------------


def capture_time(document: Mapping[str, Any] | None) -> datetime | None:
    """When a file was recorded, from its ``preprocess`` document; None when unknown.

    The document's ``captured_at`` (:mod:`aima.triage.capture`: EXIF with its offset, or
    QuickTime) comes first; EXIF without an offset is taken as UTC. A file time is not a capture
    time here. Older documents have only the probe's creation time or EXIF date.
    """
    captured = (document or {}).get("captured_at") or {}
    recorded = captured.get("utc") or captured.get("time")
    # A file's modification time changes whenever evidence is copied: the media row shows it,
    # labelled, but it does not place a file on the case axis.
    if recorded and captured.get("source") != "file":
        try:
            moment = datetime.fromisoformat(str(recorded))
        except ValueError:
            moment = None
        if moment is not None and moment.year >= EARLIEST_CAPTURE_YEAR:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    probe = (document or {}).get("probe") or {}
    moment = None
    if probe.get("creation_time"):
        try:
            moment = datetime.fromisoformat(str(probe["creation_time"]))
        except ValueError:
            moment = None
    taken = ((probe.get("image") or {}).get("exif") or {}).get("datetime_original")
    if moment is None and taken:
        try:
            moment = datetime.strptime(str(taken)[:19], EXIF_TIME_FORMAT)
        except ValueError:
            moment = None
    if moment is None or moment.year < EARLIEST_CAPTURE_YEAR:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time_source(document: Mapping[str, Any]) -> str:
    """Which metadata :func:`capture_time` took a file's time from."""
    source = (document.get("captured_at") or {}).get("source")
    return source if source and source != "file" else "probe"


def ingest_times(stores: Stores, case_id: str) -> dict[str, datetime]:
    """When each media item of the case was ingested (its row's creation), by media id."""
    with stores.metadata.session() as session:
        rows = session.execute(select(MediaItem.id, MediaItem.created_at)
                               .where(MediaItem.case_id == uuid.UUID(str(case_id))))
        return {str(media_id): _utc(created) for media_id, created in rows}


def axis(media: list[dict[str, Any]], preprocess_docs: Mapping[str, dict[str, Any]],
         ingested: Mapping[str, datetime | str] | None = None
         ) -> tuple[dict[str, float], dict[str, Any]]:
    """Each analysed file's start on the case axis, and the ``timeline_basis``.

    Only files with a ``preprocess`` document take a place. Ingest order is ``ingested`` (media
    id -> time), else the rows' ``ingested_at``, else the order of ``media``.
    """
    rows = [row for row in media if row["id"] in preprocess_docs]
    position = {row["id"]: n for n, row in enumerate(media)}

    def ingest_key(row: dict[str, Any]) -> tuple[str, int]:
        moment = (ingested or {}).get(row["id"]) or row.get("ingested_at")
        text = _utc(moment).isoformat() if isinstance(moment, datetime) else str(moment or "")
        return text, position[row["id"]]

    origins = {row["id"]: capture_time(preprocess_docs[row["id"]]) for row in rows}
    dated = [row for row in rows if origins[row["id"]] is not None]
    undated = sorted((row for row in rows if origins[row["id"]] is None), key=ingest_key)
    start: dict[str, float] = {}
    cursor = 0.0
    if dated:
        earliest = min(origins[row["id"]] for row in dated)
        for row in dated:
            start[row["id"]] = (origins[row["id"]] - earliest).total_seconds()
            cursor = max(cursor, start[row["id"]] + _duration(row, preprocess_docs[row["id"]]))
    for row in undated:
        start[row["id"]] = cursor
        cursor += _duration(row, preprocess_docs[row["id"]])
    order = ("capture_time" if not undated else "ingest_order" if not dated else "mixed")
    placed = sorted(dated, key=lambda row: (start[row["id"]], ingest_key(row))) + undated
    basis = {"order": order, "media": [
        {"media_id": row["id"], "name": row.get("name"),
         "origin": origins[row["id"]].isoformat() if origins[row["id"]] else None,
         "source": "capture_time" if origins[row["id"]] else "ingest_order",
         "time_source": _time_source(preprocess_docs[row["id"]]) if origins[row["id"]] else None,
         "start_s": round(start[row["id"]], 3)}
        for row in placed]}
    return start, basis


# --- the events ---------------------------------------------------------------------------------


def build(media: list[dict[str, Any]], evidence: list[dict[str, Any]],
          persons: list[dict[str, Any]], transcripts: list[dict[str, Any]],
          preprocess_docs: Mapping[str, dict[str, Any]], *,
          frames: Iterable[dict[str, Any]] = (),
          restraint_observations: Iterable[dict[str, Any]] = (),
          ingested: Mapping[str, datetime | str] | None = None,
          ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(timeline, timeline_basis)`` from the report's parts (see the module docstring).

    ``media``: the media rows; ``evidence``: the report's evidence list (keyframes, faces with
    their ``person``, OCR lines, ...); ``persons``: the case persons, whose face appearances make
    the ``face`` events; ``transcripts``: the report's transcripts (case speakers on segments);
    ``preprocess_docs``: the ``preprocess`` documents by media id (probe, keyframes).
    ``frames`` are the report's vision-language analyses (``report["frames"]``) and
    ``restraint_observations`` its restraint observations; both may be left out. ``ingested``
    (:func:`ingest_times`) gives the ingest order; without it, rows' ``ingested_at`` or their
    order in ``media``.
    """
    start, basis = axis(media, preprocess_docs, ingested)
    names = {row["id"]: row.get("name") for row in media}
    known = {item["id"] for item in evidence if item.get("id")}
    events: list[dict[str, Any]] = []

    def add(media_id: str, kind: str, start_s: float | None, end_s: float | None,
            description: str, cites: Iterable[str | None], **who: str | None) -> None:
        cited = list(dict.fromkeys(c for c in cites if c and c in known))
        if media_id not in start or not cited:
            return
        offset = start_s or 0.0
        events.append({
            "at": round(start[media_id] + offset, 3), "media_id": media_id,
            "name": names.get(media_id), "start_s": round(offset, 3),
            "end_s": None if end_s is None else round(end_s, 3), "kind": kind,
            "description": description, **{k: v for k, v in who.items() if v},
            "evidence": cited,
        })

    analyses = {(f["media_id"], str(f["frame"])): f for f in frames}
    for item in evidence:
        if item.get("kind") == "keyframe":
            frame = parse(item["id"]).parts[0]
            analysis = analyses.get((item["media_id"], frame))
            add(item["media_id"], "keyframe", item.get("timestamp_s"), None,
                frame_description(analysis) or f"keyframe {frame}",
                [item["id"], analysis and analysis["id"]])
    for (media_id, frame), analysis in analyses.items():
        if frame == IMAGE_FRAME:
            add(media_id, "keyframe", 0.0, None, frame_description(analysis) or "the image",
                [analysis["id"]])
        findings = vision_findings(analysis.get("analysis"))
        if findings:
            add(media_id, "vision", analysis.get("timestamp_s"), None, findings, [analysis["id"]])
    for transcript in transcripts:
        for segment in transcript.get("segments", []):
            speaker = segment.get("speaker")
            text = segment["text"].strip()
            add(transcript["media_id"], "speech", segment["start"], segment["end"],
                f"{speaker}: {text}" if speaker else text, [segment["id"]], speaker=speaker)
    for run in face_runs(persons, evidence):
        add(run["media_id"], "face", run["start_s"], run["end_s"],
            f"{run['label'] or run['person']} on screen", run["evidence"], person=run["person"])
    lines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in evidence:
        if item.get("kind") == "ocr":
            lines[(item["media_id"], str(item.get("frame")))].append(item)
    for (media_id, _), found in lines.items():
        add(media_id, "text", found[0].get("timestamp_s"), None,
            "text: " + " / ".join(f'"{line["text"]}"' for line in found),
            [line["id"] for line in found])
    for observation in restraint_observations:
        add(observation["media_id"], "restraint", observation.get("timestamp_s"), None,
            f"{observation['type']} reported by {' and '.join(observation.get('signals', []))}"
            " (an indicator for a human reviewer, not a verdict)", observation.get("evidence", []))
    rank = {kind: n for n, kind in enumerate(KINDS)}
    media_rank = {entry["media_id"]: n for n, entry in enumerate(basis["media"])}
    events.sort(key=lambda e: (e["at"], media_rank[e["media_id"]], e["start_s"], rank[e["kind"]],
                               e["end_s"] if e["end_s"] is not None else e["start_s"],
                               e["evidence"][0]))
    return events, basis


def keyframe_order(evidence: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Each video's keyframe numbers (as strings) in time order, from the keyframe evidence."""
    frames: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for item in evidence:
        if item.get("kind") == "keyframe":
            frames[item["media_id"]].append((item.get("timestamp_s") or 0.0,
                                             parse(item["id"]).parts[0]))
    return {media_id: [frame for _, frame in sorted(found)] for media_id, found in frames.items()}


def person_key(person: Mapping[str, Any], evidence_by_id: Mapping[str, dict[str, Any]]) -> str:
    """A case person's key (``speaker-1``, ``person-3``): its ``key`` or ``speaker_id`` when the
    persons list gives it, else the person its face evidence names, else its id."""
    if person.get("key") or person.get("speaker_id"):
        return person.get("key") or person["speaker_id"]
    for appearance in person.get("appearances", []):
        for cited in appearance.get("evidence", []):
            named = (evidence_by_id.get(cited) or {}).get("person")
            if named:
                return named
    return person["id"]


def face_runs(persons: Iterable[dict[str, Any]], evidence: Iterable[dict[str, Any]],
              order: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """The case persons' faces grouped into appearances: per person and media item, each run of
    consecutive keyframes (in ``order``, from :func:`keyframe_order`) that all show the person is
    one appearance, from its first to its last keyframe; an image is one appearance at 0 s.

    Each run: ``person`` (key), ``label``, ``media_id``, ``start_s``, ``end_s``, ``frames`` and
    ``evidence`` (its face ids)."""
    evidence = list(evidence)
    by_id = {item["id"]: item for item in evidence if item.get("id")}
    order = keyframe_order(evidence) if order is None else order
    runs = []
    for person in persons:
        shown: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for appearance in person.get("appearances", []):
            for cited in appearance.get("evidence", []):
                face = by_id.get(cited)
                if face and face.get("kind") == "face":
                    shown[face["media_id"]][str(face["frame"])].append(face)
        if not shown:
            continue
        key = person_key(person, by_id)
        for media_id, by_frame in shown.items():
            position = {frame: n for n, frame in enumerate(order.get(media_id, []))}
            current: list[str] = []
            for frame in sorted(by_frame, key=lambda f: position.get(f, -1)):
                if current and position.get(frame, -1) != position.get(current[-1], -1) + 1:
                    runs.append(_run(media_id, key, person.get("label"), current, by_frame))
                    current = []
                current.append(frame)
            runs.append(_run(media_id, key, person.get("label"), current, by_frame))
    return sorted(runs, key=lambda r: (r["media_id"], r["start_s"], r["person"]))


def _run(media_id: str, person: str, label: str | None, frames: list[str],
         by_frame: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    times = [by_frame[f][0].get("timestamp_s") for f in frames]
    return {"media_id": media_id, "person": person, "label": label,
            "start_s": times[0] if times[0] is not None else 0.0,
            "end_s": times[-1] if times[-1] is not None else 0.0, "frames": frames,
            "evidence": [face["id"] for f in frames for face in by_frame[f]]}


def frame_description(frame: Mapping[str, Any] | None) -> str | None:
    """A short line from one vision-language analysis: place, persons and their postures."""
    analysis = (frame or {}).get("analysis")
    if not analysis:
        return None
    scene = analysis.get("scene") or {}
    place = ", ".join(p for p in (scene.get("place"), scene.get("setting"),
                                  scene.get("lighting")) if p and p != "unknown")
    count = analysis.get("person_count", 0)
    people = f"{count} person" + ("" if count == 1 else "s")
    postures = [p.get("posture") for p in analysis.get("persons", []) if p.get("posture")]
    if postures:
        people += " (" + "; ".join(postures) + ")"
    return "; ".join(part for part in (place, people) if part)


def vision_findings(analysis: Mapping[str, Any] | None) -> str | None:
    """Interactions and visible distress of one analysis, as one line; None when it has none."""
    if not analysis:
        return None
    parts = [f"interaction: {text}" for text in analysis.get("interactions", []) if text.strip()]
    for number, person in enumerate(analysis.get("persons", []), start=1):
        signs = [sign for sign in person.get("visible_distress", []) if sign.strip()]
        if signs:
            parts.append(f"visible distress on person {number}: {', '.join(signs)}")
    return "; ".join(parts) or None


# --- locators -----------------------------------------------------------------------------------


def complete_locators(evidence: list[dict[str, Any]], preprocess_docs: Mapping[str, dict[str, Any]],
                      transcripts: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The evidence items with what their stage left out of the locator, in place and returned:

    - ``thumbnail_key`` (and ``object_key``, the analysed picture) of the keyframe or image that
      a face, OCR line, frame analysis or detection is in;
    - ``language`` of a transcript segment (the segment's own, else its transcript's).
    """
    pictures: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for media_id, document in preprocess_docs.items():
        for frame in document.get("keyframes", []):
            pictures[(media_id, str(frame["index"]))] = (frame.get("key"),
                                                         frame.get("thumbnail_key"))
        if not document.get("keyframes") and document.get("thumbnail_key"):
            pictures[(media_id, IMAGE_FRAME)] = (None, document["thumbnail_key"])
    languages = {segment["id"]: segment.get("language") or transcript.get("language")
                 for transcript in transcripts for segment in transcript.get("segments", [])}
    for item in evidence:
        if item.get("kind") in FRAME_KINDS:
            frame = item.get("frame")
            if frame is None:
                try:
                    frame = parse(item["id"]).parts[0]
                except (BadEvidenceId, KeyError):
                    continue
            picture, thumbnail = pictures.get((item["media_id"], str(frame)), (None, None))
            if thumbnail and not item.get("thumbnail_key"):
                item["thumbnail_key"] = thumbnail
            if picture and not item.get("object_key"):
                item["object_key"] = picture
        elif item.get("id") in languages and not item.get("language"):
            item["language"] = languages[item["id"]]
    return evidence


def _duration(row: Mapping[str, Any], document: Mapping[str, Any]) -> float:
    probe = document.get("probe") or {}
    return float(row.get("duration_s") or probe.get("duration_s") or 0.0)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
