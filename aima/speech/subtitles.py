"""Subtitles (SubRip ``.srt`` and WebVTT ``.vtt``) from a transcript with speakers.

Cues follow the words: a cue ends where the speaker changes, where a segment ends, or before it
would pass ``max_chars`` characters or ``max_duration_s`` seconds. Each cue's text is prefixed with
its speaker in brackets, e.g. ``[speaker-1] Please sit down.``; ``speaker_names`` maps the
transcript's local labels to case speaker ids (labels without a name are shown as they are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aima.speech.transcript import Segment, Transcript

MAX_CHARS = 84  # two lines of 42 characters, a common subtitle guideline
MAX_DURATION_S = 7.0


@dataclass(frozen=True)
class Cue:
    """One subtitle: a time span, its text and who speaks it."""

    start: float
    end: float
    text: str
    speaker: str | None = None

    def caption(self) -> str:
        return f"[{self.speaker}] {self.text}" if self.speaker else self.text


def cues(
    transcript: Transcript,
    speaker_names: Mapping[str, str] | None = None,
    *,
    max_chars: int = MAX_CHARS,
    max_duration_s: float = MAX_DURATION_S,
) -> list[Cue]:
    """The transcript cut into subtitle cues (see the module docstring)."""
    names = speaker_names or {}
    result: list[Cue] = []
    for segment in transcript.segments:
        for cue in _segment_cues(segment, max_chars, max_duration_s):
            speaker = names.get(cue.speaker, cue.speaker) if cue.speaker else None
            result.append(Cue(cue.start, max(cue.end, cue.start + 0.001), cue.text, speaker))
    return result


def to_srt(transcript: Transcript, speaker_names: Mapping[str, str] | None = None) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    blocks = [
        f"{number}\n{srt_time(cue.start)} --> {srt_time(cue.end)}\n{cue.caption()}\n"
        for number, cue in enumerate(cues(transcript, speaker_names), start=1)
    ]
    return "\n".join(blocks)


def to_webvtt(transcript: Transcript, speaker_names: Mapping[str, str] | None = None) -> str:
    """WebVTT: a ``WEBVTT`` header, then cues timed ``HH:MM:SS.mmm --> HH:MM:SS.mmm``."""
    blocks = ["WEBVTT\n"] + [
        f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}\n{_vtt_escape(cue.caption())}\n"
        for cue in cues(transcript, speaker_names)
    ]
    return "\n".join(blocks)


def srt_time(seconds: float) -> str:
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    return _clock(seconds, ".")


def _clock(seconds: float, separator: str) -> str:
    millis = max(int(round(seconds * 1000)), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _vtt_escape(text: str) -> str:
    """WebVTT cue text may not hold a raw ``&``, ``<`` or ``-->``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")


def _segment_cues(segment: Segment, max_chars: int, max_duration_s: float) -> Iterable[Cue]:
    if not segment.words:
        yield Cue(segment.start, segment.end, segment.text, segment.speaker)
        return
    words: list[str] = []
    start = end = 0.0
    speaker: str | None = None
    for word in segment.words:
        word_speaker = word.speaker or segment.speaker
        text = " ".join(words + [word.word])
        if words and (
            word_speaker != speaker or len(text) > max_chars or word.end - start > max_duration_s
        ):
            yield Cue(start, end, " ".join(words), speaker)
            words = []
        if not words:
            start, speaker = word.start, word_speaker
        words.append(word.word)
        end = word.end
    if words:
        yield Cue(start, end, " ".join(words), speaker)
