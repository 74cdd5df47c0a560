"""The analyze-media flow on a folder of real generated media, the bad-input corpus included."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from sqlalchemy import select

from aima.flows.analyze import analyze_media
from aima.settings import load_settings
from aima.stages import registry
from aima.storage import audit, open_stores
from aima.storage.cases import get_case
from aima.storage.models import Job, MediaItem, StageRun
from aima.storage.objects import case_prefix
from tests.mediagen import (
    BAD_CORPUS_MAX_BYTES, make_audio_files, make_bad_corpus, make_images, make_speech_video,
)

REPORT_KEYS = {"case", "media", "persons", "timeline", "transcripts", "summary",
               "requires_human_review", "evidence"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Images, a video with speech, an audio file and every kind of bad input, in one folder."""
    root = tmp_path_factory.mktemp("case-folder")
    images = sorted(make_images(root / "images").values())
    for path in images[2:]:  # two images are enough here; the media tests cover every format
        path.unlink()
    make_speech_video(root / "video" / "speech.mp4")
    for name, path in make_audio_files(root / "audio").items():
        if name != "mp3":  # small enough for the bad corpus's size limit
            path.unlink()
    expected_bad = make_bad_corpus(root / "bad")
    return root, {f"bad/{name}": code for name, code in expected_bad.items()}


def stage_runs(data_dir) -> dict[tuple[str, str], tuple]:
    with open_stores(load_settings()) as stores, stores.metadata.session() as session:
        rows = session.execute(
            select(MediaItem.original_name, StageRun.stage, StageRun.attempts, StageRun.finished_at)
            .join(MediaItem, MediaItem.id == StageRun.media_id)
        ).all()
    return {(name, stage): (attempts, finished) for name, stage, attempts, finished in rows}


def test_a_folder_with_good_and_bad_files(corpus, aima_env, monkeypatch):
    root, expected_bad = corpus
    monkeypatch.setenv("AIMA_MAX_FILE_BYTES", str(BAD_CORPUS_MAX_BYTES))

    result = analyze_media(case="harbour", sources=[str(root)])

    rows = {row["name"]: row for row in result["media"]}
    for name, code in expected_bad.items():
        assert rows[name]["status"] in ("rejected", "failed"), name
        assert rows[name]["error_code"] == code, (name, rows[name]["error"])
        assert rows[name]["error"], name
    good = {name: row for name, row in rows.items() if name not in expected_bad}
    assert {row["status"] for row in good.values()} == {"done"}, good
    assert {row["type"] for row in good.values()} == {"image", "video", "audio"}

    with open_stores(load_settings()) as stores:
        case = get_case(stores.metadata, "harbour")
        prefix = case_prefix(str(case.id))
        keys = [info.key for info in stores.objects.list(prefix)]
        video = next(r for r in good.values() if r["type"] == "video")
        audio = next(r for r in good.values() if r["type"] == "audio")
        image = next(r for r in good.values() if r["type"] == "image")
        assert any(k.startswith(f"{prefix}keyframes/{video['id']}/") for k in keys)
        assert any(k.startswith(f"{prefix}thumbnails/{video['id']}/") for k in keys)
        assert f"{prefix}audio/{video['id']}.wav" in keys
        assert f"{prefix}audio/{audio['id']}.wav" in keys
        assert f"{prefix}thumbnails/{image['id']}/image.jpg" in keys
        with stores.objects.open(result["report_key"]) as stream:
            report = json.load(stream)
        with stores.metadata.session() as session:
            batch = session.scalars(select(Job).where(Job.kind == "batch")).one()
            files = session.scalars(select(Job).where(Job.parent_id == batch.id)).all()
    assert REPORT_KEYS <= set(report)
    assert len(files) == len(rows)  # one sub-job per file
    assert all(job.finished_at is not None for job in files)
    assert batch.status == "done_with_errors"
    entry = next(m for m in report["media"] if m["name"] == video["name"])
    assert {"id", "name", "sha256", "type", "status", "error"} <= set(entry)
    assert entry["keyframes"] >= 1 and entry["audio"] is True
    assert any(e["media_id"] == video["id"] and e["id"].startswith("kf:") for e in report["evidence"])


