"""The case timeline: events in time order within a file, files by capture time where known and by
ingest order where not, and the basis saying which; every event cites evidence the report has."""

from __future__ import annotations

from datetime import UTC, datetime

from aima.report import timeline
from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.report_facts import casegen
from tests.report_facts.conftest import A, PAIR_LINES, SOLO_LINES, analyse, report_of


def build(stores, case_id):
    report, documents = report_of(stores, case_id)
    timeline.complete_locators(report["evidence"], documents, report["transcripts"])
    events, basis = timeline.build(
        report["media"], report["evidence"], report["persons"], report["transcripts"], documents,
        frames=report["frames"], restraint_observations=report["restraint_observations"],
        ingested=timeline.ingest_times(stores, case_id))
    return report, documents, events, basis


def test_events_of_a_video_follow_its_timestamps_and_files_follow_ingest_order(talking_case):
    report, documents, events, basis = build(talking_case.stores, talking_case.case_id)
    solo, pair = talking_case.ids["solo.mp4"], talking_case.ids["pair.mp4"]
    solo_length = next(r["duration_s"] for r in report["media"] if r["id"] == solo)

    # no capture time in either file: ingest order, each file after the one before it
    assert basis["order"] == "ingest_order"
    assert [(m["name"], m["source"], m["origin"]) for m in basis["media"]] == [
        ("solo.mp4", "ingest_order", None), ("pair.mp4", "ingest_order", None)]
    assert [m["start_s"] for m in basis["media"]] == [0.0, solo_length]

    ats = [e["at"] for e in events]
    assert ats == sorted(ats)
    assert [e["media_id"] for e in events] == (
        [solo] * sum(e["media_id"] == solo for e in events)
        + [pair] * sum(e["media_id"] == pair for e in events))
    for event in events:
        offset = 0.0 if event["media_id"] == solo else solo_length
        assert abs(event["at"] - (offset + event["start_s"])) < 1e-6
    # within the solo video: keyframes at their timestamps, sentences in the order spoken
    keyframes = [e for e in events if e["kind"] == "keyframe" and e["media_id"] == solo]
    assert [e["start_s"] for e in keyframes] == [
        k["timestamp_s"] for k in documents[solo]["keyframes"]]
    speech = [e for e in events if e["kind"] == "speech"]
    speaker = speech[0]["speaker"]
    assert [e["description"] for e in speech[:3]] == [f"{speaker}: {line}" for line in SOLO_LINES]
    assert [e["media_id"] for e in speech] == [solo] * 3 + [pair] * 2
    spoken = talking_case.turns["solo.mp4"] + talking_case.turns["pair.mp4"]
    for event, turn in zip(speech, spoken, strict=True):  # where the sentences really are
        assert abs(event["start_s"] - turn.start) < 0.6 and abs(event["end_s"] - turn.end) < 0.6
    assert speech[3]["description"].endswith(PAIR_LINES[0])
    assert all(e["end_s"] > e["start_s"] for e in speech)
    for earlier, later in zip(speech, speech[1:]):
        assert earlier["end_s"] <= later["start_s"] or earlier["media_id"] != later["media_id"]
    # one run of keyframes per person and file: the astronaut alone in solo, two persons in pair
    faces = [e for e in events if e["kind"] == "face"]
    assert sorted((e["name"], e["start_s"], e["end_s"]) for e in faces) == sorted(
        [("solo.mp4", 0.0, documents[solo]["keyframes"][-1]["timestamp_s"])]
        + [("pair.mp4", 0.0, documents[pair]["keyframes"][-1]["timestamp_s"])] * 2)
    assert all(e["description"].endswith("on screen") and e["person"] for e in faces)
    known = {item["id"] for item in report["evidence"]}
    assert all(e["evidence"] and set(e["evidence"]) <= known for e in events)
    # locators: every face points at its keyframe's picture, every segment has its language
    for item in report["evidence"]:
        if item["kind"] == "face":
            frame = documents[item["media_id"]]["keyframes"][item["frame"]]
            assert item["thumbnail_key"] == frame["thumbnail_key"]
            assert item["object_key"] == frame["key"]
        if item["kind"] == "audio_segment":
            assert item["language"] == "en"


def test_capture_time_beats_ingest_order_and_a_photo_without_one_comes_after(tmp_path, models):
    folder = tmp_path / "photos"
    # ingested in this order: the later photo first, the undated one, the earlier photo last
    photos = [("late.jpg", "2024:05:06 10:00:00", "chelsea"), ("undated.jpg", None, "rocket"),
              ("early.jpg", "2024:05:06 09:59:30", "coffee")]
    for variant, (name, taken, backdrop) in enumerate(photos):
        casegen.dated_photo(folder / name, [(A, 140, (200, 100))], taken, backdrop=backdrop,
                            variant=variant)
    with open_stores(Settings(data_dir=tmp_path / "data", ocr_enabled=False,
                              model_cache_dir=models.settings.model_cache_dir)) as stores:
        case_id = str(get_or_create_case(stores.metadata, "photos").id)
        ids = analyse(stores, case_id, folder, [name for name, _, _ in photos], models,
                      case_stages=("link-persons",))

        report, documents, events, basis = build(stores, case_id)

    assert basis["order"] == "mixed"
    assert [(m["name"], m["source"], m["origin"], m["start_s"]) for m in basis["media"]] == [
        ("early.jpg", "capture_time", "2024-05-06T09:59:30+00:00", 0.0),
        ("late.jpg", "capture_time", "2024-05-06T10:00:00+00:00", 30.0),
        ("undated.jpg", "ingest_order", None, 30.0)]
    faces = [e for e in events if e["kind"] == "face"]
    assert [(e["name"], e["at"]) for e in faces] == [
        ("early.jpg", 0.0), ("late.jpg", 30.0), ("undated.jpg", 30.0)]
    assert len({e["person"] for e in faces}) == 1  # one face, one person
    # the image's picture is the locator of its faces
    assert all(item["thumbnail_key"] == documents[item["media_id"]]["thumbnail_key"]
               for item in report["evidence"] if item["kind"] == "face")

    dated = [row for row in report["media"] if row["id"] != ids["undated.jpg"]]
    start, only_dated = timeline.axis(dated, documents)
    assert only_dated["order"] == "capture_time"
    assert start == {ids["early.jpg"]: 0.0, ids["late.jpg"]: 30.0}
    undated = [row for row in report["media"] if row["id"] == ids["undated.jpg"]]
    assert timeline.axis(undated, documents)[1]["order"] == "ingest_order"
    assert timeline.capture_time(documents[ids["late.jpg"]]) == datetime(2024, 5, 6, 10,
                                                                         tzinfo=UTC)
