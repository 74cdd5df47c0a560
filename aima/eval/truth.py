"""What a generated case holds, known by construction: the ``truth.json`` beside its media.

:func:`aima.eval.generate.generate` writes it; :mod:`aima.eval.score` compares a report with it.
Every time is in seconds from the start of its file, every box ``[x, y, width, height]`` in the
pixels of the file's own frames (``frame_size``). Speakers and identities are named by where
their voice or face came from (``espeak:en-us+f3``, ``call:Diane``, ``lfw-7``), never by a
person's name beyond what the shipped material itself says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

TRUTH_FILE = "truth.json"
MEDIA_DIR = "media"
FORMAT = "aima-eval-truth/1"

Box = tuple[int, int, int, int]


class Utterance(BaseModel):
    """A sentence somebody says: when, who, in which language, and the words."""

    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    speaker: str = Field(description="Voice id, the same in every file it speaks in.")
    language: str = Field(description="ISO 639-1 code of what is said (en, de, fr, ...).")
    text: str


class ShownFace(BaseModel):
    """A face composited into a picture, or into a video while a scene plays."""

    identity: str = Field(description="Whose face: the same id in every file it is shown in.")
    box: Box
    start_s: float | None = Field(None, description="Video: first second it is shown; image: null.")
    end_s: float | None = Field(None, description="Video: when it stops being shown; image: null.")


class ShownText(BaseModel):
    """A line of text rendered into a picture, or into a video while a scene plays."""

    text: str
    box: Box
    start_s: float | None = None
    end_s: float | None = None


class BadInput(BaseModel):
    """A file AIMA must refuse, with the ``error_code`` it should give."""

    code: str = Field(description="Expected error_code of the media row (empty_file, ...).")
    made_by: str = Field(description="How the file was spoiled.")


class TruthFile(BaseModel):
    """One file of the case and everything known about its content."""

    name: str = Field(description="File name inside the case's media folder.")
    kind: Literal["image", "video", "audio"] | None = Field(
        description="What the content is (never what the extension says); null for a bad file "
        "that holds no media.")
    duration_s: float | None = None
    frame_size: tuple[int, int] | None = None
    bad: BadInput | None = None
    scene_cuts_s: list[float] = Field(default_factory=list,
                                      description="Video: starts of every scene but the first.")
    faces: list[ShownFace] = Field(default_factory=list)
    speech: list[Utterance] = Field(default_factory=list)
    text: list[ShownText] = Field(default_factory=list)
    duplicate_group: str | None = Field(
        None, description="Files with the same group are near-duplicates of each other (a "
        "picture and its altered copies; a video and its re-muxed copies).")
    derived_from: str | None = Field(None, description="The file this one is a copy of.")
    variation: str | None = Field(None, description="What was changed in the copy, or how "
                                  "the name misleads (a WAV named .mp3).")

    @property
    def usable(self) -> bool:
        return self.bad is None


class Truth(BaseModel):
    """Everything put into a generated case."""

    format: Literal["aima-eval-truth/1"] = FORMAT
    size: str
    seed: int
    generator: str = Field(description="What made it, with the versions that matter.")
    materials: list[str] = Field(default_factory=list,
                                 description="Where the faces, voices and photos came from.")
    speakers: dict[str, str] = Field(default_factory=dict, description="Voice id -> what it is.")
    identities: dict[str, str] = Field(default_factory=dict, description="Face id -> what it is.")
    files: list[TruthFile]

    @model_validator(mode="after")
    def _consistent(self) -> Truth:
        names = [f.name for f in self.files]
        if len(names) != len(set(names)):
            raise ValueError("file names must be unique")
        for file in self.files:
            for said in file.speech:
                if said.speaker not in self.speakers:
                    raise ValueError(f"{file.name}: speaker {said.speaker!r} is not in speakers")
            for shown in file.faces:
                if shown.identity not in self.identities:
                    raise ValueError(f"{file.name}: identity {shown.identity!r} is not in "
                                     "identities")
        return self

    def file(self, name: str) -> TruthFile:
        for file in self.files:
            if file.name == name:
                return file
        raise KeyError(name)

    @property
    def media_minutes(self) -> float:
        """Minutes of video and audio among the usable files (pictures count nothing)."""
        return sum(f.duration_s or 0.0 for f in self.files if f.usable) / 60.0

    def languages(self) -> list[str]:
        return sorted({u.language for f in self.files if f.usable for u in f.speech})

    def recurring_identities(self) -> set[str]:
        """Identities shown at least twice (two pictures, or two scenes): those a case person
        can be made of (a face seen once is no person: AIMA_PERSON_MIN_FACES is 2)."""
        shown: dict[str, set[tuple[str, float | None]]] = {}
        for file in self.files:
            if file.usable:
                for face in file.faces:
                    shown.setdefault(face.identity, set()).add((file.name, face.start_s))
        return {identity for identity, places in shown.items() if len(places) >= 2}


def write_truth(truth: Truth, case_dir: Path) -> Path:
    path = case_dir / TRUTH_FILE
    path.write_text(json.dumps(truth.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def read_truth(case_dir: Path) -> Truth:
    """The truth of a generated case folder; a clear error when it is none."""
    path = case_dir / TRUTH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: CASE_DIR must be a folder made by "
                                "`python -m aima.eval generate`")
    return Truth.model_validate_json(path.read_text(encoding="utf-8"))
