"""The WhisperX adapter without whisperx: result conversion, diarizer choice, the windowed loop.

whisperx needs torch 2.9.1 and downloads its alignment and pyannote models, so it cannot run here
(FACTS.md). Its results are plain dicts and DataFrames; these tests build them in exactly the
shapes whisperx 3.8 returns, from a real transcription and real reference turns of the dialogue.
A whisperx stand-in whose Whisper is the embedded faster-whisper model drives the recognizer
itself through its windows.
"""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import jiwer
import pandas as pd
import pytest
from pyannote.core import Annotation
from pyannote.core import Segment as Span

from aima.models import whisperx_adapter
from aima.models.whisperx_adapter import (
    PyannoteDiarizer,
    WhisperXRecognizer,
    WhisperXUnavailable,
    choose_diarization,
    pyannote_or,
    shift_segments,
    transcript_from_whisperx,
    turns_from_dataframe,
)
from aima.speech.diarization import Diarizer, assign_speakers
from tests.speech.scoring import der, normalise


def whisperx_result(transcript, with_speakers: bool = True) -> dict:
    """``transcript`` shaped as whisperx.align + assign_word_speakers return it."""
    segments = []
    for segment in transcript.segments:
        words = []
        for word in segment.words:
            item = {
                "word": word.word,
                "start": word.start,
                "end": word.end,
                "score": word.probability,
            }
            if with_speakers:
                item["speaker"] = word.speaker
            words.append(item)
        entry = {
            "start": segment.start,
            "end": segment.end,
            "text": " " + segment.text,
            "words": words,
        }
        if with_speakers:
            entry["speaker"] = segment.speaker
        segments.append(entry)
    return {"segments": segments, "language": transcript.language}


def diarize_dataframe(turns) -> pd.DataFrame:
    """What whisperx.diarize.DiarizationPipeline returns: built from a pyannote Annotation."""
    annotation = Annotation()
    labels = {}
    for turn in turns:
        labels.setdefault(turn.voice, f"SPEAKER_{len(labels):02d}")
        annotation[Span(turn.start, turn.end)] = labels[turn.voice]
    frame = pd.DataFrame(
        annotation.itertracks(yield_label=True), columns=["segment", "label", "speaker"]
    )
    frame["start"] = frame["segment"].apply(lambda x: x.start)
    frame["end"] = frame["segment"].apply(lambda x: x.end)
    return frame


def test_pyannote_turns_come_from_the_dataframe(dialogue):
    turns = turns_from_dataframe(diarize_dataframe(dialogue.turns))

    assert [(t.start, t.end) for t in turns] == [(r.start, r.end) for r in dialogue.turns]
    assert [t.speaker for t in turns[:3]] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]


def test_an_aligned_and_diarized_result_becomes_our_transcript(dialogue, dialogue_transcript):
    turns = turns_from_dataframe(diarize_dataframe(dialogue.turns))
    expected = assign_speakers(dialogue_transcript, turns)
    result = whisperx_result(expected)

    transcript = transcript_from_whisperx(
        result, duration_s=dialogue_transcript.duration_s, turns=turns
    )

    assert transcript == expected.model_copy(update={  # whisperx gives no probabilities
        "language_probability": None,
        "segments": [s.model_copy(update={"language_probability": None})
                     for s in expected.segments]})
    assert {s.speaker for s in transcript.segments} == {"SPEAKER_00", "SPEAKER_01"}


def test_words_whisperx_could_not_align_get_the_time_between_their_neighbours(dialogue_transcript):
    result = whisperx_result(dialogue_transcript, with_speakers=False)
    index = next(i for i, s in enumerate(result["segments"]) if len(s["words"]) >= 4)
    words = result["segments"][index]["words"]
    before, missing, after = words[1], words[2], words[3]
    for key in ("start", "end", "score"):  # whisperx leaves these out for e.g. "10" or "%"
        del missing[key]

    transcript = transcript_from_whisperx(result, duration_s=dialogue_transcript.duration_s)

    word = transcript.segments[index].words[2]
    assert (word.start, word.end) == (before["end"], after["start"])
    assert word.probability is None and word.speaker is None
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)


def test_window_results_are_shifted_into_file_time(dialogue_transcript):
    result = whisperx_result(dialogue_transcript)
    half = len(result["segments"]) // 2
    window_start = result["segments"][half]["start"] - 0.5
    second_window = shift_segments(result["segments"][half:], -window_start)  # as whisperx saw it

    rebuilt = result["segments"][:half] + shift_segments(second_window, window_start)

    assert [s["start"] for s in rebuilt] == pytest.approx([s["start"] for s in result["segments"]])
    assert [w["end"] for s in rebuilt for w in s["words"]] == pytest.approx(
        [w["end"] for s in result["segments"] for w in s["words"]]
    )
    assert second_window[0]["start"] == pytest.approx(0.5)


def test_unaligned_and_empty_results():
    unaligned = {
        "segments": [{"start": 1.0, "end": 2.5, "text": " Hello there."}],
        "language": "en",
    }
    transcript = transcript_from_whisperx(unaligned, duration_s=3.0, language_probability=1.0)
    assert transcript.text == "Hello there." and transcript.segments[0].words == []

    empty = transcript_from_whisperx({"segments": [], "language": None}, duration_s=3.0)
    assert empty.is_empty and empty.language is None


