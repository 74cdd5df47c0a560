"""Objects in S3 or MinIO (minio client)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.helpers import check_bucket_name

from aima.errors import ConfigError, StoreUnavailable
from aima.storage.objects import ObjectInfo, validate_key

SETTING = "AIMA_OBJECTS_URL"
PART_SIZE = 8 * 1024 * 1024  # multipart part size: bounds the memory one upload holds
BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}


DEFAULT_ENDPOINT = "https://s3.amazonaws.com"


def s3_client(endpoint: str | None, *, access_key: str | None = None,
              secret_key: str | None = None, region: str | None = None,
              connect_timeout_s: float = 5.0) -> Minio:
    """A minio client with bounded timeouts and a few retries of its own; the one factory used
    by the object store and by ``s3://`` sources."""
    parts = urlsplit(endpoint or DEFAULT_ENDPOINT)
    timeout = urllib3.Timeout(connect=connect_timeout_s, read=max(60.0, connect_timeout_s))
    http = urllib3.PoolManager(
        timeout=timeout, maxsize=10, retries=urllib3.Retry(total=2, backoff_factor=0.2, connect=1)
    )
    return Minio(parts.netloc, access_key=access_key, secret_key=secret_key, region=region,
                 secure=parts.scheme == "https", http_client=http)


def s3_client_from_settings(settings) -> Minio:
    """:func:`s3_client` for the ``AIMA_S3__*`` settings."""
    s3 = settings.s3
    return s3_client(
        s3.endpoint,
        access_key=s3.access_key.get_secret_value() if s3.access_key else None,
        secret_key=s3.secret_key.get_secret_value() if s3.secret_key else None,
        region=s3.region,
        connect_timeout_s=settings.connect_timeout_s,
    )


def s3_unavailable(exc: Exception, where: str) -> StoreUnavailable:
    """One clear error naming the setting to fix, for an S3 error or an unreachable endpoint."""
    if isinstance(exc, S3Error):
        if exc.code in BAD_CREDENTIALS:
            return StoreUnavailable("AIMA_S3__ACCESS_KEY/AIMA_S3__SECRET_KEY",
                                    f"{where} rejected the credentials ({exc.code})")
        return StoreUnavailable(SETTING, f"{where}: {exc.code}: {exc.message}")
    return StoreUnavailable("AIMA_S3__ENDPOINT",
                            f"cannot reach {where}: connection refused or timed out")


class S3ObjectStore:
    """``s3://bucket[/prefix]`` on AWS S3 or any S3-compatible endpoint (MinIO)."""

    def __init__(
        self,
        url: str,
        *,
        endpoint: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        connect_timeout_s: float = 5.0,
        create_bucket: bool = True,
        public_endpoint: str | None = None,
    ):
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self.client = s3_client(endpoint, access_key=access_key, secret_key=secret_key,
                                region=region, connect_timeout_s=connect_timeout_s)
        self.endpoint = urlsplit(endpoint or DEFAULT_ENDPOINT).netloc
        self._check(create_bucket)
        self._signer = self.client
        if public_endpoint and urlsplit(public_endpoint).netloc != self.endpoint:
            # Signing needs no request, but minio asks the endpoint for the bucket's region
            # unless it is given: ask through the endpoint this machine reaches.
            self._signer = s3_client(
                public_endpoint, access_key=access_key, secret_key=secret_key,
                region=region or self.client._get_region(self.bucket),
                connect_timeout_s=connect_timeout_s)

    def _check(self, create_bucket: bool) -> None:
        where = f"S3 endpoint {self.endpoint}"
        try:
            check_bucket_name(self.bucket)
        except ValueError:
            raise ConfigError(
                SETTING, f"{self.bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, "
                "digits, dots and hyphens)"
            ) from None
        try:
            if not self.client.bucket_exists(self.bucket):
                if not create_bucket:
                    raise StoreUnavailable(SETTING, f"bucket {self.bucket!r} does not exist at {where}")
                self.client.make_bucket(self.bucket)
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise s3_unavailable(exc, where) from None

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        self.client.fput_object(
            self.bucket, self._name(key), str(path),
            content_type=content_type or "application/octet-stream", part_size=PART_SIZE,
            num_parallel_uploads=1,
        )

    def put_stream(
        self, key: str, stream: BinaryIO, *, length: int | None = None, content_type: str | None = None
    ) -> None:
        self.client.put_object(
            self.bucket,
            self._name(key),
            stream,
            length=-1 if length is None else length,
            part_size=PART_SIZE,
            content_type=content_type or "application/octet-stream",
            num_parallel_uploads=1,
        )

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            response = self.client.get_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise KeyError(key) from None
            raise
        response.auto_close = False  # let BufferedReader see EOF instead of a closed file
        try:
            yield io.BufferedReader(response, buffer_size=1024 * 1024)  # streams, never whole
        finally:
            response.close()
            response.release_conn()

    def get_file(self, key: str, path: Path) -> None:
        try:
            self.client.fget_object(self.bucket, self._name(key), str(path))
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise KeyError(key) from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, self._name(key))
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, self._name(key))

    def delete_prefix(self, prefix: str) -> int:
        names = [
            DeleteObject(obj.object_name)
            for obj in self.client.list_objects(self.bucket, self.prefix + prefix, recursive=True)
        ]
        if not names:
            return 0
        errors = list(self.client.remove_objects(self.bucket, names))
        if errors:
            raise RuntimeError(f"S3 refused to delete {len(errors)} objects, first: {errors[0]}")
        return len(names)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for obj in self.client.list_objects(self.bucket, self.prefix + prefix, recursive=True):
            yield ObjectInfo(key=obj.object_name[len(self.prefix) :], size=obj.size or 0)

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str:
        """A URL that reads the object for ``expires_s``, signed for the public endpoint."""
        return self._signer.presigned_get_object(
            self.bucket, self._name(key), expires=timedelta(seconds=expires_s)
        )

    def presigned_put_url(self, key: str, expires_s: int = 3600) -> str:
        """A URL that writes the object for ``expires_s``, signed for the public endpoint."""
        return self._signer.presigned_put_object(
            self.bucket, self._name(key), expires=timedelta(seconds=expires_s)
        )
