"""Can AIMA reach each of its four stores, with its own credentials? One check per store.

A server-backed store is checked the way AIMA uses it: the metadata database answers a query,
MongoDB lists the collections of AIMA's database (which needs the credentials, unlike ``ping``),
Milvus lists its collections, and the S3 bucket exists. An embedded store has no server: it is
up when the folder it lives in exists or can be made. Checks run side by side, each bounded by
``AIMA_CONNECT_TIMEOUT_S``, so one store that hangs cannot stall a scrape for long.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aima.settings import Settings
from aima.storage.database import Database


@dataclass(frozen=True)
class StoreCheck:
    store: str  # metadata | documents | vectors | objects
    backend: str  # sqlite, postgresql, sql, mongodb, milvus-lite, milvus, local, s3
    up: bool


def check_stores(settings: Settings, metadata: Database | None) -> list[StoreCheck]:
    """Check all four stores; ``metadata`` is the open database (None when it failed to open)."""
    checks: dict[str, tuple[str, Callable[[], None]]] = {
        "metadata": _metadata(settings, metadata),
        "documents": _documents(settings, metadata),
        "vectors": _vectors(settings),
        "objects": _objects(settings),
    }
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {store: pool.submit(check) for store, (_, check) in checks.items()}
        return [StoreCheck(store, checks[store][0], future.exception() is None)
                for store, future in futures.items()]


def _metadata(settings: Settings, metadata: Database | None) -> tuple[str, Callable[[], None]]:
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"

    def check() -> None:
        if metadata is None:
            raise ConnectionError("the metadata database did not open")
        metadata.check()

    return backend, check


def _documents(settings: Settings, metadata: Database | None) -> tuple[str, Callable[[], None]]:
    if settings.documents_url == "sql":
        return "sql", _metadata(settings, metadata)[1]  # documents live in the metadata database

    def check() -> None:
        from pymongo import MongoClient

        timeout_ms = int(settings.connect_timeout_s * 1000)
        client: MongoClient = MongoClient(
            settings.documents_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
        try:
            client[settings.documents_database].list_collection_names()
        finally:
            client.close()

    return "mongodb", check


def _vectors(settings: Settings) -> tuple[str, Callable[[], None]]:
    url = settings.vectors_url
    if not url.startswith(("http://", "https://")):
        return "milvus-lite", lambda: _folder_exists(Path(url).parent, or_parent=True)

    def check() -> None:
        from aima.storage.vectors import MilvusVectorStore

        MilvusVectorStore(url, connect_timeout_s=settings.connect_timeout_s).close()

    return "milvus", check


def _objects(settings: Settings) -> tuple[str, Callable[[], None]]:
    url = settings.objects_url
    if not url.startswith("s3://"):
        return "local", lambda: _folder_exists(Path(url), or_parent=True)

    def check() -> None:
        from aima.storage.objects.s3 import S3ObjectStore

        s3 = settings.s3
        S3ObjectStore(
            url, endpoint=s3.endpoint,
            access_key=s3.access_key.get_secret_value() if s3.access_key else None,
            secret_key=s3.secret_key.get_secret_value() if s3.secret_key else None,
            region=s3.region, connect_timeout_s=settings.connect_timeout_s, create_bucket=False,
        )

    return "s3", check


def _folder_exists(folder: Path, *, or_parent: bool = False) -> None:
    """The folder is readable; with ``or_parent``, AIMA could make it (its nearest existing
    ancestor is a writable folder): embedded stores are made on first use."""
    if or_parent:
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
    access = os.R_OK | os.X_OK | (os.W_OK if or_parent else 0)
    if not folder.is_dir() or not os.access(folder, access):
        raise FileNotFoundError(f"{folder} is not a usable folder")
