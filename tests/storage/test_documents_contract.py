"""The document-store contract, run against every backend: SQL on SQLite, SQL on PostgreSQL,
and MongoDB (a real wire-protocol server)."""

from __future__ import annotations

import uuid

import pytest

from aima.storage.database import Database
from aima.storage.documents.mongo import MongoDocumentStore
from aima.storage.documents.sql import SqlDocumentStore


@pytest.fixture(params=["sql-sqlite", "sql-postgresql", "mongodb"])
def store(request, tmp_path):
    if request.param == "sql-sqlite":
        database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
        yield SqlDocumentStore(database)
        database.dispose()
    elif request.param == "sql-postgresql":
        database = Database(request.getfixturevalue("postgres").create_database())
        yield SqlDocumentStore(database)
        database.dispose()
    else:
        server = request.getfixturevalue("mongo_server")
        documents = MongoDocumentStore(server.url, "aima_" + uuid.uuid4().hex[:8])
        yield documents
        documents.close()


def test_put_then_get_returns_the_same_nested_data(store, case_id):
    data = {"segments": [{"start": 0.5, "text": "hello", "words": [{"w": "hello", "p": 0.9}]}],
            "language": "en", "unicode": "Grüße ✓"}
    store.put(case_id, "transcribe", "m1", data, media_id="m1")
    assert store.get(case_id, "transcribe", "m1") == data


def test_get_of_a_missing_document_is_none(store, case_id):
    assert store.get(case_id, "transcribe", "nothing") is None


def test_put_at_the_same_address_replaces(store, case_id):
    store.put(case_id, "vision", "k", {"v": 1}, media_id="m1")
    store.put(case_id, "vision", "k", {"v": 2}, media_id="m1")
    assert store.get(case_id, "vision", "k") == {"v": 2}
    assert store.count(case_id) == 1


def test_query_by_case_media_and_stage(store, case_id):
    store.put(case_id, "transcribe", "a", {"n": 1}, media_id="m1")
    store.put(case_id, "vision", "b", {"n": 2}, media_id="m1")
    store.put(case_id, "vision", "c", {"n": 3}, media_id="m2")
    store.put(case_id, "report", "case", {"n": 4})
    store.put(str(uuid.uuid4()), "vision", "b", {"n": 99}, media_id="m1")  # another case

    assert [d.data["n"] for d in store.query(case_id)] == [4, 1, 2, 3]
    assert [d.key for d in store.query(case_id, media_id="m1")] == ["a", "b"]
    assert [d.key for d in store.query(case_id, stage="vision")] == ["b", "c"]
    assert [d.key for d in store.query(case_id, media_id="m2", stage="vision")] == ["c"]
    assert store.query(case_id, stage="report")[0].media_id is None


def test_delete_case_removes_only_that_case(store, case_id):
    other = str(uuid.uuid4())
    for n in range(3):
        store.put(case_id, "vision", f"k{n}", {"n": n}, media_id="m")
    store.put(other, "vision", "k0", {"n": 0}, media_id="m")

    assert store.delete_case(case_id) == 3
    assert store.count(case_id) == 0
    assert store.query(case_id) == []
    assert store.get(other, "vision", "k0") == {"n": 0}
    assert store.delete_case(case_id) == 0  # twice is fine
