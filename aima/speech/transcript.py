"""What was said, when, and by whom: the transcript data model every speech component shares.

Times are seconds from the start of the media file. ``speaker`` fields hold a label local to one
file (``SPEAKER_00``...) until case linking (:mod:`aima.speech.speakers`) maps them to case
speakers; they are ``None`` until a diarization has been applied.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Word(_Frozen):
    """One recognised word with its time span and the recogniser's confidence (0..1)."""

    start: float
    end: float
    word: str
    probability: float | None = None
    speaker: str | None = None


class Segment(_Frozen):
    """A stretch of speech (about a sentence) with its words, and the language it was heard in
    (ISO 639-1, with the detection's probability; 1.0 when the language was forced)."""

    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    speaker: str | None = None
    language: str | None = None
    language_probability: float | None = None


class SpeakerTurn(_Frozen):
    """A time span in which one speaker talks."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


class Transcript(_Frozen):
    """The recognised speech of one media file.

    ``language`` is the ISO 639-1 code of the language most of the speech is in (``None`` when
    no speech was found and no language was forced); ``languages`` lists every language heard,
    most speech first. Each segment carries its own language. ``turns`` are the diarization's
    speaker turns (empty until diarized).
    """

    language: str | None
    language_probability: float | None
    duration_s: float
    segments: list[Segment] = Field(default_factory=list)
    turns: list[SpeakerTurn] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """All segment texts joined by spaces."""
        return " ".join(segment.text for segment in self.segments)

    @property
    def words(self) -> list[Word]:
        """Every word of every segment, in order."""
        return [word for segment in self.segments for word in segment.words]

    @property
    def is_empty(self) -> bool:
        return not self.segments
