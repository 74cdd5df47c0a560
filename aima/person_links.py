"""Faces and voices together: "speaker-2 may be person-3", proposed by code, decided by a reviewer.

Case speakers (voices, ``link-speakers``) and case persons from faces (``link-persons``) are told
apart separately; nothing in either says that a voice belongs to a face. Code only proposes it:

**Co-occurrence.** A transcript segment of case speaker S in a video co-occurs with face person P
when the keyframes whose timestamps fall inside the segment (``start <= t <= end``) show faces,
every one of those keyframes shows exactly one face, and all those faces belong to P. A keyframe
without a face says nothing and is passed over; a keyframe with two or more faces, or with a face
of another person or of no person, makes the segment count for nobody (someone else may be the
one talking). A segment that no keyframe falls in counts for nobody either: between keyframes
nothing was seen.

**Proposal.** S may be P when S and P co-occur in at least :data:`MIN_CO_OCCURRENCES` segments
(in one file or several). ``score`` is the share of S's segments in the files whose faces were
analysed (videos) that co-occur with P: 1.0 when P is alone on screen whenever S speaks there. A
proposal cites the co-occurring segments and faces as ``evidence``. Being seen while a voice
talks is a hint, never proof (a person on screen may be listening to someone off screen); hence a
proposal, for a human to judge.

**Decisions.** A reviewer accepts (:func:`accept`, ``aima persons link CASE SPEAKER PERSON``) or
rejects (:func:`reject`, ``aima persons unlink ...``) a link, proposed or not. A decision is a
:class:`~aima.storage.models.PersonEdit` row (action ``link`` or ``unlink``, payload the two
keys) with an audit event, so it is kept across reruns like the reviewer's other corrections
(:mod:`aima.persons_edits`); the latest decision on a pair wins. A face person merged into another
since carries its decisions over to it. A speaker is one voice: it can be linked to one face
person at a time (a face person may have several speakers, when one voice was split).

:func:`links` merges proposals and decisions into the report's ``person_links``; only accepted
links join the persons' dossiers (:mod:`aima.report.dossiers`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from aima.persons_edits import (
    DOCUMENT as FACE_PERSONS, LINK_ACTIONS, PersonEditError, edits, list_persons,
)
from aima.storage import Stores, audit
from aima.storage.models import PersonEdit

MIN_CO_OCCURRENCES = 2
LINK, UNLINK = LINK_ACTIONS


# --- co-occurrences (pure) ----------------------------------------------------------------------


def co_occurrences(transcripts: Iterable[Mapping[str, Any]],
                   faces: Mapping[str, Mapping[str, Any]],
                   person_of: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every (speaker, face person) pair that co-occurs at least once, with its counts.

    ``transcripts``: the report's transcripts (segments with ``id``, ``start``, ``end`` and the
    case ``speaker``); ``faces``: the ``faces`` documents by media id; ``person_of``: face
    evidence id -> face person key. Returns ``{"speaker", "person", "co_occurrences", "score",
    "evidence"}`` dicts sorted by speaker and person (see the module docstring for the rule).
    """
    pairs: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
        lambda: {"segments": [], "faces": []})
    seen_segments: dict[str, int] = defaultdict(int)
    for transcript in transcripts:
        document = faces.get(transcript["media_id"])
        if not document:
            continue
        frames = _frames(document)
        for segment in transcript.get("segments", []):
            speaker = segment.get("speaker")
            if not speaker:
                continue
            seen_segments[speaker] += 1
            person, shown = _alone_on_screen(frames, segment["start"], segment["end"], person_of)
            if person:
                pairs[(speaker, person)]["segments"].append(segment["id"])
                pairs[(speaker, person)]["faces"] += shown
    return [
        {"speaker": speaker, "person": person, "co_occurrences": len(found["segments"]),
         "score": round(len(found["segments"]) / seen_segments[speaker], 3),
         "evidence": found["segments"] + found["faces"]}
        for (speaker, person), found in sorted(pairs.items(), key=lambda p: _order(p[0]))
    ]


def _frames(document: Mapping[str, Any]) -> list[tuple[float, list[str]]]:
    """A video's analysed keyframes as (timestamp, face ids); an image has no time and none."""
    found: dict[str, list[str]] = defaultdict(list)
    for face in document.get("faces", []):
        found[str(face["frame"])].append(face["id"])
    return [(frame["timestamp_s"], found.get(str(frame["frame"]), []))
            for frame in document.get("frames", []) if frame.get("timestamp_s") is not None]


