"""Documents in the metadata database (a JSON column): the embedded default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from aima.storage.database import Database
from aima.storage.documents import Document
from aima.storage.models import DocumentRow


class SqlDocumentStore:
    def __init__(self, database: Database):
        self.database = database

    def put(
        self, case_id: str, stage: str, key: str, data: dict[str, Any], *, media_id: str | None = None
    ) -> None:
        with self.database.session() as session:
            row = session.scalars(
                select(DocumentRow).where(
                    DocumentRow.case_id == case_id, DocumentRow.stage == stage, DocumentRow.key == key
                )
            ).one_or_none()
            if row is None:
                session.add(
                    DocumentRow(case_id=case_id, stage=stage, key=key, media_id=media_id, data=data)
                )
            else:
                row.data = data
                row.media_id = media_id

    def get(self, case_id: str, stage: str, key: str) -> dict[str, Any] | None:
        with self.database.session() as session:
            return session.scalars(
                select(DocumentRow.data).where(
                    DocumentRow.case_id == case_id, DocumentRow.stage == stage, DocumentRow.key == key
                )
            ).one_or_none()

    def query(
        self, case_id: str, *, media_id: str | None = None, stage: str | None = None
    ) -> list[Document]:
        statement = select(DocumentRow).where(DocumentRow.case_id == case_id)
        if media_id is not None:
            statement = statement.where(DocumentRow.media_id == media_id)
        if stage is not None:
            statement = statement.where(DocumentRow.stage == stage)
        with self.database.session() as session:
            rows = session.scalars(statement.order_by(DocumentRow.stage, DocumentRow.key)).all()
            return [
                Document(case_id=r.case_id, stage=r.stage, key=r.key, media_id=r.media_id, data=r.data)
                for r in rows
            ]

    def delete_case(self, case_id: str) -> int:
        with self.database.session() as session:
            return session.execute(delete(DocumentRow).where(DocumentRow.case_id == case_id)).rowcount

    def count(self, case_id: str) -> int:
        with self.database.session() as session:
            return session.scalar(
                select(func.count()).select_from(DocumentRow).where(DocumentRow.case_id == case_id)
            )

    def close(self) -> None:
        """Nothing to close: the database is owned by the caller."""
