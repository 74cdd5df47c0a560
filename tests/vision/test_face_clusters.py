"""Face clustering rules, on points placed at known distances (the rules, not the embedder)."""

from __future__ import annotations

import random

import numpy as np

from aima.vision.face_clusters import CaseFace, carry_over_keys, cluster_faces


def faces_at(points: dict[str, tuple[float, float]], frames: dict[str, str] | None = None):
    """Faces ``name -> (x, y)`` in a 128-d space (the rest zeros), each in its own frame unless
    ``frames`` puts several in one."""
    made = []
    for number, (name, (x, y)) in enumerate(points.items()):
        vector = np.zeros(128)
        vector[:2] = (x, y)
        frame = (frames or {}).get(name, f"f{number}")
        made.append(CaseFace(face_id=name, media_id=frame, media_sha256=frame, frame=0, n=number,
                             vector=vector.tolist()))
    return made


def test_a_face_needs_enough_close_faces_to_start_a_person():
    faces = faces_at({"a1": (0, 0), "a2": (0.3, 0), "b1": (5, 0)})

    two = cluster_faces(faces, min_faces=2, max_distance=0.5)
    three = cluster_faces(faces, min_faces=3, max_distance=0.5)

    assert (two.clusters, two.unassigned) == ([["a1", "a2"]], ["b1"])
    assert (three.clusters, three.unassigned) == ([], ["a1", "a2", "b1"])


def test_a_border_face_joins_the_person_of_its_closest_core_face():
    faces = faces_at({"a1": (0, 0), "a2": (0.2, 0), "a3": (0, 0.2), "edge": (0.6, 0)})

    result = cluster_faces(faces, min_faces=3, max_distance=0.45)

    assert result.clusters == [["a1", "a2", "a3", "edge"]] and "edge" not in result.core


def test_two_faces_of_one_frame_are_never_one_person():
    frames = {"x": "photo", "y": "photo"}
    faces = faces_at({"x": (0, 0), "y": (0.1, 0), "z": (0.05, 0.05)}, frames)

    result = cluster_faces(faces, min_faces=2, max_distance=0.5)

    assert sorted(map(sorted, result.clusters)) == [["x", "z"], ["y"]]  # y: z went to x first


def test_faces_said_to_be_apart_stay_apart_even_when_close():
    faces = faces_at({"a1": (0, 0), "a2": (0.2, 0), "b1": (0.4, 0), "b2": (0.6, 0)})

    joined = cluster_faces(faces, min_faces=2, max_distance=0.5)
    apart = cluster_faces(faces, min_faces=2, max_distance=0.5,
                          apart=[(["a1", "a2"], ["b1", "b2"])])

    assert joined.clusters == [["a1", "a2", "b1", "b2"]]
    assert sorted(map(sorted, apart.clusters)) == [["a1", "a2"], ["b1", "b2"]]


def test_the_order_faces_come_in_does_not_change_the_persons():
    rng = random.Random(3)
    points = {f"p{c}-{k}": (c * 2 + rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1))
              for c in range(4) for k in range(3)}
    faces = faces_at(points)
    expected = cluster_faces(faces)
    for _ in range(5):
        rng.shuffle(faces)
        assert cluster_faces(faces) == expected
    assert len(expected.clusters) == 4


def test_keys_are_carried_over_and_new_persons_get_unused_numbers():
    previous = {"a1": "person-1", "a2": "person-1", "b1": "person-2", "c1": "person-5"}

    keys = carry_over_keys([["new1", "new2"], ["b1", "b2"], ["a1", "a2"]], previous, used=6)

    assert keys == ["person-7", "person-2", "person-1"]