def test_running_again_recomputes_nothing(corpus, aima_env, monkeypatch):
    root, _ = corpus
    monkeypatch.setenv("AIMA_MAX_FILE_BYTES", str(BAD_CORPUS_MAX_BYTES))
    analyze_media(case="again", sources=[str(root / "video"), str(root / "images")])
    before = stage_runs(aima_env)

    analyze_media(case="again", sources=[str(root / "video"), str(root / "images")])

    assert stage_runs(aima_env) == before  # same runs, same attempt counts, same finish times
    assert {stage for _, stage in before} == (registry.stage_names_for("video")
                                              | registry.stage_names_for("image"))

    analyze_media(case="again", sources=[str(root / "video")], reanalyse=True)
    after = stage_runs(aima_env)
    video = next(name for name, stage in before if name.endswith(".mp4"))
    assert after[(video, "preprocess")][0] == before[(video, "preprocess")][0] + 1


def test_the_same_bytes_twice_are_one_media_item(corpus, aima_env, tmp_path):
    root, _ = corpus
    twins = tmp_path / "twins"
    twins.mkdir()
    source = root / "video" / "speech.mp4"
    shutil.copy(source, twins / "a.mp4")
    shutil.copy(source, twins / "copy-of-a.mp4")

    result = analyze_media(case="twins", sources=[str(twins)])

    assert len(result["media"]) == 1
    row = result["media"][0]
    assert row["status"] == "done"
    assert len(row["also_at"]) == 1 and row["also_at"][0].endswith(".mp4")
    assert row["source"] != row["also_at"][0]


