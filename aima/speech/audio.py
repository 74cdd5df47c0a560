"""Reading speech audio as 16 kHz mono float32, a bounded piece at a time.

Speech models take 16 kHz mono samples. A three-hour recording is 690 MB as float32, so nothing
here holds a whole file: :func:`decode_blocks` yields short blocks as PyAV decodes them,
:func:`iter_windows` groups them into long windows (minutes) cut at the quietest moment near the
window's end, so that a word is rarely split, and :class:`AudioCursor` serves forward-moving reads
of short spans (diarization windows). Decoding matches faster-whisper's own ``decode_audio``
(PyAV, resampled to signed 16-bit, then scaled to [-1, 1)), so results equal a direct call's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from aima.errors import AimaError

SAMPLE_RATE = 16_000
AudioSource = str | os.PathLike | np.ndarray
"""A path or URL PyAV can open, or 16 kHz mono float32 samples already in memory."""

_BLOCK_SAMPLES = 30 * SAMPLE_RATE
_QUIET_FRAME = SAMPLE_RATE // 20  # 50 ms frames when looking for a quiet place to cut


class AudioUnreadable(AimaError):
    """The file has no audio stream or cannot be decoded."""


@dataclass(frozen=True)
class AudioWindow:
    """A stretch of audio and where it starts in the file, in seconds."""

    offset_s: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode_blocks(source: AudioSource, block_samples: int = _BLOCK_SAMPLES) -> Iterator[np.ndarray]:
    """Yield the source as consecutive 16 kHz mono float32 blocks of about ``block_samples``."""
    if isinstance(source, np.ndarray):
        samples = _as_mono_float32(source)
        for start in range(0, len(samples), block_samples):
            yield samples[start : start + block_samples]
        return
    yield from _decode_file(os.fspath(source), block_samples)


def _decode_file(path: str, block_samples: int) -> Iterator[np.ndarray]:
    import av  # PyAV: imported here so that callers passing arrays do not need it

    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioUnreadable(f"{path}: cannot open ({exc})") from None
    with container:
        if not container.streams.audio:
            raise AudioUnreadable(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pending: list[np.ndarray] = []
        pending_samples = 0
        for frame in _frames_then_flush(container):
            if frame is not None:
                frame.pts = None  # resample by sample count, ignore timestamp gaps
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
                pending.append(chunk)
                pending_samples += len(chunk)
            if pending_samples >= block_samples:
                joined = np.concatenate(pending)
                yield joined[:block_samples]
                pending, pending_samples = [joined[block_samples:]], len(joined) - block_samples
        if pending_samples:
            yield np.concatenate(pending)


def _frames_then_flush(container) -> Iterator:
    """The audio frames of the first audio stream, skipping undecodable ones, then ``None``."""
    import av

    frames = container.decode(audio=0)
    while True:
        try:
            yield next(frames)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue
    yield None  # flushes the resampler


def iter_windows(
    source: AudioSource, window_s: float = 600.0, cut_search_s: float = 5.0
) -> Iterator[AudioWindow]:
    """Yield the source as consecutive windows of at most ``window_s`` seconds.

    Each window (but the last) ends at the quietest 50 ms within its final ``cut_search_s``
    seconds, so windows rarely split a word. Offsets are exact sample positions.
    """
    window = max(int(window_s * SAMPLE_RATE), _QUIET_FRAME * 2)
    search = min(int(cut_search_s * SAMPLE_RATE), window // 2)
    offset = 0
    pending: list[np.ndarray] = []
    pending_samples = 0
    for block in decode_blocks(source, block_samples=min(_BLOCK_SAMPLES, window)):
        pending.append(block)
        pending_samples += len(block)
        while pending_samples > window:
            buffer = np.concatenate(pending)
            cut = _quietest_cut(buffer, window - search, window)
            rest = buffer[cut:].copy()  # so the yielded window is the only view of ``buffer``
            yield AudioWindow(offset / SAMPLE_RATE, buffer[:cut])
            offset += cut
            pending, pending_samples = [rest], len(rest)
    if pending_samples:
        yield AudioWindow(offset / SAMPLE_RATE, np.concatenate(pending))


def _quietest_cut(samples: np.ndarray, lo: int, hi: int) -> int:
    """The centre of the lowest-energy 50 ms frame in ``samples[lo:hi]``."""
    region = samples[lo:hi]
    n_frames = len(region) // _QUIET_FRAME
    if n_frames == 0:
        return hi
    frames = region[: n_frames * _QUIET_FRAME].reshape(n_frames, _QUIET_FRAME)
    quietest = int(np.argmin(np.einsum("ij,ij->i", frames, frames)))
    return lo + quietest * _QUIET_FRAME + _QUIET_FRAME // 2


class AudioCursor:
    """Reads spans of a source in order of their start time, holding only what is still needed."""

    def __init__(self, source: AudioSource):
        self._blocks = decode_blocks(source)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # sample index of self._buffer[0]
        self._exhausted = False

    def read(self, start_s: float, end_s: float) -> np.ndarray:
        """Samples from ``start_s`` to ``end_s`` (shorter at the end of the file).

        ``start_s`` must not go back before an earlier read's start.
        """
        start = max(int(round(start_s * SAMPLE_RATE)), 0)
        end = max(int(round(end_s * SAMPLE_RATE)), start)
        if start < self._buffer_start:
            raise ValueError(f"reads must move forward: {start_s:.3f}s is before the last start")
        self._fill_until(end, start)
        self._buffer = self._buffer[max(start - self._buffer_start, 0) :]
        self._buffer_start = start
        return self._buffer[: end - start].copy()

    def _fill_until(self, end: int, start: int = 0) -> None:
        """Decode until the buffer reaches sample ``end``; blocks wholly before ``start`` are
        dropped as they come, so a first read late in a long file holds one block, not all."""
        parts = [self._buffer]
        have = self._buffer_start + len(self._buffer)
        while have < end and not self._exhausted:
            block = next(self._blocks, None)
            if block is None:
                self._exhausted = True
                break
            have += len(block)
            if have <= start:  # this block and everything before it lie before the span
                parts, self._buffer_start = [], have
                continue
            parts.append(block)
        self._buffer = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _as_mono_float32(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim == 2:  # (channels, n) or (n, channels): average the channels
        array = array.mean(axis=0 if array.shape[0] < array.shape[1] else 1)
    if array.ndim != 1:
        raise ValueError(f"expected mono samples, got an array of shape {samples.shape}")
    return array.astype(np.float32, copy=False)
