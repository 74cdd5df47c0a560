"""A reviewer's corrections to the case persons made from faces, kept across reruns.

``link-persons`` clusters a case's faces into persons ``person-1``, ``person-2``, ... (the *raw*
clusters, stored in the ``link-persons`` case document). A reviewer corrects them with

- :func:`merge` (A and B are one person: B's faces go to A),
- :func:`split` (these faces of A are someone else: they become a new person),
- :func:`not_same` (A and B are different persons: clustering never joins them again),
- :func:`rename` (A's label, e.g. "Man in red jacket"; the key stays).

Each correction is a :class:`~aima.storage.models.PersonEdit` row with its actor, and an audit
event. :func:`publish` applies every edit, oldest first, to the raw clusters and writes the
result to the case persons (:func:`aima.persons.replace_persons`) and the document; the stage
calls it after every clustering and each edit calls it at once, so corrections survive reruns,
re-clustering and files added to the case. Edits name persons by key; keys are carried over
between clusterings by shared faces, so a key keeps meaning the same person. An edit that no
longer fits (its person is gone, or a merge would put two faces of one frame in one person) is
listed under ``edits.not_applied`` with the reason, never silently dropped.

Two more kinds of edit live in the same table but change no face cluster: ``link`` and
``unlink``, a reviewer's decisions on "this speaker is this face person"
(:mod:`aima.person_links`). :func:`publish` passes over them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from aima.persons import Appearance, LinkedPerson, person_id, replace_persons
from aima.storage import Stores, audit
from aima.storage.database import Database
from aima.storage.models import CasePerson, PersonEdit
from aima.vision.face_clusters import key_number

DOCUMENT = ("link-persons", "case")  # (stage, key) of the case document
FACE = "face"
#: edits about a speaker and a face person (aima.person_links), not about the face clusters
LINK_ACTIONS = ("link", "unlink")


class PersonEditError(ValueError):
    """A correction that cannot be made; the message says why, for the reviewer."""


def default_label(key: str) -> str:
    return f"Person {key_number(key)}"


# --- reading ------------------------------------------------------------------------------------


def list_persons(stores: Stores, case_id: str) -> list[dict[str, Any]]:
    """Every case person (faces and voices) with appearance counts, faces first, by number."""
    with stores.metadata.session() as session:
        people = session.scalars(
            select(CasePerson).where(CasePerson.case_id == uuid.UUID(str(case_id)))).all()
        rows = []
        for person in people:
            modality, _, key = (person.cluster_key or "").partition(":")
            rows.append({
                "id": str(person.id), "key": key, "label": person.label, "modality": modality,
                "appearances": len(person.appearances),
                "media": len({a.media_id for a in person.appearances}),
            })
    return sorted(rows, key=lambda r: (r["modality"] != FACE, r["modality"], _number(r["key"])))


def edits(database: Database, case_id: str) -> list[PersonEdit]:
    """The case's person edits, oldest first."""
    with database.session() as session:
        return list(session.scalars(
            select(PersonEdit).where(PersonEdit.case_id == uuid.UUID(str(case_id)))
            .order_by(PersonEdit.created_at)))


def clustering_constraints(database: Database, case_id: str) -> tuple[list[tuple], int]:
    """What clustering must respect: the face sets of every ``not-same`` edit, and the highest
    person number a ``split`` has taken (never given to a new cluster)."""
    apart, used = [], 0
    for edit in edits(database, case_id):
        if edit.action == "not-same":
            apart.append((edit.payload["faces_a"], edit.payload["faces_b"]))
        elif edit.action == "split":
            used = max(used, key_number(edit.payload["new"]))
    return apart, used


# --- corrections --------------------------------------------------------------------------------


def merge(stores: Stores, case_id: str, a: str, b: str, *, actor: str) -> dict[str, Any]:
    """B is the same person as A: B's faces join A, B disappears. Returns A."""
    document = _document(stores, case_id)
    into, other = _resolve(document, case_id, a), _resolve(document, case_id, b)
    if into["key"] == other["key"]:
        raise PersonEditError(f"{a!r} and {b!r} are the same person already")
    clash = _same_frame(into["faces"], other["faces"])
    if clash:
        raise PersonEditError(f"{into['label']} and {other['label']} are both in one frame "
                              f"({clash[0]}, {clash[1]}): they cannot be one person")
    _record(stores, case_id, actor, "merge", {"into": into["key"], "from": other["key"]})
    return _person(publish(stores, case_id), into["key"])


