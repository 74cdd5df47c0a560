"""``aima analyze`` as a user runs it: a separate process with Prefect's temporary server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.mediagen import make_cut_video, make_images, make_speech_video


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory):
    return tmp_path_factory.mktemp("prefect-home")


def aima_env(data_dir, prefect_home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIMA_", "PREFECT_"))}
    env.update(AIMA_DATA_DIR=str(data_dir), PREFECT_HOME=str(prefect_home),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    return env


def aima(*args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aima.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_analyze_prints_the_case_a_status_table_and_the_report(tmp_path, prefect_home):
    folder = tmp_path / "incoming"
    images = sorted(make_images(folder).values())
    for path in images[1:]:
        path.unlink()
    make_speech_video(folder / "interview.mp4")
    (folder / "readme.mp4").write_text("not a video\n" * 10)
    env = aima_env(tmp_path / "aima-data", prefect_home)

    result = aima("analyze", str(folder), "--case", "intake", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "case intake id " in out
    for name in (images[0].name, "interview.mp4", "readme.mp4"):
        assert name in out
    assert "rejected" in out and "not a media file" in out
    report_path = out.split("report: ", 1)[1].split()[0]
    assert json.loads(open(report_path).read())["case"]["name"] == "intake"

    status = aima("status", "intake", env=env, cwd=tmp_path)
    assert status.returncode == 0 and "interview.mp4" in status.stdout and "done" in status.stdout

    exported = tmp_path / "report.json"
    report = aima("report", "intake", "--format", "json", "--out", str(exported), env=env, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    document = json.loads(exported.read_text())
    assert {m["name"]: m["status"] for m in document["media"]} == {
        images[0].name: "done", "interview.mp4": "done", "readme.mp4": "rejected"}

    unknown = aima("report", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "no case named or with id 'nope'" in unknown.stderr


def test_a_killed_run_resumes_with_the_remaining_files_only(tmp_path, prefect_home):
    folder = tmp_path / "videos"
    for n in range(6):
        make_cut_video(folder / f"scene-{n}.mp4", [4.0, 4.0, 4.0, 4.0, 4.0], size=(640, 360), seed=n)
    data = tmp_path / "aima-data"
    env = aima_env(data, prefect_home)
    process = subprocess.Popen([sys.executable, "-m", "aima.cli", "analyze", str(folder), "--case",
                                "resume"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        done = _wait_for_done_preprocess(data / "aima.db", process, at_least=1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # like a crash: no cleanup runs
        process.wait()
    assert 1 <= len(done) < 6, "the run was not caught halfway"

    result = aima("analyze", str(folder), "--case", "resume", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    after = _preprocess_runs(data / "aima.db")
    assert len(after) == 6 and {status for status, _, _ in after.values()} == {"done"}
    for media_id, (status, attempts, finished) in done.items():
        assert after[media_id] == (status, attempts, finished), "a finished file was redone"
    redone = [m for m in after if m not in done]
    assert redone and all(after[m][0] == "done" for m in redone)


def _preprocess_runs(db) -> dict[str, tuple]:
    with sqlite3.connect(db, timeout=30) as connection:
        rows = connection.execute(
            "SELECT media_id, status, attempts, finished_at FROM stage_runs WHERE stage='preprocess'"
        ).fetchall()
    return {media_id: (status, attempts, finished) for media_id, status, attempts, finished in rows}


def _wait_for_done_preprocess(db, process, at_least: int, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists():
            try:
                runs = _preprocess_runs(db)
            except sqlite3.OperationalError:  # schema not there yet
                runs = {}
            done = {m: r for m, r in runs.items() if r[0] == "done"}
            if len(done) >= at_least:
                return done
        time.sleep(0.05)
    raise AssertionError(f"no preprocess finished (process exit code {process.poll()})")
