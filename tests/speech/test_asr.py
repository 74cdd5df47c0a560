"""Speech recognition with the embedded Whisper base on speech of known content."""

from __future__ import annotations

import tracemalloc

import jiwer
import numpy as np
import pytest

from aima.models.asr import FasterWhisperRecognizer, SpeechRecognizer
from tests.speech import speechgen
from tests.speech.scoring import normalise


def test_the_recognizer_meets_the_protocol(recognizer):
    assert isinstance(recognizer, SpeechRecognizer)
    assert recognizer.model_id == "faster-whisper/whisper-base/int8"


def test_word_error_rate_on_32_sentences_is_at_most_15_percent(
    sentence_clips, sentence_transcripts
):
    references, hypotheses = [], []
    for (_, sentences), transcript in zip(sentence_clips, sentence_transcripts, strict=True):
        assert transcript.language == "en"
        references.append(normalise(" ".join(sentences)))
        hypotheses.append(normalise(transcript.text))

    wer = jiwer.wer(references, hypotheses)
    print(f"WER over {sum(len(s) for _, s in sentence_clips)} sentences: {wer:.3f}")
    assert wer <= 0.15


def test_word_timestamps_lie_inside_their_segment_in_order(sentence_transcripts):
    for transcript in sentence_transcripts:
        # a clip is one 30 s chunk for Whisper; timestamp tokens split it into sentences
        assert len(transcript.segments) >= 3
        previous_end = 0.0
        for segment in transcript.segments:
            assert previous_end <= segment.start < segment.end <= transcript.duration_s
            assert segment.words
            for word in segment.words:
                assert segment.start <= word.start <= word.end <= segment.end
                assert word.start >= previous_end
                assert 0.0 <= word.probability <= 1.0
                previous_end = word.end


def test_silence_gives_an_empty_transcript(recognizer):
    transcript = recognizer.transcribe(speechgen.silence(20.0))

    assert transcript.is_empty
    assert transcript.language is None
    assert transcript.duration_s == pytest.approx(20.0)


@pytest.mark.parametrize("colour", ["whitenoise", "pinknoise", "brownnoise"])
def test_noise_gives_an_empty_transcript(recognizer, speech_dir, colour):
    # The VAD lets some noise through, and Whisper base then "hears" "you", dots or a counting
    # loop; the hallucination rules must drop them. sox -R: the same noise on every run.
    path = speech_dir / f"{colour}.wav"
    speechgen.run(
        "sox",
        "-R",
        "-n",
        "-r",
        "16000",
        "-c",
        "1",
        "-b",
        "16",
        path,
        "synth",
        "20",
        colour,
        "vol",
        "0.5",
    )

    transcript = recognizer.transcribe(path)

    assert transcript.text == ""
    assert transcript.is_empty


def test_language_is_detected(recognizer, italian_clip):
    transcript = recognizer.transcribe(italian_clip)

    assert transcript.language == "it"
    assert 0.5 < transcript.language_probability <= 1.0
    assert "piccola" in transcript.text.lower()


def test_a_forced_language_is_used(recognizer, english_clip, italian_clip):
    forced = recognizer.transcribe(italian_clip, language="it")
    assert (forced.language, forced.language_probability) == ("it", 1.0)
    assert "piccola" in forced.text.lower()

    overridden = recognizer.transcribe(italian_clip, language="en")
    assert (overridden.language, overridden.language_probability) == ("en", 1.0)

    english = recognizer.transcribe(english_clip, language="en")
    assert english.language == "en"
    assert "lazy dog" in english.text.lower()


def test_arrays_and_files_give_the_same_transcript(recognizer, english_clip):
    import soundfile

    samples, rate = soundfile.read(english_clip, dtype="float32")
    assert rate == 16_000

    assert recognizer.transcribe(samples) == recognizer.transcribe(english_clip)


def test_long_audio_is_streamed_window_by_window(model_cache, speech_dir):
    """25 minutes, speech only at 23:20: the file is read in 1-minute windows, never whole."""
    sentence = "The lawyer read the letter out loud."
    spoken = speechgen.speak(sentence)
    speech = speechgen.write(speech_dir / "late-sentence.wav", spoken)
    spoken_s = len(spoken) / 16_000
    before, after = speech_dir / "silence-1400.wav", speech_dir / "silence-100.wav"
    for path, seconds in ((before, 1400), (after, 100)):
        speechgen.run(
            "sox", "-n", "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", str(seconds)
        )
    long_file = speech_dir / "long.wav"
    speechgen.run("sox", before, speech, after, long_file)

    recognizer = FasterWhisperRecognizer.embedded(cache_dir=model_cache, window_s=60.0)
    tracemalloc.start()
    try:
        transcript = recognizer.transcribe(long_file, language="en")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    whole_file_bytes = 1500 * 16_000 * np.dtype(np.float32).itemsize  # 96 MB as float32
    assert peak < whole_file_bytes / 3
    assert transcript.duration_s == pytest.approx(1500 + spoken_s, abs=0.01)
    assert len(transcript.segments) == 1
    segment = transcript.segments[0]
    assert normalise(segment.text) in {
        normalise(sentence),
        normalise(sentence).replace("read", "reads"),
    }
    assert segment.start == pytest.approx(1400.0, abs=0.6)  # Silero pads speech by 0.4 s
    assert segment.end == pytest.approx(1400.0 + spoken_s, abs=0.6)