def test_a_transient_store_error_is_retried_and_bad_input_is_not(corpus, aima_env, monkeypatch):
    """The first upload of the image fails as if the object store hiccupped; Prefect retries."""
    from aima.storage.objects.local import LocalObjectStore

    root, _ = corpus
    real_put_file = LocalObjectStore.put_file
    calls = {"n": 0}

    def flaky_put_file(self, key, path, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("connection reset by peer")
        return real_put_file(self, key, path, **kwargs)

    monkeypatch.setattr(LocalObjectStore, "put_file", flaky_put_file)
    one_image = next((root / "images").iterdir())
    bad = root / "bad" / "notes.mp4"

    result = analyze_media(case="flaky", sources=[str(one_image), str(bad)])

    rows = {row["name"]: row for row in result["media"]}
    assert rows[one_image.name]["status"] == "done"
    assert rows["notes.mp4"]["status"] == "rejected"
    assert calls["n"] >= 2  # failed once, then succeeded on retry
    with open_stores(load_settings()) as stores, stores.metadata.session() as session:
        ingest_runs = session.scalars(select(StageRun).where(StageRun.stage == "ingest")).all()
    assert [run.attempts for run in ingest_runs] == [1]  # the bad file never got a stage run


def test_a_picture_whose_stage_breaks_fails_alone_at_that_stage(corpus, aima_env, monkeypatch):
    """A picture's stages run as one task run; a stage that raises (not bad media, after its
    retries) fails that file at that stage, keeps what ran before it, and the others go on."""
    from aima.stages import ocr

    root, _ = corpus
    images = sorted((root / "images").iterdir())[:2]
    broken = images[0].name
    real_compute = ocr.STAGE.compute

    def compute(request, model):
        if request.media_id == broken_id.get("id"):
            raise ValueError("the OCR engine crashed")
        return real_compute(request, model)

    broken_id = {}
    real_plan = ocr.STAGE.plan

    def plan(ctx, item, model):
        if item.original_name == broken:
            broken_id["id"] = str(item.id)
        return real_plan(ctx, item, model)

    monkeypatch.setattr(ocr.STAGE, "compute", compute)
    monkeypatch.setattr(ocr.STAGE, "plan", plan)

    result = analyze_media(case="broken-stage", sources=[str(path) for path in images])

    rows = {row["name"]: row for row in result["media"]}
    assert rows[images[1].name]["status"] == "done"
    assert rows[broken]["status"] == "failed"
    assert rows[broken]["error_code"] == "ocr_error"
    assert "the OCR engine crashed" in rows[broken]["error"]
    stages = {stage["stage"]: stage["status"] for stage in rows[broken]["stages"]}
    assert stages["preprocess"] == "done" and stages["faces"] == "done"
    assert stages["ocr"] == "failed"


def test_unknown_case_sources_are_reported_not_fatal(aima_env, tmp_path):
    missing = tmp_path / "does-not-exist.mp4"
    result = analyze_media(case="missing", sources=[str(missing)])
    (row,) = result["media"]
    assert row["status"] == "rejected" and row["error_code"] == "unreadable"
    assert str(uuid.UUID(result["case_id"])) == result["case_id"]


def test_on_server_stores_with_an_s3_prefix_as_the_source(corpus, aima_env, monkeypatch, postgres,
                                                          mongo_server, milvus_server, s3_server):
    """PostgreSQL, MongoDB, Milvus and S3 instead of the embedded stores; files read from S3."""
    from minio import Minio

    root, _ = corpus
    monkeypatch.setenv("AIMA_DATABASE_URL", postgres.create_database())
    monkeypatch.setenv("AIMA_DOCUMENTS_URL", mongo_server.url)
    monkeypatch.setenv("AIMA_DOCUMENTS_DATABASE", "aima_" + uuid.uuid4().hex[:8])
    monkeypatch.setenv("AIMA_VECTORS_URL", milvus_server.url)
    monkeypatch.setenv("AIMA_OBJECTS_URL", "s3://aima-objects")
    monkeypatch.setenv("AIMA_S3__ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("AIMA_S3__ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("AIMA_S3__SECRET_KEY", s3_server.secret_key)
    monkeypatch.setenv("AIMA_S3__REGION", "us-east-1")
    client = Minio(s3_server.endpoint.removeprefix("http://"), access_key=s3_server.access_key,
                   secret_key=s3_server.secret_key, secure=False, region="us-east-1")
    client.make_bucket("incoming-media")
    uploads = [root / "video" / "speech.mp4", root / "bad" / "notes.mp4",
               *sorted((root / "images").iterdir())[:1]]
    for path in uploads:
        client.fput_object("incoming-media", f"case-7/{path.name}", str(path))

    state = analyze_media(case="on-servers", sources=["s3://incoming-media/case-7/"],
                          return_state=True)
    result = state.result()

    rows = {row["name"]: row for row in result["media"]}
    assert rows["speech.mp4"]["status"] == "done" and rows["notes.mp4"]["status"] == "rejected"
    assert rows["speech.mp4"]["source"] == "s3://incoming-media/case-7/speech.mp4"
    with open_stores(load_settings()) as stores:
        assert stores.metadata.dialect == "postgresql"
        case_id = result["case_id"]
        stages = sorted(d.stage for d in stores.documents.query(case_id))
        assert stages == ["diarize", "faces", "faces", "fuse", "link-persons", "near-duplicates",
                          "ocr", "ocr", "preprocess", "preprocess", "report", "speakers",
                          "transcribe"]
        assert stores.vectors.count(case_id) == 1  # the voice of speech.mp4, in Milvus
        keys = [i.key for i in stores.objects.list(case_prefix(case_id))]
        assert any("/keyframes/" in k for k in keys) and any(k.endswith(".wav") for k in keys)
        with stores.objects.open(result["report_key"]) as stream:
            report_text = stream.read().decode()
        audit_text = json.dumps([e.details for e in audit.events(stores.metadata)])
    assert_no_secrets(state.state_details.flow_run_id, [report_text, audit_text],
                      [s3_server.secret_key, postgres.password])


def assert_no_secrets(flow_run_id, texts: list[str], secrets: list[str]) -> None:
    """No secret in the flow run's logs, in its artifacts, or in the given texts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId,
    )

    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        run = client.read_flow_run(flow_run_id)
    assert logs and artifacts
    everything = texts + [log.message for log in logs] + [str(a.data) for a in artifacts] + [
        json.dumps(run.parameters)]
    for secret in secrets:
        assert not any(secret in text for text in everything)


def test_the_flow_run_shows_progress_and_a_table_of_files(corpus, aima_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    root, _ = corpus
    analyze_media(case="Pier 9", sources=[str(root / "images"), str(root / "bad" / "notes.mp4")])

    keys = ["aima-progress-pier-9", "aima-files-pier-9", "aima-summary-pier-9"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    latest = {a.key: a for a in sorted(artifacts, key=lambda a: a.created)}
    assert set(latest) == set(keys)
    assert latest["aima-progress-pier-9"].type == "progress"
    assert float(latest["aima-progress-pier-9"].data) == 100.0
    table = json.loads(latest["aima-files-pier-9"].data)
    assert {row["name"]: row["status"] for row in table}["notes.mp4"] == "rejected"
    assert len(table) == 3
    summary = latest["aima-summary-pier-9"].data
    assert "| notes.mp4 |  | rejected | not a media file" in summary
    # the summary says that no narrative was written (no LLM in these tests) and where the
    # exports of this run's report version are
    assert "No narrative was written: no language model configured" in summary
    assert "## Exports" in summary and "exports/report-v1.json" in summary
    assert "exports/report.html" in summary


def test_no_file_vanishes_whatever_a_stage_raises(corpus, aima_env, monkeypatch):
    """An unexpected exception in ingest or in a later stage fails that file alone, which stays in
    the report, the files table and the status with a specific reason."""
    from aima.stages import ingest as ingest_stage
    from aima.stages.preprocess import Preprocess

    root, _ = corpus
    first, second, third = sorted((root / "images").iterdir())[:2] + [root / "video" / "speech.mp4"]
    real_sniff, real_compute = ingest_stage.sniff, Preprocess.compute
    calls = {"compute": 0}

    def sniff(path, *args, **kwargs):
        if path.name == first.name:
            raise RuntimeError("the decoder crashed")
        return real_sniff(path, *args, **kwargs)

    def compute(self, request, model):
        if request.media_type == "video":
            calls["compute"] += 1
            raise ValueError("keyframe index out of range")
        return real_compute(self, request, model)

    monkeypatch.setattr(ingest_stage, "sniff", sniff)
    monkeypatch.setattr(Preprocess, "compute", compute)

    result = analyze_media(case="vanish", sources=[str(first), str(second), str(third)])

    rows = {row["name"]: row for row in result["media"]}
    assert len(rows) == 3
    assert (rows[first.name]["status"], rows[first.name]["error_code"]) == ("failed", "ingest_error")
    assert "RuntimeError: the decoder crashed" in rows[first.name]["error"]
    assert (rows[third.name]["status"], rows[third.name]["error_code"]) == (
        "failed", "preprocess_error")
    assert "ValueError: keyframe index out of range" in rows[third.name]["error"]
    assert rows[second.name]["status"] == "done"
    assert calls["compute"] == 1  # a bug is not retried
    with open_stores(load_settings()) as stores:
        with stores.objects.open(result["report_key"]) as stream:
            report = json.load(stream)
        with stores.metadata.session() as session:
            jobs = session.scalars(select(Job).where(Job.kind == "file")).all()
    assert {m["name"] for m in report["media"]} == set(rows)
    assert report["summary"]["files"] == 3
    assert sorted(job.status for job in jobs) == ["done", "failed", "failed"]


def task_run_names(flow_run_id, expected: int, timeout_s: float = 60.0) -> list[str]:
    """The names of a flow run's task runs, once the server has recorded ``expected`` of them
    (their states reach it as events, just after the tasks return)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[flow_run_id])))
            if len(runs) >= expected or time.monotonic() > deadline:
                return sorted(run.name for run in runs)
            time.sleep(0.5)


