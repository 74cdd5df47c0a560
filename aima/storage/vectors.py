"""The vector store: face and voice embeddings, searched within one case.

One pymilvus backend serves both a Milvus Lite file (the embedded default) and a Milvus server.
There is one collection per embedding kind and model version (``aima_<kind>_<model>_<dim>``);
every row carries its case id and media id, and every search is filtered to one case, so that no
embedding is ever compared across cases.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel
from pymilvus import DataType, MilvusClient

from aima.errors import StoreUnavailable

SETTING = "AIMA_VECTORS_URL"
PREFIX = "aima_"


class Embedding(BaseModel):
    id: str  # unique within its collection, e.g. "<media id>:face:3"
    case_id: str
    media_id: str
    ref: str = ""  # what it was computed from: a keyframe or audio segment id
    vector: list[float]


class VectorHit(BaseModel):
    id: str
    media_id: str
    ref: str
    score: float  # cosine similarity, higher is closer


class VectorStore(Protocol):
    def upsert(self, kind: str, model_version: str, embeddings: Sequence[Embedding]) -> None: ...

    def search(
        self, kind: str, model_version: str, case_id: str, vector: Sequence[float], k: int = 10
    ) -> list[VectorHit]: ...

    def fetch(self, kind: str, model_version: str, case_id: str, dim: int) -> list[Embedding]:
        """Every embedding of one kind and model version in a case, ordered by id."""

    def delete_case(self, case_id: str) -> int: ...

    def count(self, case_id: str) -> int: ...

    def close(self) -> None: ...


def collection_name(kind: str, model_version: str, dim: int) -> str:
    """A valid Milvus collection name (letters, digits, underscores) for one kind and model."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", f"{kind}_{model_version}").strip("_").lower()
    return f"{PREFIX}{slug}_{dim}"[:255]


