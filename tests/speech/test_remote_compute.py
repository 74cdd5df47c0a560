"""A GPU stage's compute half runs where only presigned URLs reach: no store credentials.

The parent holds the stores (objects on an S3 server that checks signatures); the child process
gets one job file with presigned GET/PUT URLs and an environment with no AIMA store setting, runs
``transcribe``'s compute half, and the parent records the result like a local run.
"""

from __future__ import annotations

import os
import subprocess
import sys

from aima.pipeline import remote
from aima.pipeline.remote import PresignedExecutor, RemoteJob
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.settings import S3Settings, Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import StageRun


def test_transcribe_computes_in_a_process_that_holds_only_presigned_urls(
        tmp_path, s3_server, recognizer, model_cache, english_clip, monkeypatch):
    settings = Settings(
        data_dir=tmp_path / "parent", objects_url="s3://aima-remote",
        s3=S3Settings(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                      secret_key=s3_server.secret_key, region="us-east-1"))
    child_env = {name: value for name, value in os.environ.items()
                 if not name.startswith(("AIMA_", "PREFECT_"))}
    child_env.update(HF_HUB_OFFLINE="1", AIMA_MODEL_CACHE_DIR=str(model_cache),
                     AIMA_DATA_DIR=str(tmp_path / "child"))
    jobs: list[str] = []
    reported: list[float | None] = []  # the job's own seconds, as the parent reads them back
    read_back = remote.read_result

    def read_result(*args, **kwargs):
        computed = read_back(*args, **kwargs)
        reported.append(computed.remote_s)
        return computed

    monkeypatch.setattr(remote, "read_result", read_result)

    def launch(job: RemoteJob) -> None:
        path = tmp_path / "job.json"
        path.write_text(job.model_dump_json())
        jobs.append(path.read_text())
        done = subprocess.run([sys.executable, "-m", "aima.pipeline.remote", str(path)],
                              env=child_env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    with open_stores(settings) as stores:
        case = get_or_create_case(stores.metadata, "remote")
        source = SourceFile(uri=str(english_clip), name="english.wav")
        media_id = ingest_file(stores, settings, str(case.id), source).media_id
        assert run_media_stage(stores, "preprocess", media_id).status == "done"

        outcome = run_media_stage(stores, "transcribe", media_id, models={"asr": recognizer}.get,
                                  executor=PresignedExecutor(launch))

        assert outcome.status == "done" and outcome.detail == "language en"
        document = stores.documents.get(str(case.id), "transcribe", media_id)
        words = " ".join(w["word"] for s in document["segments"] for w in s["words"]).lower()
        assert "fox" in words and "lazy" in words
        assert document["model_id"] == recognizer.model_id
        with stores.metadata.session() as session:
            run = session.query(StageRun).filter_by(stage="transcribe").one()
            assert (run.status, run.attempts) == ("done", 1)
            # the ledger's duration counts the job's time on the other machine, not only the
            # parent's reading back and recording
            (seconds,) = reported
            assert seconds is not None and seconds > 0 and run.duration_s >= seconds
        work = [info.key for info in stores.objects.list(f"cases/{case.id}/work/")]
        assert work == []  # the result object is removed once recorded

    (job,) = jobs
    assert s3_server.secret_key not in job and s3_server.access_key not in job.split("X-Amz")[0]
    assert "sqlite" not in job and "vectors" not in job
    assert not any(name.startswith("AIMA_") and name.endswith("_URL") for name in child_env)

