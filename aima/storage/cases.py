"""Finding and creating cases by name or id."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from aima.errors import NotFound
from aima.storage.database import Database
from aima.storage.models import Case


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def find_case(database: Database, name_or_id: str) -> Case | None:
    """The case with this id or name, or None."""
    case_id = parse_uuid(name_or_id)
    with database.session() as session:
        if case_id is not None:
            found = session.get(Case, case_id)
            if found is not None:
                return found
        return session.scalars(select(Case).where(Case.name == name_or_id)).one_or_none()


def get_case(database: Database, name_or_id: str) -> Case:
    case = find_case(database, name_or_id)
    if case is None:
        raise NotFound(f"no case named or with id {name_or_id!r}")
    return case


def get_or_create_case(database: Database, name: str) -> Case:
    """The case called ``name``, created if it does not exist yet."""
    existing = find_case(database, name)
    if existing is not None:
        return existing
    with database.session() as session:
        case = Case(name=name)
        session.add(case)
    return case


def set_case_context(database: Database, case_id, context: str) -> None:
    """Keep ``context`` (what the case owner tells the models about the case) on the case."""
    with database.session() as session:
        session.get(Case, uuid.UUID(str(case_id))).context = context
