"""The document store: raw stage outputs, fused reports and dossiers as JSON documents.

A document is addressed by (case id, stage, key) and may name the media item it belongs to.
Two backends pass the same contract tests: the metadata database (JSON column, the embedded
default) and MongoDB.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel


class Document(BaseModel):
    case_id: str
    stage: str
    key: str
    media_id: str | None = None
    data: dict[str, Any]


class DocumentStore(Protocol):
    def put(
        self, case_id: str, stage: str, key: str, data: dict[str, Any], *, media_id: str | None = None
    ) -> None:
        """Insert or replace the document at (case_id, stage, key)."""

    def get(self, case_id: str, stage: str, key: str) -> dict[str, Any] | None:
        """The document's data, or None."""

    def query(
        self, case_id: str, *, media_id: str | None = None, stage: str | None = None
    ) -> list[Document]:
        """A case's documents, optionally only one media item's or one stage's, ordered by key."""

    def delete_case(self, case_id: str) -> int:
        """Remove every document of a case; returns how many were removed."""

    def count(self, case_id: str) -> int:
        """How many documents a case has."""

    def close(self) -> None: ...
