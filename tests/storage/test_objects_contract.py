"""The object-store contract, run against a local directory and a real S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import uuid

import httpx
import pytest

from aima.storage.objects import case_prefix, media_key
from aima.storage.objects.local import LocalObjectStore
from aima.storage.objects.s3 import S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    server = request.getfixturevalue("s3_server")
    return S3ObjectStore(
        f"s3://aima-{uuid.uuid4().hex[:8]}/prefix",
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region="us-east-1",
    )


def test_put_file_and_read_it_back(store, tmp_path, case_id):
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(3000))
    key = media_key(case_id, hashlib.sha256(source.read_bytes()).hexdigest())

    store.put_file(key, source, content_type="application/octet-stream")

    assert store.exists(key)
    with store.open(key) as stream:
        assert stream.read() == source.read_bytes()
    target = tmp_path / "out.bin"
    store.get_file(key, target)
    assert target.read_bytes() == source.read_bytes()


def test_put_stream_of_unknown_length_is_stored_whole(store, case_id):
    payload = os.urandom(5 * 1024 * 1024 + 17)
    key = f"{case_prefix(case_id)}audio/a.wav"
    store.put_stream(key, io.BytesIO(payload), content_type="audio/wav")
    with store.open(key) as stream:
        assert hashlib.sha256(stream.read()).digest() == hashlib.sha256(payload).digest()


def test_large_objects_are_streamed_not_held_in_memory(store, tmp_path, case_id):
    source = tmp_path / "big.bin"
    with open(source, "wb") as out:
        for _ in range(40):
            out.write(os.urandom(1024 * 1024))  # 40 MiB
    key = f"{case_prefix(case_id)}media/big"

    tracemalloc.start()
    store.put_file(key, source)
    digest = hashlib.sha256()
    with store.open(key) as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert digest.hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    assert peak < 30 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.1f} MiB for 40 MiB"


def test_missing_objects(store, case_id):
    key = f"{case_prefix(case_id)}nothing"
    assert not store.exists(key)
    with pytest.raises(KeyError):
        with store.open(key):
            pass
    store.delete(key)  # deleting a missing object is not an error


def test_list_and_delete_by_prefix(store, case_id):
    other = str(uuid.uuid4())
    for name in ("media/a", "keyframes/a/0001.jpg", "keyframes/a/0002.jpg"):
        store.put_stream(f"{case_prefix(case_id)}{name}", io.BytesIO(b"x" * 10))
    store.put_stream(f"{case_prefix(other)}media/a", io.BytesIO(b"y"))

    listed = sorted(info.key for info in store.list(case_prefix(case_id)))
    assert listed == sorted(f"{case_prefix(case_id)}{n}" for n in
                            ("media/a", "keyframes/a/0001.jpg", "keyframes/a/0002.jpg"))
    assert [i.size for i in store.list(f"{case_prefix(case_id)}media/")] == [10]

    assert store.delete_prefix(case_prefix(case_id)) == 3
    assert list(store.list(case_prefix(case_id))) == []
    assert store.exists(f"{case_prefix(other)}media/a")
    assert store.delete_prefix(case_prefix(case_id)) == 0


def test_presigned_urls_give_access_without_credentials(store, case_id):
    key = f"{case_prefix(case_id)}exports/report.json"
    if isinstance(store, LocalObjectStore):
        # Local URLs are file:// URLs: readable and writable by processes on this machine only.
        put_url = store.presigned_put_url(key)
        assert put_url.startswith("file://")
        store.put_stream(key, io.BytesIO(b'{"ok": true}'))
        get_url = store.presigned_get_url(key)
        assert open(get_url.removeprefix("file://"), "rb").read() == b'{"ok": true}'
        return
    put_url = store.presigned_put_url(key, expires_s=300)
    response = httpx.put(put_url, content=b'{"ok": true}', headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert store.exists(key)
    response = httpx.get(store.presigned_get_url(key, expires_s=300))
    assert response.status_code == 200 and response.content == b'{"ok": true}'


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "a/./b"])
def test_keys_that_could_escape_are_refused(store, key):
    with pytest.raises(ValueError, match="invalid object key"):
        store.exists(key)
