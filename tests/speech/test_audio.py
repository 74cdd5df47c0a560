"""Reading audio in bounded pieces: windows cut in pauses, forward-only spans."""

from __future__ import annotations

import numpy as np
import pytest

from aima.speech.audio import SAMPLE_RATE as RATE
from aima.speech.audio import AudioCursor, AudioUnreadable, decode_blocks, iter_windows
from tests.speech import speechgen


def tone(seconds: float, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    """Ten 0.7 s tones, each followed by a 0.3 s pause: 10 s with a pause every second."""
    samples = np.concatenate(
        [np.concatenate([tone(0.7), speechgen.silence(0.3)]) for _ in range(10)]
    )
    path = speechgen.write(tmp_path_factory.mktemp("audio") / "bursts.wav", samples)
    return path, samples


def test_decoding_a_file_gives_the_samples_written(bursts):
    path, samples = bursts
    decoded = np.concatenate(list(decode_blocks(path, block_samples=4000)))

    assert len(decoded) == len(samples)
    assert np.abs(decoded - samples).max() < 1e-4  # 16-bit quantisation only


def test_windows_cover_the_file_exactly_and_end_in_pauses(bursts):
    path, samples = bursts
    windows = list(iter_windows(path, window_s=2.5, cut_search_s=1.0))

    assert len(windows) >= 4
    assert np.array_equal(
        np.concatenate([w.samples for w in windows]), np.concatenate(list(decode_blocks(path)))
    )
    for window, following in zip(windows, windows[1:], strict=False):
        assert following.offset_s == pytest.approx(window.offset_s + window.duration_s)
        assert window.duration_s <= 2.5
        cut = window.offset_s + window.duration_s
        assert cut % 1.0 >= 0.7  # in a pause: the tone plays in the first 0.7 s of every second


def test_a_cursor_reads_forward_spans(bursts):
    path, samples = bursts
    cursor = AudioCursor(path)

    first = cursor.read(1.0, 2.5)
    overlapping = cursor.read(2.0, 3.0)
    beyond_the_end = cursor.read(9.5, 12.0)

    assert np.allclose(first, samples[16_000:40_000], atol=1e-4)
    assert np.allclose(overlapping, samples[32_000:48_000], atol=1e-4)
    assert len(beyond_the_end) == 8_000
    with pytest.raises(ValueError, match="forward"):
        cursor.read(1.0, 2.0)


def test_arrays_are_read_as_they_are():
    samples = tone(3.0)
    assert np.array_equal(np.concatenate(list(decode_blocks(samples, block_samples=1000))), samples)
    stereo = np.stack([samples, samples])
    assert np.allclose(np.concatenate(list(decode_blocks(stereo))), samples)


def test_a_file_without_audio_is_refused(tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("no sound here")
    with pytest.raises(AudioUnreadable):
        list(decode_blocks(not_audio))


def test_a_first_read_late_in_a_long_file_holds_little_memory(tmp_path):
    """20 minutes of audio (77 MB as float32): reading 2 s at its end keeps one block at a time."""
    import tracemalloc

    minutes = 20
    path = speechgen.write(tmp_path / "long.wav", np.concatenate(
        [speechgen.silence(minutes * 60 - 3), np.full(3 * RATE, 0.25, dtype=np.float32)]))

    tracemalloc.start()
    cursor = AudioCursor(path)
    span = cursor.read(minutes * 60 - 2.5, minutes * 60 - 0.5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert len(span) == 2 * RATE and np.allclose(span, 0.25, atol=1e-3)
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
