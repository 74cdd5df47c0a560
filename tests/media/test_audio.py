"""extract_audio writes the sound track as 16 kHz mono 16-bit WAV, keeping its timing."""

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from aima.media.audio import extract_audio
from aima.media.errors import BadMedia
from tests.mediagen import make_garbled_copy, media_duration_s


def read_wav(path: Path) -> tuple[tuple[int, int, int], np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        params = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        return params, np.frombuffer(wav.readframes(wav.getnframes()), np.int16)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "flac", "ogg"])
def test_audio_files_become_16k_mono_16bit_of_the_same_length(media, tmp_path, fmt):
    source = media.audio[fmt]
    info = extract_audio(source, tmp_path / "out.wav")
    params, samples = read_wav(tmp_path / "out.wav")
    assert params == (16000, 1, 2)
    assert info.samples == samples.size
    # every file holds the same speech; the lossless FLAC gives its exact length (AAC adds
    # up to one frame of padding, as ffmpeg decodes it too)
    assert info.duration_s == pytest.approx(media_duration_s(media.audio["flac"]), abs=0.06)
    assert np.abs(samples).max() > 3000  # speech, not silence
    assert (info.bad_packets, info.silence_filled_s) == (0, 0.0)


def test_the_speech_is_what_ffmpeg_would_resample(media, tmp_path):
    extract_audio(media.audio["flac"], tmp_path / "ours.wav")
    reference = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(media.audio["flac"]), "-ar", "16000", "-ac", "1",
         "-f", "s16le", "-"], capture_output=True, check=True).stdout
    ours = read_wav(tmp_path / "ours.wav")[1].astype(np.float64)
    theirs = np.frombuffer(reference, np.int16).astype(np.float64)
    n = min(ours.size, theirs.size)
    assert abs(ours.size - theirs.size) < 160
    assert np.corrcoef(ours[:n], theirs[:n])[0, 1] > 0.99


def test_a_video_sound_track_is_extracted(media, tmp_path):
    info = extract_audio(media.speech_video, tmp_path / "speech.wav")
    assert (info.source_stream, info.source_codec, info.source_sample_rate) == (1, "aac", 22050)
    assert info.start_s == 0.0
    assert info.duration_s == pytest.approx(4.5, abs=0.2)


def test_rejected_packets_become_silence_so_later_speech_keeps_its_time(media, tmp_path):
    damaged = make_garbled_copy(tmp_path / "damaged.m4a", media.audio["m4a"], every=5)
    clean = extract_audio(media.audio["m4a"], tmp_path / "clean.wav")
    info = extract_audio(damaged, tmp_path / "damaged.wav")
    assert info.bad_packets > 10
    aac_frame_s = 1024 / 22050
    assert info.silence_filled_s == pytest.approx(info.bad_packets * aac_frame_s, abs=aac_frame_s)
    assert info.duration_s == pytest.approx(clean.duration_s, abs=0.01)


def test_a_broken_sound_track_is_refused(media, tmp_path):
    with pytest.raises(BadMedia) as caught:
        extract_audio(media.broken_audio_video, tmp_path / "out.wav")
    assert caught.value.code == "corrupt_audio"
    assert str(caught.value).startswith("audio stream is corrupt: all ")
    assert list(tmp_path.iterdir()) == []  # no half-written WAV is left behind


def test_a_video_without_sound_has_no_audio_frames(media, tmp_path):
    with pytest.raises(BadMedia) as caught:
        extract_audio(media.cut_video, tmp_path / "out.wav")
    assert (caught.value.code, str(caught.value)) == ("no_audio_frames", "file has no audio stream")