def test_pyannote_only_with_a_token_and_a_reachable_hub(monkeypatch):
    assert choose_diarization(None, online=True) == "embedded"
    assert choose_diarization("", online=True) == "embedded"
    assert choose_diarization("hf_token", online=False) == "embedded"
    assert choose_diarization("hf_token", online=True) == "pyannote"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert choose_diarization("hf_token") == "embedded"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert choose_diarization("hf_token") == "pyannote"


def test_a_pyannote_pipeline_that_cannot_load_means_embedded_diarization(
    monkeypatch, diarizer, voice_encoder
):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    made = []

    def gated(**kwargs):
        made.append(kwargs)
        raise OSError(
            "401 Client Error: access to pyannote/speaker-diarization-community-1 is restricted"
        )

    assert pyannote_or(diarizer, "hf_token", voice_encoder, factory=gated) is diarizer
    assert made == [{"model_name": None, "token": "hf_token", "device": "cuda"}]
    assert pyannote_or(diarizer, None, voice_encoder, factory=gated) is diarizer
    assert len(made) == 1  # no token: not even tried

    pyannote = pyannote_or(diarizer, "hf_token", voice_encoder, factory=lambda **kwargs: object())
    assert isinstance(pyannote, PyannoteDiarizer) and isinstance(pyannote, Diarizer)
    assert pyannote.loaded  # which diarizer runs is part of the recognizer's storage key


def test_pyannote_turns_label_the_words_and_give_centroids_in_the_encoders_space(
    monkeypatch, dialogue, dialogue_transcript, dialogue_diarization, voice_encoder
):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []

    def pipeline(audio, num_speakers=None):  # whisperx's DiarizationPipeline.__call__
        calls.append((audio, num_speakers))
        return diarize_dataframe(dialogue.turns)

    pyannote = PyannoteDiarizer("hf_token", voice_encoder, factory=lambda **kwargs: pipeline)

    result = pyannote.diarize(dialogue.path, dialogue_transcript, num_speakers=2)

    assert calls == [(str(dialogue.path), 2)]
    assert der(dialogue.turns, result.turns, collar=0.0) == pytest.approx(0.0, abs=1e-3)
    assert {s.speaker for s in result.transcript.segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert set(result.centroids) == {"SPEAKER_00", "SPEAKER_01"}
    for label, centroid in result.centroids.items():  # pyannote labels match the embedded ones
        assert float(centroid @ dialogue_diarization.centroids[label]) > 0.9
    assert result.model_id.startswith("pyannote/") and voice_encoder.model_id in result.model_id


def whisperx_standin(recognizer) -> SimpleNamespace:
    """whisperx 3.8's surface as the recognizer uses it, with the embedded Whisper inside.

    ``transcribe`` returns segments with words, as ``whisperx.align`` would; no alignment model
    is available, so the recognizer keeps those timings (its path for a language without one).
    ``model`` is the faster-whisper ``WhisperModel`` inside whisperx's pipeline, as in whisperx.
    """
    windows = []

    class Model:
        model = recognizer.whisper

        def transcribe(self, samples, batch_size, language=None):
            windows.append(len(samples))
            return whisperx_result(recognizer.transcribe(samples, language=language), False)

    def load_align_model(**kwargs):
        raise OSError("no wav2vec2 model here")

    return SimpleNamespace(
        load_model=lambda *args, **kwargs: Model(),
        load_align_model=load_align_model,
        windows=windows,
    )


def test_whisperx_reads_windows_in_file_time_with_a_language_per_segment(
    monkeypatch, recognizer, dialogue, dialogue_transcript
):
    standin = whisperx_standin(recognizer)
    monkeypatch.setattr(whisperx_adapter, "import_whisperx", lambda: standin)
    whisperx = WhisperXRecognizer("large-v3", device="cpu", window_s=10.0)
    assert whisperx.model_id == "whisperx/large-v3/int8" and not whisperx.loaded

    transcript = whisperx.transcribe(dialogue.path)

    assert len(standin.windows) >= 3
    assert transcript.language == "en" and transcript.language_probability > 0.5
    assert transcript.languages == ["en"]
    assert all(segment.language == "en" for segment in transcript.segments)
    assert transcript.duration_s == pytest.approx(dialogue_transcript.duration_s, abs=0.01)
    starts = [segment.start for segment in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end > 10.0
    assert transcript.segments[-1].end <= transcript.duration_s
    wer = jiwer.wer(normalise(dialogue_transcript.text), normalise(transcript.text))
    assert wer < 0.2
    assert transcript.turns == [] and whisperx.parameters["diarization"] == "none"

    forced = whisperx.transcribe(dialogue.path, language="en")
    assert (forced.language, forced.language_probability) == ("en", 1.0)


def test_whisperx_labels_speakers_with_the_diarizer_it_is_given(
    monkeypatch, recognizer, diarizer, dialogue
):
    monkeypatch.setattr(whisperx_adapter, "import_whisperx", lambda: whisperx_standin(recognizer))
    whisperx = WhisperXRecognizer("large-v3", device="cpu", diarizer=diarizer)

    transcript = whisperx.transcribe(dialogue.path)

    assert whisperx.parameters == {"alignment": "wav2vec2", "diarization": "embedded"}
    assert der(dialogue.turns, transcript.turns, collar=0.25) <= 0.2
    assert all(segment.speaker for segment in transcript.segments)


@pytest.mark.skipif(
    importlib.util.find_spec("whisperx") is not None, reason="whisperx is installed"
)
def test_without_whisperx_the_error_says_how_to_get_it():
    with pytest.raises(WhisperXUnavailable, match=r"aima\[gpu\]"):
        WhisperXRecognizer("large-v3")