def split(stores: Stores, case_id: str, a: str, faces: list[str], *, actor: str) -> dict[str, Any]:
    """``faces`` (face evidence ids) of A are someone else: they become a new person, returned."""
    document = _document(stores, case_id)
    person = _resolve(document, case_id, a)
    chosen = list(dict.fromkeys(faces))
    foreign = [face for face in chosen if face not in person["faces"]]
    if not chosen or foreign:
        missing = ", ".join(foreign) or "(none given)"
        raise PersonEditError(f"{person['label']} has no face {missing}; its faces: "
                              + ", ".join(person["faces"]))
    if len(chosen) == len(person["faces"]):
        raise PersonEditError(f"that is every face of {person['label']}: rename it instead")
    _, used = clustering_constraints(stores.metadata, case_id)
    new = f"person-{max(used, document.get('last_number', 0)) + 1}"
    _record(stores, case_id, actor, "split", {"person": person["key"], "faces": chosen, "new": new})
    return _person(publish(stores, case_id), new)


def not_same(stores: Stores, case_id: str, a: str, b: str, *, actor: str) -> None:
    """A and B are different persons: no later clustering puts their faces together."""
    document = _document(stores, case_id)
    first, second = _resolve(document, case_id, a), _resolve(document, case_id, b)
    if first["key"] == second["key"]:
        raise PersonEditError(f"{a!r} and {b!r} are one person: split it instead")
    _record(stores, case_id, actor, "not-same", {
        "a": first["key"], "b": second["key"],
        "faces_a": list(first["faces"]), "faces_b": list(second["faces"])})
    publish(stores, case_id)


def rename(stores: Stores, case_id: str, a: str, label: str, *, actor: str) -> dict[str, Any]:
    """Give A the label ``label`` (its key stays). Returns A."""
    label = " ".join(label.split())
    if not label or len(label) > 100:
        raise PersonEditError("a label is 1 to 100 characters")
    person = _resolve(_document(stores, case_id), case_id, a)
    _record(stores, case_id, actor, "rename", {"person": person["key"], "label": label})
    return _person(publish(stores, case_id), person["key"])


# --- applying -----------------------------------------------------------------------------------


def publish(stores: Stores, case_id: str) -> dict[str, Any]:
    """Apply every edit to the stored clusters; write the persons and the document. Returns it."""
    document = stores.documents.get(case_id, *DOCUMENT)
    if document is None:
        return {}
    faces = face_index(stores, case_id, document["model_id"])
    persons = {c["key"]: [f for f in c["faces"] if f in faces] for c in document["clusters"]}
    labels: dict[str, str] = {}
    alias: dict[str, str] = {}
    applied, not_applied = [], []
    for edit in edits(stores.metadata, case_id):
        if edit.action in LINK_ACTIONS:
            continue
        reason = _apply(edit.action, edit.payload, persons, labels, alias, faces)
        entry = {"id": str(edit.id), "action": edit.action, "actor": edit.actor,
                 "payload": {k: v for k, v in edit.payload.items() if not k.startswith("faces_")}}
        (not_applied.append({**entry, "reason": reason}) if reason else applied.append(entry))
    order = {face: (info["media_id"], info["timestamp_s"] or 0.0, str(info["frame"]), info["n"])
             for face, info in faces.items()}
    document["persons"] = [
        {"key": key, "id": str(person_id(case_id, key)),
         "label": labels.get(key, default_label(key)), "faces": sorted(members, key=order.get)}
        for key, members in sorted(persons.items(), key=lambda item: key_number(item[0]))
        if members]
    document["edits"] = {"applied": applied, "not_applied": not_applied}
    document["counts"] = {
        "faces": len(faces), "embedded": sum(1 for f in faces.values() if f["embedded"]),
        "persons": len(document["persons"]),
        "unassigned": sum(1 for f in document["unassigned"] if f in faces),
        "edits_not_applied": len(not_applied),
    }
    stores.documents.put(case_id, *DOCUMENT, document)
    replace_persons(stores.metadata, case_id, FACE, [
        LinkedPerson(key=person["key"], label=person["label"], appearances=[
            Appearance(faces[f]["media_id"], faces[f]["timestamp_s"], faces[f]["timestamp_s"], [f])
            for f in person["faces"]])
        for person in document["persons"]])
    return document


