"""The placement rules of the computed sections, on report parts written out by hand where the
embedded profile has no model to make them (no restraint detector, no vision-language model):
restraint observations placed at a person by box, runs of keyframes broken where a person is
not seen, and segments that count for nobody when the screen is not one person's alone."""

from __future__ import annotations

from aima import person_links
from aima.report import dossiers, timeline

M = "m1"  # a media id
FRAME = [480, 270]


def face(frame: int, n: int, person: str, box: list[int]) -> dict:
    return {"id": f"face:{M}:{frame}:{n}", "kind": "face", "media_id": M, "frame": frame,
            "timestamp_s": float(frame), "box": box, "frame_size": FRAME, "person": person,
            "person_label": person.replace("person-", "Person ")}


def keyframes(count: int) -> list[dict]:
    return [{"id": f"kf:{M}:{n}", "kind": "keyframe", "media_id": M, "timestamp_s": float(n)}
            for n in range(count)]


def persons_of(evidence: list[dict]) -> list[dict]:
    found: dict[str, list[str]] = {}
    for item in evidence:
        if item["kind"] == "face":
            found.setdefault(item["person"], []).append(item["id"])
    return [{"id": f"id-{key}", "label": key.replace("person-", "Person "), "speaker_id": None,
             "modalities": ["face"],
             "appearances": [{"media_id": M, "modality": "face", "start_s": None, "end_s": None,
                              "evidence": [face_id]} for face_id in faces]}
            for key, faces in found.items()]


def test_a_restraint_box_below_a_face_is_that_persons_and_a_frame_only_one_is_everyones():
    left = face(3, 0, "person-1", [100, 40, 40, 40])
    right = face(3, 1, "person-2", [320, 40, 40, 40])
    wrists = {"id": f"det:{M}:3:0", "kind": "detection", "media_id": M, "frame": 3,
              "box": [90, 150, 60, 30], "label": "handcuffs"}  # under the left face
    evidence = keyframes(5) + [left, right, wrists, face(4, 0, "person-2", [320, 40, 40, 40])]
    observations = [
        {"media_id": M, "frame": 3, "timestamp_s": 3.0, "type": "handcuffs", "support": "detector",
         "confidence": "lower", "faces": [], "evidence": [wrists["id"], f"kf:{M}:3"]},
        {"media_id": M, "frame": 3, "timestamp_s": 3.0, "type": "gag", "support": "vlm",
         "confidence": "lower", "faces": [], "evidence": [f"kf:{M}:3"]},
        {"media_id": M, "frame": 1, "timestamp_s": 1.0, "type": "rope", "support": "vlm",
         "confidence": "lower", "faces": [], "evidence": [f"kf:{M}:1"]},
    ]

    built = {d["person"]: d for d in dossiers.build(persons_of(evidence), evidence, [],
                                                    observations, [])}

    assert [(r["type"], r["basis"], r["persons_in_frame"]) for r in
            built["person-1"]["restraints"]] == [("handcuffs", "below face", 2),
                                                 ("gag", "same frame", 2)]
    assert [(r["type"], r["basis"]) for r in built["person-2"]["restraints"]] == [
        ("gag", "same frame")]
    assert built["person-1"]["restraints"][0]["evidence"] == [wrists["id"], f"kf:{M}:3", left["id"]]
    assert all(r["requires_human_review"] for d in built.values() for r in d["restraints"])


def test_a_person_missing_from_a_keyframe_makes_two_appearances():
    evidence = keyframes(6) + [face(n, 0, "person-1", [10, 10, 40, 40]) for n in (0, 1, 2, 4, 5)]

    runs = timeline.face_runs(persons_of(evidence), evidence)

    assert [(r["start_s"], r["end_s"], len(r["evidence"])) for r in runs] == [
        (0.0, 2.0, 3), (4.0, 5.0, 2)]


def test_a_segment_counts_for_nobody_when_the_screen_is_not_one_persons_alone():
    document = {"frames": [{"frame": n, "timestamp_s": float(n)} for n in range(8)],
                "faces": [{"id": f"face:{M}:{n}:0", "frame": n} for n in range(8)]
                + [{"id": f"face:{M}:2:1", "frame": 2}]}
    person_of = {f"face:{M}:{n}:0": "person-1" for n in range(8)}
    del person_of[f"face:{M}:5:0"]  # a face of no person
    segments = [  # (start, end): keyframes inside
        (0.5, 1.5),  # 1: person-1 alone
        (1.5, 2.5),  # 2: two faces
        (4.5, 5.5),  # 5: a face of no person
        (5.5, 6.5),  # 6: person-1 alone
        (7.2, 7.8),  # none
    ]
    transcripts = [{"media_id": M, "segments": [
        {"id": f"seg:{M}:{n}", "start": a, "end": b, "speaker": "speaker-1"}
        for n, (a, b) in enumerate(segments)]}]

    (pair,) = person_links.co_occurrences(transcripts, {M: document}, person_of)

    assert pair["speaker"] == "speaker-1" and pair["person"] == "person-1"
    assert pair["co_occurrences"] == 2 and pair["score"] == 0.4
    assert pair["evidence"] == [f"seg:{M}:0", f"seg:{M}:3", f"face:{M}:1:0", f"face:{M}:6:0"]


def test_frame_analyses_and_restraint_observations_become_described_events():
    analysis = {"scene": {"place": "garage", "setting": "indoor", "lighting": "dim"},
                "person_count": 1,
                "persons": [{"posture": "sitting on the floor", "visible_distress": ["crying"],
                             "restraints": [], "gagged": False, "blindfolded": False}],
                "interactions": [], "visible_text": []}
    evidence = keyframes(3) + [{"id": f"vlm:{M}:2", "kind": "vlm", "media_id": M, "frame": 2,
                                "timestamp_s": 2.0}]
    frames = [{"media_id": M, "id": f"vlm:{M}:2", "frame": 2, "timestamp_s": 2.0,
               "keyframe": f"kf:{M}:2", "status": "parsed", "analysis": analysis}]
    observations = [{"media_id": M, "frame": 2, "timestamp_s": 2.0, "type": "rope",
                     "signals": ["vlm"], "evidence": [f"vlm:{M}:2", f"kf:{M}:2", "det:gone:1:0"]}]
    media = [{"id": M, "name": "clip.mp4", "type": "video", "duration_s": 3.0}]

    events, basis = timeline.build(media, evidence, [], [], {M: {"probe": {}}}, frames=frames,
                                   restraint_observations=observations)

    assert basis["order"] == "ingest_order"
    assert [(e["at"], e["kind"]) for e in events] == [
        (0.0, "keyframe"), (1.0, "keyframe"), (2.0, "keyframe"), (2.0, "vision"),
        (2.0, "restraint")]
    assert events[2]["description"] == "garage, indoor, dim; 1 person (sitting on the floor)"
    assert events[2]["evidence"] == [f"kf:{M}:2", f"vlm:{M}:2"]
    assert events[3]["description"] == "visible distress on person 1: crying"
    assert events[4]["description"].startswith("rope reported by vlm")
    assert events[4]["evidence"] == [f"vlm:{M}:2", f"kf:{M}:2"]  # the unknown id is left out