def _alone_on_screen(frames: list[tuple[float, list[str]]], start: float, end: float,
                     person_of: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The one face person alone on screen in every keyframe with a face in ``[start, end]``."""
    inside = [ids for timestamp, ids in frames if start <= timestamp <= end and ids]
    if not inside or any(len(ids) != 1 for ids in inside):
        return None, []
    persons = {person_of.get(ids[0]) for ids in inside}
    if len(persons) != 1 or None in persons:
        return None, []
    return persons.pop(), [ids[0] for ids in inside]


# --- reading the stores -------------------------------------------------------------------------


def propose(stores: Stores, case_id: str) -> list[dict[str, Any]]:
    """The links code proposes: pairs with at least :data:`MIN_CO_OCCURRENCES` co-occurrences."""
    return [pair for pair in _table(stores, str(case_id))
            if pair["co_occurrences"] >= MIN_CO_OCCURRENCES]


def links(stores: Stores, case_id: str,
          transcripts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The report's ``person_links``: every proposed or decided pair with its ``status``
    (``proposed``, ``accepted`` or ``rejected``), counts, score, evidence and labels. A decided
    pair whose speaker or person no longer exists says so in ``note``. ``transcripts``: the
    report's, when the caller has them (else they are read again)."""
    case_id = str(case_id)
    table = {(p["speaker"], p["person"]): p for p in _table(stores, case_id, transcripts)}
    decided = decisions(stores, case_id)
    persons = {(row["modality"], row["key"]): row for row in list_persons(stores, case_id)}
    result = []
    for pair in sorted(set(decided) | {k for k, p in table.items()
                                       if p["co_occurrences"] >= MIN_CO_OCCURRENCES}, key=_order):
        speaker, person = pair
        found = table.get(pair) or {"co_occurrences": 0, "score": 0.0, "evidence": []}
        entry = {
            "speaker": speaker, "person": person,
            "speaker_label": (persons.get(("voice", speaker)) or {}).get("label"),
            "person_label": (persons.get(("face", person)) or {}).get("label"),
            "status": decided.get(pair, "proposed"),
            "co_occurrences": found["co_occurrences"], "score": found["score"],
            "evidence": found["evidence"],
        }
        gone = [key for key, modality in ((speaker, "voice"), (person, "face"))
                if (modality, key) not in persons]
        if gone:
            entry["note"] = f"{' and '.join(gone)} no longer exist{'s' if len(gone) == 1 else ''}"
        result.append(entry)
    return result


def decisions(stores: Stores, case_id: str) -> dict[tuple[str, str], str]:
    """(speaker, face person) -> ``accepted`` or ``rejected``: the latest decision on each pair,
    face persons followed through the merges made since."""
    merged: dict[str, str] = {}
    decided: dict[tuple[str, str], str] = {}
    history = edits(stores.metadata, str(case_id))
    for edit in history:
        if edit.action == "merge":
            merged[edit.payload["from"]] = edit.payload["into"]
    for edit in history:
        if edit.action in (LINK, UNLINK):
            pair = (edit.payload["speaker"], _current(edit.payload["person"], merged))
            decided[pair] = "accepted" if edit.action == LINK else "rejected"
    return decided


def _table(stores: Stores, case_id: str,
           transcripts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if transcripts is None:
        from aima.report import case_transcripts  # aima.report imports this module

        transcripts = case_transcripts(stores, case_id)
    linked = stores.documents.get(case_id, *FACE_PERSONS) or {}
    person_of = {face: person["key"] for person in linked.get("persons", [])
                 for face in person["faces"]}
    faces = {d.media_id: d.data for d in stores.documents.query(case_id, stage="faces")}
    return co_occurrences(transcripts, faces, person_of)


# --- a reviewer's decisions ---------------------------------------------------------------------


def accept(stores: Stores, case_id: str, speaker: str, person: str, *,
           actor: str) -> dict[str, Any]:
    """The reviewer says ``speaker`` is ``person``: the link joins the dossiers. Returns it."""
    return _decide(stores, str(case_id), speaker, person, LINK, actor)


def reject(stores: Stores, case_id: str, speaker: str, person: str, *,
           actor: str) -> dict[str, Any]:
    """The reviewer says ``speaker`` is not ``person`` (or takes an acceptance back)."""
    return _decide(stores, str(case_id), speaker, person, UNLINK, actor)


def _decide(stores: Stores, case_id: str, speaker_ref: str, person_ref: str, action: str,
            actor: str) -> dict[str, Any]:
    rows = list_persons(stores, case_id)
    speaker = _resolve(rows, speaker_ref, "voice")
    person = _resolve(rows, person_ref, "face")
    if action == LINK:
        taken = [other for (s, other), status in decisions(stores, case_id).items()
                 if s == speaker["key"] and status == "accepted" and other != person["key"]]
        if taken:
            raise PersonEditError(
                f"{speaker['key']} is linked to {taken[0]} already: one voice is one person. "
                f"Unlink it first, or merge {taken[0]} and {person['key']} if they are one person")
    edit_id = uuid.uuid4()
    payload = {"speaker": speaker["key"], "person": person["key"]}
    with stores.metadata.session() as session:
        session.add(PersonEdit(id=edit_id, case_id=uuid.UUID(case_id), action=action,
                               payload=payload, actor=actor))
    audit.record(stores.metadata, actor=actor, action=f"persons.{action}", case_id=case_id,
                 details={"edit_id": str(edit_id), **payload})
    return next(link for link in links(stores, case_id)
                if (link["speaker"], link["person"]) == (speaker["key"], person["key"]))


def _resolve(rows: list[dict[str, Any]], ref: str, modality: str) -> dict[str, Any]:
    """The case person of ``modality`` that ``ref`` names: key (``speaker-2``), number, label
    (any case) or id."""
    text = ref.strip()
    candidates = [row for row in rows if row["modality"] == modality]
    for row in candidates:
        number = row["key"].rsplit("-", 1)[-1]
        if text in (row["key"], row["id"], number) or text.lower() == row["label"].lower():
            return row
    what = "speaker (a voice)" if modality == "voice" else "person from faces"
    listed = ", ".join(f"{row['key']} ({row['label']})" for row in candidates) or "none"
    raise PersonEditError(f"no {what} {ref!r} in this case; there are: {listed}")


def _current(key: str, merged: Mapping[str, str]) -> str:
    seen = {key}
    while key in merged and merged[key] not in seen:
        key = merged[key]
        seen.add(key)
    return key


def _order(pair: tuple[str, str]) -> tuple:
    return tuple((key.rsplit("-", 1)[0], _number(key)) for key in pair)


def _number(key: str) -> int:
    try:
        return int(key.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0
