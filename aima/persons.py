"""Case persons and where they appear: one model shared by voice linking, face linking and fusion.

A case person is a cluster of voices and/or faces that the linking stages found alike within one
case. It has a label (``Speaker 1``, later ``Person 1``), a cluster key saying which clustering
made it (``voice:speaker-1``) and appearances: a media item, a time range and the evidence ids it
rests on. A person is never an identity: nothing here names anyone.

Each linking stage owns the persons of its modality and replaces them on every run; person ids
derive from the case id and the cluster key, so they are stable across reruns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from aima.storage.database import Database
from aima.storage.models import CasePerson, PersonAppearance

MODALITIES = ("voice", "face")


@dataclass(frozen=True)
class Appearance:
    media_id: str
    start_s: float | None
    end_s: float | None
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LinkedPerson:
    """One cluster of a linking stage: its key within the modality, label and appearances."""

    key: str  # e.g. "speaker-1"
    label: str  # e.g. "Speaker 1"
    appearances: Sequence[Appearance]


def person_id(case_id: str, key: str) -> uuid.UUID:
    """The stable id of a case person made from cluster ``key``."""
    return uuid.uuid5(uuid.UUID(str(case_id)), key)


def replace_persons(database: Database, case_id: str, modality: str,
                    persons: Sequence[LinkedPerson]) -> None:
    """Replace the case persons made by ``modality``'s linking with ``persons``."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    case_uuid = uuid.UUID(str(case_id))
    with database.session() as session:
        owned = select(CasePerson.id).where(
            CasePerson.case_id == case_uuid, CasePerson.cluster_key.like(f"{modality}:%"))
        session.execute(delete(PersonAppearance).where(PersonAppearance.person_id.in_(owned)))
        session.execute(delete(CasePerson).where(CasePerson.id.in_(owned)))
        for linked in persons:
            person = CasePerson(id=person_id(case_id, linked.key), case_id=case_uuid,
                                label=linked.label, cluster_key=f"{modality}:{linked.key}")
            session.add(person)
            session.add_all(
                PersonAppearance(person_id=person.id, media_id=uuid.UUID(a.media_id),
                                 modality=modality, start_s=a.start_s, end_s=a.end_s,
                                 evidence=list(a.evidence))
                for a in linked.appearances)


def case_persons(database: Database, case_id: str) -> list[dict[str, Any]]:
    """The case's persons with their appearances, ordered by label (as the report lists them)."""
    with database.session() as session:
        people = session.scalars(
            select(CasePerson).where(CasePerson.case_id == uuid.UUID(str(case_id)))
            .order_by(CasePerson.label)
        ).all()
        result = []
        for person in people:
            appearances = sorted(person.appearances, key=lambda a: (str(a.media_id), a.start_s or 0))
            modality, _, key = (person.cluster_key or "").partition(":")
            result.append({
                "id": str(person.id),
                "label": person.label,
                "speaker_id": key if modality == "voice" else None,
                "modalities": sorted({a.modality for a in appearances}),
                "appearances": [
                    {"media_id": str(a.media_id), "modality": a.modality, "start_s": a.start_s,
                     "end_s": a.end_s, "evidence": a.evidence}
                    for a in appearances
                ],
            })
    return result