class MilvusVectorStore:
    """Milvus Lite (a path ending in .db) or a Milvus server (http://host:19530)."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0):
        self.url = url
        self.is_lite = not url.startswith(("http://", "https://"))
        try:
            uri = _start_lite(url) if self.is_lite else url
            self.client = MilvusClient(uri=uri, timeout=connect_timeout_s)
            self.client.list_collections()
        except StoreUnavailable:
            raise
        except Exception as exc:  # MilvusException and grpc errors
            raise StoreUnavailable(SETTING, self._describe(exc)) from None
        self._ready: set[str] = set()

    def _describe(self, exc: Exception) -> str:
        if self.is_lite:
            return f"cannot open the Milvus Lite file {self.url!r}: {exc}".splitlines()[0]
        parts = urlsplit(self.url)  # the URL may carry a password: name host and port only
        where = f"{parts.hostname}:{parts.port or 19530}"
        text = str(exc).lower()
        if "auth" in text or "credential" in text or "permission" in text:
            return f"Milvus at {where} rejected the credentials"
        return f"cannot reach Milvus at {where}: connection refused or timed out"

    # --- collections -------------------------------------------------------------------------

    def _collection(self, kind: str, model_version: str, dim: int) -> str:
        name = collection_name(kind, model_version, dim)
        if name in self._ready:
            return name
        if not self.client.has_collection(name):
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
            schema.add_field("case_id", DataType.VARCHAR, max_length=36)
            schema.add_field("media_id", DataType.VARCHAR, max_length=36)
            schema.add_field("ref", DataType.VARCHAR, max_length=256)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            index = self.client.prepare_index_params()
            index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
            self.client.create_collection(
                name, schema=schema, index_params=index, consistency_level="Strong"
            )
        self.client.load_collection(name)  # needed after reopening a Lite file
        self._ready.add(name)
        return name

    def _existing(self, kind: str, model_version: str, dim: int) -> str | None:
        """The loaded collection if it exists; None (and nothing created) if it does not."""
        name = collection_name(kind, model_version, dim)
        if name not in self._ready and not self.client.has_collection(name):
            return None
        return self._collection(kind, model_version, dim)

    def _collections(self) -> list[str]:
        return [name for name in self.client.list_collections() if name.startswith(PREFIX)]

    # --- protocol ------------------------------------------------------------------------------

    def upsert(self, kind: str, model_version: str, embeddings: Sequence[Embedding]) -> None:
        if not embeddings:
            return
        dims = {len(e.vector) for e in embeddings}
        if len(dims) != 1:
            raise ValueError(f"embeddings of one upsert must share one dimension, got {sorted(dims)}")
        name = self._collection(kind, model_version, dims.pop())
        self.client.upsert(name, [e.model_dump() for e in embeddings])

    def search(
        self, kind: str, model_version: str, case_id: str, vector: Sequence[float], k: int = 10
    ) -> list[VectorHit]:
        name = self._existing(kind, model_version, len(vector))
        if name is None:
            return []
        results = self.client.search(
            name,
            data=[list(vector)],
            filter=f"case_id == {_quote(case_id)}",
            limit=k,
            output_fields=["media_id", "ref"],
            consistency_level="Strong",
        )
        return [
            VectorHit(
                id=hit["id"],
                media_id=hit["entity"]["media_id"],
                ref=hit["entity"]["ref"],
                score=hit["distance"],
            )
            for hit in results[0]
        ]

    def fetch(self, kind: str, model_version: str, case_id: str, dim: int) -> list[Embedding]:
        name = self._existing(kind, model_version, dim)
        if name is None:
            return []
        rows = self.client.query(
            name,
            filter=f"case_id == {_quote(case_id)}",
            output_fields=["id", "case_id", "media_id", "ref", "vector"],
            consistency_level="Strong",
        )
        found = [
            Embedding(id=r["id"], case_id=r["case_id"], media_id=r["media_id"], ref=r["ref"],
                      vector=[float(x) for x in r["vector"]])
            for r in rows
        ]
        return sorted(found, key=lambda e: e.id)

    def delete_case(self, case_id: str) -> int:
        removed = 0
        for name in self._collections():
            self.client.load_collection(name)
            before = self._count_in(name, case_id)
            if before:
                self.client.delete(name, filter=f"case_id == {_quote(case_id)}")
                removed += before
        return removed

    def count(self, case_id: str) -> int:
        total = 0
        for name in self._collections():
            self.client.load_collection(name)
            total += self._count_in(name, case_id)
        return total

    def _count_in(self, name: str, case_id: str) -> int:
        rows = self.client.query(
            name,
            filter=f"case_id == {_quote(case_id)}",
            output_fields=["id"],
            consistency_level="Strong",
        )
        return len(rows)

    def close(self) -> None:
        self.client.close()
        if self.is_lite:
            # Milvus Lite serves the file from a thread of this process and holds a lock on it
            # until released: let the next process (or store) open it.
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.url)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class _DropUnimplemented(logging.Filter):
    """pymilvus 3 asks for timestamps (AllocTimestamp) that Milvus Lite's in-process gRPC server
    does not implement; the client carries on without, but the server logs a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, NotImplementedError)


def _start_lite(path: str) -> str:
    """Start (or reuse) this process's Milvus Lite server for ``path``; return its local URI.

    Milvus Lite logs a traceback and returns None when it cannot open the file; catch that and
    say in one line why (most often: another AIMA process holds the file's lock).
    """
    from milvus_lite.server_manager import server_manager_instance

    grpc_server_log = logging.getLogger("grpc._server")
    if not any(isinstance(f, _DropUnimplemented) for f in grpc_server_log.filters):
        grpc_server_log.addFilter(_DropUnimplemented())
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(SETTING, f"cannot create {Path(path).parent}: {exc.strerror}") from None
    logger = logging.getLogger("milvus_lite.server_manager")
    capture = _Capture()
    logger.addHandler(capture)
    propagate, logger.propagate = logger.propagate, False
    try:
        uri = server_manager_instance.start_and_get_uri(path)
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate
    if uri is not None:
        return uri
    cause = capture.errors[0] if capture.errors else None
    if cause is not None and type(cause).__name__ == "DataDirLockedError":
        raise StoreUnavailable(
            SETTING,
            f"the Milvus Lite file {path!r} is in use by another process "
            "(another aima command on the same data directory?)",
        )
    raise StoreUnavailable(SETTING, f"cannot open the Milvus Lite file {path!r}: {cause}")


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
