"""The S3 object store against an S3 server that checks every request's credentials, as S3 does:
presigned URLs give access to one object without credentials, and nothing else does."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from minio import Minio
from minio.error import S3Error

from aima.errors import StoreUnavailable
from aima.storage.objects import case_prefix
from aima.storage.objects.s3 import S3ObjectStore


@pytest.fixture
def store(s3_server):
    return S3ObjectStore(f"s3://aima-{uuid.uuid4().hex[:8]}/prefix", endpoint=s3_server.endpoint,
                         access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                         region="us-east-1")


@pytest.fixture
def key(store, case_id):
    key = f"{case_prefix(case_id)}exports/report.json"
    store.put_stream(key, io.BytesIO(b'{"ok": true}'), content_type="application/json")
    return key


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def test_a_presigned_get_url_reads_the_object_without_credentials(store, key):
    response = httpx.get(store.presigned_get_url(key, expires_s=300))
    assert response.status_code == 200
    assert response.content == b'{"ok": true}'


def test_a_presigned_get_url_with_an_altered_signature_is_refused(store, key):
    url = store.presigned_get_url(key, expires_s=300)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]

    response = httpx.get(with_query(url, **{"X-Amz-Signature": flip_last(signature)}))

    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content
    assert b'{"ok": true}' not in response.content


def test_a_presigned_get_url_cannot_be_extended_or_moved_to_another_object(store, key, case_id):
    other = f"{case_prefix(case_id)}exports/other.json"
    store.put_stream(other, io.BytesIO(b"secret"))
    url = store.presigned_get_url(key, expires_s=300)

    longer = httpx.get(with_query(url, **{"X-Amz-Expires": "604800"}))
    moved = httpx.get(url.replace("exports/report.json", "exports/other.json"))

    assert (longer.status_code, moved.status_code) == (403, 403)
    assert b"secret" not in moved.content


def test_an_expired_presigned_get_url_is_refused(store, key):
    url = store.presigned_get_url(key, expires_s=300)
    signed_at = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    # The same URL as signed an hour ago for 60 s (the date is part of the signature, so it is
    # signed by the store's client, not edited).
    past = datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ") - timedelta(hours=1)
    old = store.client.presigned_get_object(store.bucket, store._name(key),
                                            expires=timedelta(seconds=60), request_date=past)
    assert httpx.get(old).status_code == 403
    assert httpx.get(url).status_code == 200


def test_an_unsigned_get_is_refused(store, key):
    url = store.presigned_get_url(key, expires_s=300)
    unsigned = urlunsplit(urlsplit(url)._replace(query=""))

    response = httpx.get(unsigned)

    assert response.status_code == 403
    assert b'{"ok": true}' not in response.content


def test_an_unsigned_put_is_refused(store, case_id):
    key = f"{case_prefix(case_id)}exports/planted.json"
    url = urlunsplit(urlsplit(store.presigned_put_url(key, expires_s=300))._replace(query=""))

    response = httpx.put(url, content=b"planted")

    assert response.status_code == 403
    assert not store.exists(key)


def test_a_presigned_put_url_uploads_the_object(store, case_id):
    key = f"{case_prefix(case_id)}exports/uploaded.json"

    response = httpx.put(store.presigned_put_url(key, expires_s=300), content=b'{"up": 1}')

    assert response.status_code == 200
    with store.open(key) as stream:
        assert stream.read() == b'{"up": 1}'


def test_a_presigned_put_url_with_an_altered_signature_uploads_nothing(store, case_id):
    key = f"{case_prefix(case_id)}exports/uploaded.json"
    url = store.presigned_put_url(key, expires_s=300)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]

    response = httpx.put(with_query(url, **{"X-Amz-Signature": flip_last(signature)}),
                         content=b"planted")

    assert response.status_code == 403
    assert not store.exists(key)


def test_a_wrong_secret_or_an_unknown_key_is_refused(s3_server, store, key):
    host = s3_server.endpoint.removeprefix("http://")
    for access_key, secret_key in ((s3_server.access_key, "wrong-secret"),
                                   ("AKIANOBODY0000000000", s3_server.secret_key)):
        client = Minio(host, access_key=access_key, secret_key=secret_key, secure=False,
                       region="us-east-1")
        with pytest.raises(S3Error) as refused:
            client.get_object(store.bucket, store._name(key))
        assert refused.value.code in {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"}
        assert refused.value.response.status == 403

    with pytest.raises(StoreUnavailable, match="rejected the credentials"):
        S3ObjectStore(f"s3://{store.bucket}", endpoint=s3_server.endpoint,
                      access_key=s3_server.access_key, secret_key="wrong-secret", region="us-east-1")


def test_presigned_urls_are_signed_for_the_public_endpoint(s3_server, case_id):
    """GPU machines reach the store under another name than AIMA does: the URLs they get are
    signed for that name (``AIMA_S3__PUBLIC_ENDPOINT``), as a signed URL's host cannot be edited."""
    internal = urlsplit(s3_server.endpoint)
    public = f"{internal.scheme}://localhost:{internal.port}"
    store = S3ObjectStore(f"s3://aima-{uuid.uuid4().hex[:8]}", endpoint=s3_server.endpoint,
                          access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                          public_endpoint=public)  # no region: asked through the endpoint
    key = f"{case_prefix(case_id)}work/result.json"

    put_url = store.presigned_put_url(key, expires_s=300)
    assert urlsplit(put_url).netloc == f"localhost:{internal.port}"
    assert httpx.put(put_url, content=b'{"done": 1}').status_code == 200
    with store.open(key) as stream:  # AIMA itself still uses the internal endpoint
        assert stream.read() == b'{"done": 1}'

    get_url = store.presigned_get_url(key, expires_s=300)
    assert httpx.get(get_url).content == b'{"done": 1}'
    # the internal URL with its host edited to the public name is refused
    internal_url = store.client.presigned_get_object(store.bucket, store._name(key),
                                                     expires=timedelta(seconds=300))
    edited = internal_url.replace(internal.netloc, f"localhost:{internal.port}")
    assert httpx.get(edited).status_code == 403
