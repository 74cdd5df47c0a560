"""A media file's sound track as the 16 kHz mono 16-bit WAV that speech models read.

Decoding, resampling and writing stream frame by frame (PyAV's ``AudioResampler`` and the standard
``wave`` module), so memory stays bounded whatever the file's length. The WAV's sample 0 is the
track's first sample; :attr:`AudioInfo.start_s` says where that lies on the container's timeline
(the timeline keyframes use). Packets the decoder rejects are skipped and the hole is filled with
silence, so later speech keeps its time; a track where most packets fail is refused.
"""

import os
import wave
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from pydantic import BaseModel, Field

from aima.media.container import open_container, start_s
from aima.media.errors import BadMedia

SAMPLE_RATE = 16_000
#: a jump in timestamps larger than this is filled with silence (smaller ones are jitter)
MIN_GAP_S = 0.01
#: refuse the track when more than this share of its packets cannot be decoded
MAX_BAD_SHARE = 0.5


class AudioInfo(BaseModel):
    """What :func:`extract_audio` wrote and where it came from."""

    path: str
    sample_rate: int = SAMPLE_RATE
    channels: int = 1
    samples: int
    duration_s: float
    start_s: float = Field(description="where the WAV's first sample lies on the container timeline")
    source_stream: int
    source_codec: str
    source_sample_rate: int
    source_channels: int
    bad_packets: int = Field(0, description="packets the decoder rejected (replaced by silence)")
    silence_filled_s: float = Field(0.0, description="seconds of silence written into holes")


def extract_audio(path: Path, out_path: Path, *, stream_index: int | None = None) -> AudioInfo:
    """Write the first audio stream (or the one at ``stream_index``) of ``path`` to ``out_path``
    as 16 kHz mono 16-bit PCM WAV.

    The WAV is written next to ``out_path`` under a temporary name and renamed when complete.
    Raises :class:`BadMedia`: ``no_audio_frames`` (no audio stream, or one without frames),
    ``corrupt_audio`` (most packets undecodable, or reading fails midway).
    """
    path, out_path = Path(path), Path(out_path)
    partial = out_path.with_name(f".{out_path.name}.partial")
    try:
        with open_container(path) as container:
            stream = _audio_stream(container, stream_index)
            with wave.open(str(partial), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                writer = _Writer(wav)
                info = writer.copy(container, stream)
        os.replace(partial, out_path)
    except av.FFmpegError as exc:
        raise BadMedia("corrupt_audio", f"audio cannot be read: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return AudioInfo(path=str(out_path), **info)


def _audio_stream(container: av.container.InputContainer, index: int | None) -> AudioStream:
    """The requested audio stream, or the first one."""
    streams = list(container.streams.audio)
    if not streams:
        raise BadMedia("no_audio_frames", "file has no audio stream")
    if index is None:
        return streams[0]
    for stream in streams:
        if stream.index == index:
            return stream
    raise BadMedia("no_audio_frames", f"file has no audio stream with index {index}")


class _Writer:
    """Decodes one stream, resamples it and appends it to an open WAV, filling holes."""

    def __init__(self, wav: wave.Wave_write):
        self.wav = wav
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self.written = 0
        self.silence = 0

    def copy(self, container: av.container.InputContainer, stream: AudioStream) -> dict:
        """Copy the whole stream; returns the fields of :class:`AudioInfo` but the path."""
        origin = start_s(container)
        first_time: float | None = None
        packets = bad = frames = 0
        first_error = ""
        position = 0.0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets += 1
                try:
                    decoded = packet.decode()
                except av.FFmpegError as exc:
                    bad += 1
                    first_error = first_error or (exc.strerror or str(exc))
                    continue
                for frame in decoded:
                    frames += 1
                    if frame.time is not None:
                        first_time = frame.time if first_time is None else first_time
                        self._fill_until(frame.time - first_time)
                        position = frame.time - origin
                    self._write(self.resampler.resample(frame))
        except av.FFmpegError as exc:
            raise BadMedia(
                "corrupt_audio",
                f"audio reading failed at {position:.1f} s: {exc.strerror or exc}",
            ) from exc
        self._write(self.resampler.resample(None))
        if frames == 0:
            if bad:
                raise BadMedia(
                    "corrupt_audio",
                    f"audio stream is corrupt: all {bad} packets failed to decode ({first_error})",
                )
            raise BadMedia("no_audio_frames", f"audio stream yielded no frames from {packets} packets")
        if bad > MAX_BAD_SHARE * packets:
            raise BadMedia(
                "corrupt_audio",
                f"audio stream is corrupt: {bad} of {packets} packets failed to decode ({first_error})",
            )
        context = stream.codec_context
        return {
            "samples": self.written,
            "duration_s": self.written / SAMPLE_RATE,
            "start_s": round((first_time if first_time is not None else origin) - origin, 6),
            "source_stream": stream.index,
            "source_codec": context.codec.canonical_name,
            "source_sample_rate": context.sample_rate or 0,
            "source_channels": context.channels or 0,
            "bad_packets": bad,
            "silence_filled_s": self.silence / SAMPLE_RATE,
        }

    def _fill_until(self, seconds: float) -> None:
        """Write silence when the stream jumps past what has been written (a skipped packet)."""
        missing = round(seconds * SAMPLE_RATE) - self.written
        if missing > MIN_GAP_S * SAMPLE_RATE:
            self.wav.writeframes(bytes(2 * missing))
            self.written += missing
            self.silence += missing

    def _write(self, frames: list[av.AudioFrame]) -> None:
        """Append resampled frames (s16 mono) to the WAV."""
        for frame in frames:
            samples = frame.to_ndarray().astype(np.int16, copy=False).reshape(-1)
            self.wav.writeframes(samples.tobytes())
            self.written += samples.size