def face_index(stores: Stores, case_id: str, model_id: str) -> dict[str, dict[str, Any]]:
    """Every face the case's ``faces`` documents of ``model_id`` list: evidence id -> its entry
    (with ``media_id``)."""
    found = {}
    for document in stores.documents.query(case_id, stage="faces"):
        if document.data.get("model_id") == model_id:
            for face in document.data.get("faces", []):
                found[face["id"]] = {**face, "media_id": document.media_id}
    return found


def _apply(action: str, payload: dict, persons: dict[str, list[str]], labels: dict[str, str],
           alias: dict[str, str], faces: dict[str, dict]) -> str | None:
    """Apply one edit in place; returns why it could not be applied, or None."""

    def current(key: str) -> str:
        while key in alias:
            key = alias[key]
        return key

    if action == "merge":
        into, other = current(payload["into"]), current(payload["from"])
        if into == other:
            return None  # one person already
        missing = [k for k in (into, other) if not persons.get(k)]
        if missing:
            return f"{', '.join(missing)} no longer exists"
        frames = {(faces[f]["media_id"], str(faces[f]["frame"])) for f in persons[into]}
        if any((faces[f]["media_id"], str(faces[f]["frame"])) in frames for f in persons[other]):
            return f"{into} and {other} now share a frame"
        persons[into] += persons.pop(other)
        alias[other] = into
        if other in labels and into not in labels:
            labels[into] = labels[other]
    elif action == "split":
        moving = [f for f in payload["faces"] if any(f in members for members in persons.values())]
        if not moving:
            return "none of its faces is in a person any more"
        for key in persons:
            persons[key] = [f for f in persons[key] if f not in moving]
        persons[payload["new"]] = moving
    elif action == "rename":
        key = current(payload["person"])
        if not persons.get(key):
            return f"{key} no longer exists"
        labels[key] = payload["label"]
    elif action != "not-same":  # not-same is applied by the clustering itself
        return f"unknown edit {action!r}"
    return None


def _document(stores: Stores, case_id: str) -> dict[str, Any]:
    document = stores.documents.get(case_id, *DOCUMENT)
    if not document or not document.get("persons"):
        raise PersonEditError("this case has no persons from faces yet (run link-persons)")
    return document


def _resolve(document: dict[str, Any], case_id: str, ref: str) -> dict[str, Any]:
    """The published face person that ``ref`` names: key (``person-3``), number (``3``), label
    (any case) or id."""
    text = ref.strip()
    for person in document["persons"]:
        if text in (person["key"], person["id"], person["key"].removeprefix("person-")) or \
                text.lower() == person["label"].lower():
            return person
    raise PersonEditError(f"no person {ref!r} from faces in this case; persons: "
                          + ", ".join(f"{p['key']} ({p['label']})" for p in document["persons"]))


def _same_frame(first: list[str], second: list[str]) -> tuple[str, str] | None:
    frame_of = {face: face.rsplit(":", 1)[0] for face in first + second}  # face:<media>:<frame>
    frames = {frame_of[f]: f for f in first}
    return next(((frames[frame_of[f]], f) for f in second if frame_of[f] in frames), None)


def _record(stores: Stores, case_id: str, actor: str, action: str, payload: dict) -> None:
    edit_id = uuid.uuid4()
    with stores.metadata.session() as session:
        session.add(PersonEdit(id=edit_id, case_id=uuid.UUID(str(case_id)), action=action,
                               payload=payload, actor=actor))
    details = {"edit_id": str(edit_id), **{k: (len(v) if isinstance(v, list) else v)
                                      for k, v in payload.items()}}
    audit.record(stores.metadata, actor=actor, action=f"persons.{action}", case_id=case_id,
                 details=details)


def _person(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in document["persons"] if p["key"] == key)


def _number(key: str) -> int:
    try:
        return key_number(key)
    except (IndexError, ValueError):
        return 0
