"""The vector-store contract, run against a Milvus Lite file and a real Milvus server."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from aima.storage.vectors import Embedding, MilvusVectorStore, collection_name


@pytest.fixture(scope="module", params=["milvus-lite", "milvus-server"])
def store(request, tmp_path_factory):
    if request.param == "milvus-lite":
        url = str(tmp_path_factory.mktemp("vectors") / "vectors.db")
    else:
        url = request.getfixturevalue("milvus_server").url
    vectors = MilvusVectorStore(url)
    yield vectors
    vectors.close()


def unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim)
    return v / np.linalg.norm(v)


def embeddings(case_id: str, vectors, media_id: str = "m1") -> list[Embedding]:
    return [
        Embedding(id=f"{case_id}:{n}", case_id=case_id, media_id=media_id, ref=f"frame-{n}",
                  vector=v.tolist())
        for n, v in enumerate(vectors)
    ]


def test_search_finds_the_nearest_embedding_first(store, case_id):
    rng = np.random.default_rng(1)
    vectors = [unit(rng, 128) for _ in range(20)]
    store.upsert("face", "dlib-resnet-v1", embeddings(case_id, vectors))

    query = vectors[7] + 0.05 * unit(rng, 128)
    hits = store.search("face", "dlib-resnet-v1", case_id, query.tolist(), k=3)

    assert [h.id for h in hits][0] == f"{case_id}:7"
    assert hits[0].ref == "frame-7" and hits[0].media_id == "m1"
    assert hits[0].score > 0.95 > hits[1].score
    assert len(hits) == 3


def test_search_never_crosses_into_another_case(store, case_id):
    rng = np.random.default_rng(2)
    shared = unit(rng, 256)
    other = str(uuid.uuid4())
    store.upsert("voice", "resemblyzer-0.1.4", embeddings(other, [shared]))
    store.upsert("voice", "resemblyzer-0.1.4", embeddings(case_id, [unit(rng, 256)]))

    hits = store.search("voice", "resemblyzer-0.1.4", case_id, shared.tolist(), k=10)

    assert [h.id for h in hits] == [f"{case_id}:0"]


def test_upsert_replaces_an_embedding_with_the_same_id(store, case_id):
    rng = np.random.default_rng(3)
    first, second = unit(rng, 64), unit(rng, 64)
    store.upsert("face", "m", embeddings(case_id, [first]))
    store.upsert("face", "m", embeddings(case_id, [second]))

    assert store.count(case_id) == 1
    hits = store.search("face", "m", case_id, second.tolist(), k=1)
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_each_kind_and_model_version_has_its_own_collection(store, case_id):
    rng = np.random.default_rng(4)
    store.upsert("face", "model-a", embeddings(case_id, [unit(rng, 32)]))
    store.upsert("face", "model-b", embeddings(case_id, [unit(rng, 32)]))
    names = set(store.client.list_collections())
    assert {collection_name("face", "model-a", 32), collection_name("face", "model-b", 32)} <= names
    assert store.count(case_id) == 2


def test_delete_case_removes_every_vector_of_the_case_only(store, case_id):
    rng = np.random.default_rng(5)
    other = str(uuid.uuid4())
    store.upsert("face", "del", embeddings(case_id, [unit(rng, 16) for _ in range(4)]))
    store.upsert("voice", "del", embeddings(case_id, [unit(rng, 16) for _ in range(2)]))
    store.upsert("face", "del", embeddings(other, [unit(rng, 16)]))

    assert store.delete_case(case_id) == 6
    assert store.count(case_id) == 0
    assert store.search("face", "del", case_id, unit(rng, 16).tolist()) == []
    assert store.count(other) == 1
    assert store.delete_case(case_id) == 0


def test_search_in_a_collection_that_does_not_exist_yet_is_empty(store, case_id):
    assert store.search("face", "never-used", case_id, [0.1] * 8) == []


def test_mixed_dimensions_in_one_upsert_are_refused(store, case_id):
    bad = [Embedding(id="a", case_id=case_id, media_id="m", vector=[1.0, 0.0]),
           Embedding(id="b", case_id=case_id, media_id="m", vector=[1.0, 0.0, 0.0])]
    with pytest.raises(ValueError, match="one dimension"):
        store.upsert("face", "x", bad)


def test_fetch_returns_a_cases_embeddings_with_their_vectors(store, case_id):
    rng = np.random.default_rng(6)
    vectors = [unit(rng, 24) for _ in range(3)]
    store.upsert("voice", "fetch", embeddings(case_id, vectors, media_id="m7"))
    store.upsert("voice", "fetch", embeddings(str(uuid.uuid4()), [unit(rng, 24)]))

    found = store.fetch("voice", "fetch", case_id, 24)

    assert [e.id for e in found] == [f"{case_id}:{n}" for n in range(3)]
    assert all(e.media_id == "m7" and e.case_id == case_id for e in found)
    np.testing.assert_allclose(np.array(found[1].vector), vectors[1], atol=1e-6)
    assert store.fetch("voice", "never", case_id, 24) == []