def test_a_short_file_is_one_task_run_and_a_long_one_a_task_run_per_stage(corpus, aima_env,
                                                                           monkeypatch):
    """A picture, and a recording up to AIMA_ONE_TASK_MAX_S, go through ingest and every stage
    in one task run; a longer one runs each stage as a task run of its own. Same results."""
    root, _ = corpus
    sources = [str(root / "audio"), str(next((root / "images").iterdir()))]
    audio = next((root / "audio").iterdir()).name
    stages = [s.name for s in registry.media_stages("audio")]

    state = analyze_media(case="one-task", sources=sources, return_state=True)
    short = state.result()
    names = task_run_names(state.state_details.flow_run_id, expected=2)
    assert [n for n in names if n.startswith("analyse ")] == sorted(
        f"analyse {row['name']}" for row in short["media"])
    assert not any(n.startswith(f"{stage} ") for n in names for stage in stages)

    monkeypatch.setenv("AIMA_ONE_TASK_MAX_S", "0")  # only pictures are short now
    state = analyze_media(case="task-per-stage", sources=sources, return_state=True)
    long = state.result()
    names = task_run_names(state.state_details.flow_run_id, expected=2 + len(stages))
    assert {f"{stage} {audio}" for stage in stages} <= set(names)
    assert [n for n in names if n.startswith("analyse ")] == sorted(
        f"analyse {row['name']}" for row in long["media"])

    def outcome(result):
        return {row["name"]: (row["status"], sorted((s["stage"], s["status"])
                                                    for s in row["stages"]))
                for row in result["media"]}

    assert outcome(short) == outcome(long)
    assert all(status == "done" for status, _ in outcome(long).values())
