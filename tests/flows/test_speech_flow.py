"""The speech stages in the analyze-media flow: transcripts and case speakers across files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import select

from aima.flows.analyze import analyze_media
from aima.settings import load_settings
from aima.stages import registry
from aima.storage import open_stores
from aima.storage.models import StageRun
from tests.mediagen import ffmpeg, make_garbled_copy, make_video
from tests.speech import speechgen
from tests.speech.speechgen import MONOLOGUE_A, MONOLOGUE_B, VOICE_A, VOICE_B


@pytest.fixture(scope="module")
def speech_case(tmp_path_factory):
    """Voice A alone; voices A and B in turn; voice B over a video; silence; noise; and a good
    video whose sound track is garbled."""
    root = tmp_path_factory.mktemp("speech-case")
    speechgen.write(root / "a-monologue.wav", np.concatenate(
        [speechgen.silence(0.3), speechgen.speak(MONOLOGUE_A, VOICE_A), speechgen.silence(0.3)]))
    samples, _ = speechgen.dialogue([
        (VOICE_A, "Good morning, thank you for coming in today."),
        (VOICE_B, "Thank you for having me, I was glad to help."),
        (VOICE_A, "Please tell me what you saw on Tuesday evening."),
        (VOICE_B, "I saw two men walking toward the bank."),
    ])
    wav = speechgen.write(root / ".dialogue.wav", samples)
    ffmpeg("-i", wav, "-b:a", "64k", root / "dialogue.mp3")
    wav.unlink()
    voice_b = speechgen.write(root / ".b.wav", speechgen.speak(MONOLOGUE_B, VOICE_B))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-i", voice_b, "-shortest",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           root / "b-video.mp4")
    voice_b.unlink()
    speechgen.write(root / "silence.wav", speechgen.silence(4.0))
    noise = np.random.default_rng(1).normal(0, 0.05, 4 * speechgen.RATE).astype(np.float32)
    speechgen.write(root / "noise.wav", noise)
    good = make_video(root / ".good.mp4", seconds=3.0)
    make_garbled_copy(root / "garbled-sound.mp4", good)
    good.unlink()
    return root


def by_name(report: dict) -> dict[str, dict]:
    names = {m["id"]: m["name"] for m in report["media"]}
    return {names[t["media_id"]]: t for t in report["transcripts"]}


def speakers_of(transcript: dict) -> list[str]:
    return [segment["speaker"] for segment in transcript["segments"]]


def test_transcripts_and_case_speakers_across_files(speech_case, aima_env):
    result = analyze_media(case="voices", sources=[str(speech_case)])

    statuses = {row["name"]: row["status"] for row in result["media"]}
    assert set(statuses.values()) == {"done"}, statuses
    with open_stores(load_settings()) as stores, stores.objects.open(result["report_key"]) as f:
        report = json.load(f)
    transcripts = by_name(report)

    monologue = transcripts["a-monologue.wav"]
    assert monologue["language"] == "en"
    assert "printer" in " ".join(s["text"] for s in monologue["segments"]).lower()
    (voice_a,) = set(speakers_of(monologue))
    (voice_b,) = set(speakers_of(transcripts["b-video.mp4"]))
    assert voice_a != voice_b
    dialogue = speakers_of(transcripts["dialogue.mp3"])
    assert dialogue[0] == voice_a and set(dialogue) == {voice_a, voice_b}
    assert dialogue.index(voice_b) > 0  # B answers A

    for transcript in transcripts.values():
        for segment in transcript["segments"]:
            assert segment["id"].startswith(f"seg:{transcript['media_id']}:")
            for word in segment["words"]:
                assert segment["start"] - 0.01 <= word["start"] <= word["end"] <= segment["end"] + 0.01
    for quiet in ("silence.wav", "noise.wav"):
        assert transcripts[quiet]["segments"] == [], quiet
    garbled = next(m for m in report["media"] if m["name"] == "garbled-sound.mp4")
    assert garbled["keyframes"] >= 1 and not garbled["audio"]
    assert any("audio" in warning for warning in garbled["warnings"])

    persons = {p["speaker_id"]: p for p in report["persons"]}
    assert set(persons) == {voice_a, voice_b}
    media_of = {p: {a["media_id"] for a in persons[p]["appearances"]} for p in persons}
    assert media_of[voice_a] == {monologue["media_id"], transcripts["dialogue.mp3"]["media_id"]}
    assert media_of[voice_b] == {transcripts["b-video.mp4"]["media_id"],
                                 transcripts["dialogue.mp3"]["media_id"]}
    evidence = {e["id"] for e in report["evidence"]}
    assert all(set(a["evidence"]) <= evidence and a["evidence"]
               for p in persons.values() for a in p["appearances"])
    assert report["summary"]["speakers"] == 2


def test_rerun_keeps_speaker_ids_and_recomputes_nothing(speech_case, aima_env):
    first = analyze_media(case="stable", sources=[str(speech_case)])
    with open_stores(load_settings()) as stores:
        with stores.metadata.session() as session:
            runs = {(r.media_id, r.stage): r.attempts for r in session.scalars(select(StageRun))}
        before = stores.documents.get(first["case_id"], "speakers", "case")

    analyze_media(case="stable", sources=[str(speech_case)])

    with open_stores(load_settings()) as stores:
        with stores.metadata.session() as session:
            again = {(r.media_id, r.stage): r.attempts for r in session.scalars(select(StageRun))}
        after = stores.documents.get(first["case_id"], "speakers", "case")
    assert again == runs
    assert {s["id"] for s in after["speakers"]} == {s["id"] for s in before["speakers"]}
    assert after["assignments"] == before["assignments"]
    assert {stage for _, stage in runs} == (registry.stage_names_for("audio")
                                            | registry.stage_names_for("video"))


def test_subtitles_export_per_media_item(speech_case, aima_env, tmp_path):
    analyze_media(case="subtitles", sources=[str(speech_case / "dialogue.mp3"),
                                             str(speech_case / "silence.wav")])
    env = {**os.environ, "AIMA_DATA_DIR": str(aima_env)}
    for format, first_line in (("srt", "1"), ("vtt", "WEBVTT")):
        out = tmp_path / format
        done = subprocess.run([sys.executable, "-m", "aima.cli", "report", "subtitles", "--format",
                               format, "--out", str(out)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        files = sorted(p.name for p in out.iterdir())
        assert files == [f"dialogue.mp3.{format}"]  # silence has no subtitles
        text = (out / files[0]).read_text()
        assert text.splitlines()[0] == first_line
        assert "[speaker-1]" in text and "[speaker-2]" in text
        assert "-->" in text
