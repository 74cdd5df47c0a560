"""The audit log: every analysis, export and purge is written here.

Details are stored as given, so callers pass ids, counts and names, never secrets; ``record``
refuses keys that look like secrets as a second line of defence.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from aima.storage.database import Database
from aima.storage.models import AuditEvent

SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential", re.IGNORECASE)


def record(
    database: Database,
    *,
    actor: str,
    action: str,
    case_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit event in its own transaction."""
    details = details or {}
    leaked = [key for key in details if SECRET_KEY.search(key)]
    if leaked:
        raise ValueError(f"refusing to write secret-looking fields to the audit log: {leaked}")
    with database.session() as session:
        session.add(
            AuditEvent(
                actor=actor,
                action=action,
                case_id=uuid.UUID(str(case_id)) if case_id is not None else None,
                details=details,
            )
        )


def events(database: Database, case_id: uuid.UUID | str | None = None) -> list[AuditEvent]:
    """Audit events, oldest first; only one case's when ``case_id`` is given."""
    statement = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if case_id is not None:
        statement = statement.where(AuditEvent.case_id == uuid.UUID(str(case_id)))
    with database.session() as session:
        return list(session.scalars(statement))
