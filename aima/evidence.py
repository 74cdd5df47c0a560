"""Evidence ids: every observation a report can cite, named one way and in one place.

An evidence id is ``<kind>:<media id>:<part>[:<part>...]``; its locator says where in the media
item the observation is. Stages build ids with the functions below; the report and fusion parse
them with :func:`parse`. Nothing else spells an id by hand.

=====  ==================================  ===================================================
kind   id                                  what it points at
=====  ==================================  ===================================================
kf     ``kf:<media>:<n>``                  keyframe ``n`` of a video (a timestamp)
seg    ``seg:<media>:<n>``                 transcript segment ``n`` (a time range)
voice  ``voice:<media>:<label>``           one local speaker's voice in a file
face   ``face:<media>:<frame>:<n>``        face ``n`` in a frame (a box)
ocr    ``ocr:<media>:<frame>:<n>``         text line ``n`` in a frame (a box)
vlm    ``vlm:<media>:<frame>``             the vision-language analysis of a frame
det    ``det:<media>:<frame>:<n>``         restraint detection ``n`` in a frame (a box)
=====  ==================================  ===================================================

``<frame>`` is a keyframe number for a video and :data:`IMAGE_FRAME` for an image.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = {"kf": 1, "seg": 1, "voice": 1, "face": 2, "ocr": 2, "vlm": 1, "det": 2}  # kind -> number of parts
IMAGE_FRAME = "image"


class BadEvidenceId(ValueError):
    """A string that is not an evidence id."""


@dataclass(frozen=True)
class EvidenceId:
    kind: str
    media_id: str
    parts: tuple[str, ...]

    def __str__(self) -> str:
        return ":".join((self.kind, self.media_id, *self.parts))


@dataclass(frozen=True)
class Locator:
    """Where an observation is inside its media item; fields a kind does not have stay ``None``."""

    media_id: str
    timestamp_s: float | None = None  # a single moment (a keyframe)
    start_s: float | None = None  # a range (a transcript segment, a voice turn)
    end_s: float | None = None
    box: tuple[float, float, float, float] | None = None  # x, y, width, height in pixels

    def as_dict(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if value is not None}


def _make(kind: str, media_id: str, *parts: object) -> str:
    text = [str(part) for part in parts]
    if any(":" in part for part in (media_id, *text)):
        raise BadEvidenceId(f"evidence id parts may not contain ':': {media_id!r} {text!r}")
    return str(EvidenceId(kind, str(media_id), tuple(text)))


def keyframe_id(media_id: str, index: int) -> str:
    return _make("kf", media_id, index)


def segment_id(media_id: str, index: int) -> str:
    return _make("seg", media_id, index)


def voice_id(media_id: str, label: str) -> str:
    return _make("voice", media_id, label)


def face_id(media_id: str, frame: int | str, index: int) -> str:
    return _make("face", media_id, frame, index)


def ocr_id(media_id: str, frame: int | str, index: int) -> str:
    return _make("ocr", media_id, frame, index)


def vlm_id(media_id: str, frame: int | str) -> str:
    return _make("vlm", media_id, frame)


def detection_id(media_id: str, frame: int | str, index: int) -> str:
    return _make("det", media_id, frame, index)


def parse(evidence_id: str) -> EvidenceId:
    """Split an evidence id into kind, media id and parts; raises :class:`BadEvidenceId`."""
    kind, _, rest = evidence_id.partition(":")
    if kind not in KINDS:
        raise BadEvidenceId(f"unknown evidence kind in {evidence_id!r}")
    pieces = rest.split(":")
    if len(pieces) != 1 + KINDS[kind] or not all(pieces):
        raise BadEvidenceId(f"{evidence_id!r}: a {kind} id has {KINDS[kind]} part(s) after the "
                            "media id")
    return EvidenceId(kind, pieces[0], tuple(pieces[1:]))


def overlapping_segments(media_id: str, segments: list[dict], start: float, end: float) -> list[str]:
    """The ids of the transcript segments that overlap ``[start, end)``."""
    return [segment_id(media_id, n) for n, segment in enumerate(segments)
            if segment["start"] < end and segment["end"] > start]
