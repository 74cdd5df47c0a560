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

    make_cut_video(folder / "silent.mp4", [1.0], size=(160, 90))
    env["COLUMNS"] = "400"
    # the narrative's replies capped (the packaged model writes to its cap: 2048 tokens took
    # about a minute of this test); what is checked is that it is written and grounded
    env["AIMA_LLM_MAX_NEW_TOKENS"] = "512"

    result = aima("analyze", str(folder), "--case", "intake", "--context",
                  "Harbour CCTV, night of 2 March", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    # a done file says what was not done
    assert "describe skipped: no vision-language model configured" in out
    assert "transcribe skipped: no audio track" in out
    assert "case intake id " in out
    for name in (images[0].name, "interview.mp4", "readme.mp4"):
        assert name in out
    assert "rejected" in out and "not a media file" in out
    report_path = out.split("report (json, version 1): ", 1)[1].split()[0]
    written = json.loads(open(report_path).read())
    # the HTML report is written beside the JSON
    html_path = out.split("report (html, version 1): ", 1)[1].split()[0]
    assert html_path == report_path[:-len(".json")] + ".html"
    assert "<html" in open(html_path).read(2000).lower()
    assert written["case"]["name"] == "intake"
    assert written["case"]["context"] == "Harbour CCTV, night of 2 March"
    # the packaged language model wrote a narrative offline; whatever it cites exists
    narrative = written["narrative"]
    assert narrative["status"] == "written", narrative.get("reason")
    assert narrative["model_id"].startswith("gguf:SmolLM2-135M-Instruct")
    known = {item["id"] for item in written["evidence"]}
    cited = [ref for section in ("timeline", "persons", "restraints", "indicators",
                                 "contradictions", "requires_human_review")
             for claim in narrative[section] for ref in claim.get("evidence", [])]
    assert set(cited) <= known
    assert narrative["grounding"]["claims"] >= narrative["grounding"]["grounded"]
    silent = next(m for m in written["media"] if m["name"] == "silent.mp4")
    assert silent["status"] == "done"
    assert {s["stage"]: s["status"] for s in silent["stages"]} == {
        "ingest": "done", "preprocess": "done", "describe": "skipped", "faces": "done",
        "detect-restraints": "skipped", "ocr": "done", "transcribe": "skipped",
        "diarize": "skipped"}

    status = aima("status", "intake", env=env, cwd=tmp_path)
    assert status.returncode == 0 and "interview.mp4" in status.stdout and "done" in status.stdout

    exported = tmp_path / "report.json"
    report = aima("report", "intake", "--format", "json", "--out", str(exported), env=env, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    document = json.loads(exported.read_text())
    assert {m["name"]: m["status"] for m in document["media"]} == {
        images[0].name: "done", "interview.mp4": "done", "readme.mp4": "rejected",
        "silent.mp4": "done"}

    unknown = aima("report", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "no case named or with id 'nope'" in unknown.stderr

    # the run saved version 1; an unknown version is one clear line naming the saved ones
    saved = aima("report", "intake", "--version", "1", env=env, cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout) == written
    missing = aima("report", "intake", "--version", "9", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "no report version 9; saved versions: 1" in missing.stderr

    tables = aima("report", "intake", "--format", "csv", "--out", str(tmp_path / "csv"),
                  env=env, cwd=tmp_path)
    assert tables.returncode == 0, tables.stderr
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "persons.csv", "timeline.csv", "transcript.csv"]
    for format, name in (("html", "report.html"), ("pdf", "report.pdf"),
                         ("geojson", "places.geojson")):
        made = aima("report", "intake", "--format", format, "--out", str(tmp_path / name),
                    env=env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert f"wrote {tmp_path / name}" in " ".join(made.stderr.split())
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((tmp_path / "places.geojson").read_text())["type"] == "FeatureCollection"
    no_out = aima("report", "intake", "--format", "html", env=env, cwd=tmp_path)
    assert no_out.returncode == 2 and "--format html needs --out FILE" in no_out.stderr


# Written as sitecustomize.py into a folder on the first run's PYTHONPATH: in that process, the
# first keyframe extraction runs, every later one blocks (and says so in a file) until the test
# kills the process. It patches aima.media.keyframes.iter_keyframes as soon as the module is
# imported; the preprocess stage looks the function up on the module when it calls it.
HOLD_KEYFRAMES = """
import importlib.abc, importlib.machinery, os, sys, threading
from pathlib import Path

HERE = Path(__file__).parent


def _let_only_the_first_call_through(module):
    original = module.iter_keyframes
    lock = threading.Lock()
    calls = []

    def iter_keyframes(*args, **kwargs):
        with lock:
            calls.append(args[0] if args else kwargs.get("path"))
            n = len(calls)
        if n > 1:
            (HERE / f"held-{os.getpid()}-{n}").touch()
            threading.Event().wait()  # forever: the test kills this process
        return original(*args, **kwargs)

    module.iter_keyframes = iter_keyframes


class _PatchKeyframes(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "aima.media.keyframes":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _let_only_the_first_call_through(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchKeyframes())
"""


def test_a_killed_run_resumes_with_the_remaining_files_only(tmp_path, prefect_home):
    folder = tmp_path / "videos"
    for n in range(6):
        make_cut_video(folder / f"scene-{n}.mp4", [2.0, 2.0, 2.0], size=(320, 180), seed=n)
    data = tmp_path / "aima-data"
    env = aima_env(data, prefect_home)
    env["AIMA_LLM_ENABLED"] = "false"  # this test is about resuming the file stages
    hook = tmp_path / "hold-keyframes"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_KEYFRAMES)
    held_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook),
                                                                     env.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "aima.cli", "analyze", str(folder), "--case",
                                "resume"], env=held_env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # One file is through preprocessing and at least one other is held inside it.
        _wait_until(lambda: len(_done(data / "aima.db")) >= 1 and any(hook.glob("held-*")),
                    process, "one preprocess done and another one held")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # like a crash: no cleanup runs
        process.wait()
    done = _done(data / "aima.db")
    assert len(done) == 1, f"expected exactly one finished preprocess, got {done}"

    result = aima("analyze", str(folder), "--case", "resume", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    after = _preprocess_runs(data / "aima.db")
    assert len(after) == 6 and {status for status, _, _ in after.values()} == {"done"}
    [(media_id, before)] = done.items()
    assert after[media_id] == before, "the file finished before the kill was preprocessed again"
    for name in (f"scene-{n}.mp4" for n in range(6)):
        assert name in result.stdout
    assert "done" in result.stdout and "failed" not in result.stdout


def _done(db) -> dict[str, tuple]:
    if not db.exists():
        return {}
    try:
        runs = _preprocess_runs(db)
    except sqlite3.OperationalError:  # schema not there yet
        return {}
    return {media_id: run for media_id, run in runs.items() if run[0] == "done"}


def _preprocess_runs(db) -> dict[str, tuple]:
    with sqlite3.connect(db, timeout=30) as connection:
        rows = connection.execute(
            "SELECT media_id, status, attempts, finished_at FROM stage_runs WHERE stage='preprocess'"
        ).fetchall()
    return {media_id: (status, attempts, finished) for media_id, status, attempts, finished in rows}


def _wait_until(condition, process, what: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never came to {what} (process exit code {process.poll()})")
