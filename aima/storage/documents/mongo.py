"""Documents in MongoDB (pymongo)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pymongo import ASCENDING, MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from aima.errors import StoreUnavailable
from aima.storage.documents import Document

SETTING = "AIMA_DOCUMENTS_URL"
COLLECTION = "documents"


class MongoDocumentStore:
    def __init__(self, url: str, database: str = "aima", *, connect_timeout_s: float = 5.0):
        timeout_ms = int(connect_timeout_s * 1000)
        parts = urlsplit(url)
        where = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else url
        try:
            self.client: MongoClient = MongoClient(
                url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True
            )
            self.collection = self.client[database][COLLECTION]
            self.client.admin.command("ping")
            self.collection.create_index(
                [("case_id", ASCENDING), ("stage", ASCENDING), ("key", ASCENDING)],
                unique=True,
                name="uq_document_key",
            )
            self.collection.create_index([("case_id", ASCENDING), ("media_id", ASCENDING)])
        except OperationFailure as exc:
            if exc.code in (13, 18):  # Unauthorized, AuthenticationFailed
                raise StoreUnavailable(SETTING, f"MongoDB at {where} rejected the credentials") from None
            raise StoreUnavailable(SETTING, f"MongoDB at {where}: {exc.details or exc}") from None
        except PyMongoError:
            raise StoreUnavailable(
                SETTING, f"cannot reach MongoDB at {where} within {connect_timeout_s:g} s"
            ) from None

    def put(
        self, case_id: str, stage: str, key: str, data: dict[str, Any], *, media_id: str | None = None
    ) -> None:
        address = {"case_id": case_id, "stage": stage, "key": key}
        self.collection.replace_one(address, {**address, "media_id": media_id, "data": data}, upsert=True)

    def get(self, case_id: str, stage: str, key: str) -> dict[str, Any] | None:
        found = self.collection.find_one({"case_id": case_id, "stage": stage, "key": key}, {"data": 1})
        return None if found is None else found["data"]

    def query(
        self, case_id: str, *, media_id: str | None = None, stage: str | None = None
    ) -> list[Document]:
        selector: dict[str, Any] = {"case_id": case_id}
        if media_id is not None:
            selector["media_id"] = media_id
        if stage is not None:
            selector["stage"] = stage
        cursor = self.collection.find(selector, {"_id": 0}).sort([("stage", 1), ("key", 1)])
        return [Document(**doc) for doc in cursor]

    def delete_case(self, case_id: str) -> int:
        return self.collection.delete_many({"case_id": case_id}).deleted_count

    def count(self, case_id: str) -> int:
        return self.collection.count_documents({"case_id": case_id})

    def close(self) -> None:
        self.client.close()
