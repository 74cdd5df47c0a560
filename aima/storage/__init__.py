"""AIMA's four stores, opened together from the settings.

========  ======================================  =============================================
store     what it holds                           backends
========  ======================================  =============================================
metadata  cases, media, jobs, stage runs, ...     SQLite file / PostgreSQL     (database.py)
documents raw stage outputs, reports, dossiers    SQL JSON column / MongoDB     (documents/)
vectors   face and voice embeddings               Milvus Lite file / Milvus     (vectors.py)
objects   originals, keyframes, audio, exports    local directory / S3, MinIO   (objects/)
========  ======================================  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from aima.settings import Settings
from aima.storage.database import Database
from aima.storage.documents import DocumentStore
from aima.storage.objects import ObjectStore
from aima.storage.vectors import VectorStore


@dataclass
class Stores:
    settings: Settings
    metadata: Database
    documents: DocumentStore
    vectors: VectorStore
    objects: ObjectStore

    def close(self) -> None:
        self.vectors.close()
        self.documents.close()
        self.metadata.dispose()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_metadata(settings: Settings) -> Database:
    return Database(settings.database_url, connect_timeout_s=settings.connect_timeout_s)


def open_documents(settings: Settings, metadata: Database) -> DocumentStore:
    if settings.documents_url == "sql":
        from aima.storage.documents.sql import SqlDocumentStore

        return SqlDocumentStore(metadata)
    from aima.storage.documents.mongo import MongoDocumentStore

    return MongoDocumentStore(
        settings.documents_url,
        settings.documents_database,
        connect_timeout_s=settings.connect_timeout_s,
    )


def open_vectors(settings: Settings) -> VectorStore:
    from aima.storage.vectors import MilvusVectorStore

    return MilvusVectorStore(settings.vectors_url, connect_timeout_s=settings.connect_timeout_s)


def open_objects(settings: Settings) -> ObjectStore:
    if settings.objects_url.startswith("s3://"):
        from aima.storage.objects.s3 import S3ObjectStore

        s3 = settings.s3
        return S3ObjectStore(
            settings.objects_url,
            endpoint=s3.endpoint,
            access_key=s3.access_key.get_secret_value() if s3.access_key else None,
            secret_key=s3.secret_key.get_secret_value() if s3.secret_key else None,
            region=s3.region,
            connect_timeout_s=settings.connect_timeout_s,
            public_endpoint=s3.public_endpoint,
        )
    from aima.storage.objects.local import LocalObjectStore

    return LocalObjectStore(settings.objects_url)


def open_stores(settings: Settings) -> Stores:
    """Open all four stores; raises StoreUnavailable naming the first one that fails."""
    metadata = open_metadata(settings)
    opened: list = []
    try:
        documents = open_documents(settings, metadata)
        opened.append(documents)
        vectors = open_vectors(settings)
        opened.append(vectors)
        objects = open_objects(settings)
    except BaseException:
        for store in opened:
            store.close()
        metadata.dispose()
        raise
    return Stores(settings, metadata, documents, vectors, objects)
