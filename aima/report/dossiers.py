"""Per-person dossiers computed by code: where each case person appears, what they said, which
restraint observations are at them, and whom a reviewer linked them to.

:func:`build` gives one dossier per case person (voice or face), each fact citing its evidence:

- ``appearances``: a voice person's speaker turns (citing their transcript segments); a face
  person's runs of consecutive keyframes showing the face, or the image
  (:func:`aima.report.timeline.face_runs`), citing the faces.
- ``said``: the transcript segments of a voice person's speaker; for a face person, the segments
  of the speakers a reviewer linked to it (``person_links`` with status ``accepted``; proposed or
  rejected links add nothing).
- ``restraints`` (face persons): the restraint observations of a frame the person's face is in,
  placed at the person when the observation's detector box overlaps the face
  (``basis: face``) or the region below it where the body is (``basis: below face``: from one
  face width left of the face to one right of it, down from the face's top to the bottom of the
  frame); an observation whose boxes are all elsewhere belongs to someone else. An observation
  without boxes (the vision-language model's alone) is placed by frame (``basis: same frame``),
  which is weaker when the frame shows several persons: ``persons_in_frame`` says how many faces
  were seen there. Indicators for a human reviewer, never a verdict.
- ``linked``: the labels of the persons a reviewer linked this one to.

Nothing here identifies anyone: a person is ``Person N`` / ``Speaker N`` or a reviewer's label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from aima.report.timeline import face_runs, keyframe_order, person_key

#: the region below a face where its body is: face widths to each side
BODY_SIDE_WIDTHS = 1.0


def build(persons: list[dict[str, Any]], evidence: list[dict[str, Any]],
          transcripts: list[dict[str, Any]], restraint_observations: Iterable[dict[str, Any]],
          person_links: Iterable[dict[str, Any]], *,
          media: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The report's ``dossiers`` from its parts (``media`` rows only lend the file names)."""
    names = {row["id"]: row.get("name") for row in media}
    names.update({t["media_id"]: t.get("name") for t in transcripts if t.get("name")})
    by_id = {item["id"]: item for item in evidence if item.get("id")}
    keys = {person["id"]: person_key(person, by_id) for person in persons}
    labels = {keys[p["id"]]: p["label"] for p in persons}
    accepted = [link for link in person_links if link.get("status") == "accepted"]
    linked: dict[str, list[str]] = defaultdict(list)
    speakers_of: dict[str, list[str]] = defaultdict(list)
    for link in accepted:
        linked[link["person"]].append(link["speaker"])
        linked[link["speaker"]].append(link["person"])
        speakers_of[link["person"]].append(link["speaker"])
    order = keyframe_order(evidence)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in face_runs(persons, evidence, order):
        runs[run["person"]].append(run)
    observations = list(restraint_observations)
    dossiers = []
    for person in persons:
        key = keys[person["id"]]
        voices = [key] if "voice" in person.get("modalities", []) else speakers_of[key]
        appearances = [
            {"media_id": a["media_id"], "name": names.get(a["media_id"]),
             "start_s": a["start_s"], "end_s": a["end_s"], "evidence": list(a["evidence"])}
            for a in person.get("appearances", []) if a.get("modality") == "voice"
        ] + [
            {"media_id": r["media_id"], "name": names.get(r["media_id"]), "start_s": r["start_s"],
             "end_s": r["end_s"], "evidence": r["evidence"]}
            for r in runs.get(key, [])
        ]
        dossiers.append({
            "person": key, "id": person["id"], "label": person["label"],
            "modalities": person.get("modalities", []),
            "appearances": sorted(appearances, key=lambda a: (str(a["name"]), a["media_id"],
                                                              a["start_s"] or 0.0)),
            "said": said(transcripts, voices, names),
            "restraints": restraints_at(runs.get(key, []), observations, by_id),
            "linked": [labels.get(k, k) for k in linked[key]],
        })
    return dossiers


def said(transcripts: Iterable[dict[str, Any]], speakers: list[str],
         names: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The transcript segments of ``speakers``, in file and time order."""
    if not speakers:
        return []
    found = []
    for transcript in transcripts:
        for segment in transcript.get("segments", []):
            if segment.get("speaker") in speakers:
                found.append({
                    "media_id": transcript["media_id"], "name": names.get(transcript["media_id"]),
                    "start_s": segment["start"], "end_s": segment["end"],
                    "speaker": segment["speaker"], "text": segment["text"].strip(),
                    "language": segment.get("language") or transcript.get("language"),
                    "evidence": [segment["id"]],
                })
    return sorted(found, key=lambda s: (str(s["name"]), s["media_id"], s["start_s"]))


def restraints_at(runs: list[dict[str, Any]], observations: list[dict[str, Any]],
                  evidence: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The restraint observations placed at the face person whose appearances are ``runs``."""
    faces = {(run["media_id"], str(face["frame"])): face
             for run in runs for face in (evidence[f] for f in run["evidence"] if f in evidence)}
    crowd: dict[tuple[str, str], int] = defaultdict(int)
    for item in evidence.values():
        if item.get("kind") == "face":
            crowd[(item["media_id"], str(item["frame"]))] += 1
    placed = []
    for observation in observations:
        where = (observation["media_id"], str(observation.get("frame")))
        face = faces.get(where)
        if face is None:
            continue
        basis = _basis(observation, face, evidence)
        if basis is None:
            continue
        placed.append({
            "media_id": observation["media_id"], "frame": observation.get("frame"),
            "timestamp_s": observation.get("timestamp_s"), "type": observation["type"],
            "support": observation.get("support"), "confidence": observation.get("confidence"),
            "basis": basis, "persons_in_frame": crowd[where],
            "requires_human_review": True,
            "evidence": list(dict.fromkeys([*observation.get("evidence", []), face["id"]])),
        })
    return placed


def _basis(observation: Mapping[str, Any], face: Mapping[str, Any],
           evidence: Mapping[str, dict[str, Any]]) -> str | None:
    """How an observation in the face's frame is placed at the face's person; None if it is not."""
    if face["id"] in observation.get("faces", []):
        return "face"
    boxes = [evidence[e]["box"] for e in observation.get("evidence", [])
             if e in evidence and evidence[e].get("kind") == "detection" and evidence[e].get("box")]
    if not boxes:
        return "same frame"
    if not face.get("box"):
        return None
    x, y, width, height = face["box"]
    bottom = (face.get("frame_size") or [None, None])[1] or y + 8 * height
    body = (x - BODY_SIDE_WIDTHS * width, y, x + (1 + BODY_SIDE_WIDTHS) * width, bottom)
    face_box = (x, y, x + width, y + height)
    for bx, by, bw, bh in boxes:
        box = (bx, by, bx + bw, by + bh)
        if _overlaps(box, face_box):
            return "face"
        if _overlaps(box, body):
            return "below face"
    return None


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])

