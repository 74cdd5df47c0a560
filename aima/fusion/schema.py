"""What the language model writes, and the narrative the report keeps of it.

Two layers of models:

- the **answer** (:class:`NarrativeAnswer` and its claim models): what the LLM is asked to write,
  and the JSON schema (:func:`answer_schema`) its decoding is constrained to. Plain types, short
  enums, every string and list bounded (``maxLength``, ``maxItems``) so that a constrained model
  cannot run on inside one string or list, no ``$ref``, every property required and
  ``additionalProperties: false``: the subset that llama.cpp's grammar, vLLM, Ollama and
  OpenAI's strict mode all accept (the same rules as :mod:`aima.vision.schema`).
  Validation is lenient where leniency changes no meaning: a string or list over its bound is
  cut, unknown fields are dropped. A claim of the wrong shape is dropped on its own
  (:mod:`aima.fusion.grounding`), the rest stays.
- the **narrative** (:class:`Narrative`): the report's ``narrative`` section, each claim with its
  ``grounded`` flag and evidence ids that exist in the case, plus ``status`` (``written``,
  ``not_written``, ``failed``), ``reason`` and the grounding counts.

There is no field for anyone's name, age, gender or ethnicity: persons are the case's labels
(``person-1``, ``speaker-2``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from aima.models.constrained import inlined_schema

CONFIDENCE = ("low", "medium", "high")
INDICATOR_KINDS = ("distress", "coercion", "restraint", "threat", "other")
Confidence = Literal["low", "medium", "high"]
IndicatorKind = Literal["distress", "coercion", "restraint", "threat", "other"]

MAX_EVIDENCE = 6  # ids one claim may cite
MAX_ID_CHARS = 24  # a short id (``face:m12:image:3``); prompts show no full id to copy
MAX_REF_CHARS = 40


def _text(limit: int) -> Any:
    """A string cut to ``limit`` characters on validation, ``maxLength`` in the schema."""
    return Annotated[str, AfterValidator(lambda value: value.strip()[:limit]),
                     WithJsonSchema({"type": "string", "maxLength": limit})]


def _texts(limit: int, items: int) -> Any:
    """A list of strings, each cut to ``limit`` and the list to ``items``."""
    return Annotated[list[str],
                     AfterValidator(lambda values: [v.strip()[:limit] for v in values][:items]),
                     WithJsonSchema({"type": "array", "maxItems": items,
                                     "items": {"type": "string", "maxLength": limit}})]


# Ids and references are bounded in the schema but never cut on validation: a cut id is
# another id (or none), and the grounding check judges them whole.
Evidence = Annotated[
    list[str],
    AfterValidator(lambda ids: [i.strip() for i in ids][:MAX_EVIDENCE]),
    WithJsonSchema({"type": "array", "maxItems": MAX_EVIDENCE,
                    "items": {"type": "string", "maxLength": MAX_ID_CHARS}}),
]
Ref = Annotated[str, AfterValidator(str.strip),  # a file (m1) or a person label (person-1)
                WithJsonSchema({"type": "string", "maxLength": MAX_REF_CHARS})]
Seconds = Annotated[float, WithJsonSchema({"type": "number"})]


class _Claim(BaseModel):
    # Unknown fields are dropped, never kept; the schema sent to models forbids them.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class TimelineClaim(_Claim):
    time: Seconds = Field(description="seconds from the start of the file")
    media_id: Ref = Field(description="the file, as m1, m2, ...")
    description: _text(200)  # type: ignore[valid-type]
    evidence: Evidence
    confidence: Confidence


class PersonClaim(_Claim):
    person: Ref = Field(description="a case label: person-N or speaker-N")
    description: _text(240)  # type: ignore[valid-type]
    appearances: _texts(120, 6)  # type: ignore[valid-type]
    said: _texts(160, 6)  # type: ignore[valid-type]
    interactions: _texts(160, 4)  # type: ignore[valid-type]
    restraints: _texts(120, 3)  # type: ignore[valid-type]
    evidence: Evidence


class RestraintClaim(_Claim):
    person: Ref = Field(description="a case label, or an empty string when unknown")
    media_id: Ref
    description: _text(200)  # type: ignore[valid-type]
    evidence: Evidence
    confidence: Confidence


class IndicatorClaim(_Claim):
    kind: IndicatorKind
    description: _text(200)  # type: ignore[valid-type]
    evidence: Evidence
    confidence: Confidence


class ContradictionClaim(_Claim):
    description: _text(200)  # type: ignore[valid-type]
    evidence: Evidence


class ReviewClaim(_Claim):
    reason: _text(200)  # type: ignore[valid-type]
    evidence: Evidence


#: The answer's lists: key -> (claim model, most items).
SECTIONS: dict[str, tuple[type[_Claim], int]] = {
    "timeline": (TimelineClaim, 20),
    "persons": (PersonClaim, 10),
    "restraints": (RestraintClaim, 10),
    "indicators": (IndicatorClaim, 10),
    "contradictions": (ContradictionClaim, 6),
    "requires_human_review": (ReviewClaim, 6),
}
SUMMARY_CHARS = 500


class NarrativeAnswer(_Claim):
    """One answer of the language model (per file, per group of narratives, or for the case)."""

    summary: _text(SUMMARY_CHARS)  # type: ignore[valid-type]
    summary_evidence: Evidence
    timeline: list[TimelineClaim] = Field(max_length=SECTIONS["timeline"][1])
    persons: list[PersonClaim] = Field(max_length=SECTIONS["persons"][1])
    restraints: list[RestraintClaim] = Field(max_length=SECTIONS["restraints"][1])
    indicators: list[IndicatorClaim] = Field(max_length=SECTIONS["indicators"][1])
    contradictions: list[ContradictionClaim] = Field(max_length=SECTIONS["contradictions"][1])
    requires_human_review: list[ReviewClaim] = Field(
        max_length=SECTIONS["requires_human_review"][1])


def answer_schema() -> dict[str, Any]:
    """The JSON schema of :class:`NarrativeAnswer`: ``$ref`` inlined, titles dropped, every
    property required (pydantic leaves fields with defaults optional; these have none)."""
    return {"title": "narrative", **inlined_schema(NarrativeAnswer)}


SCHEMA_VERSION = hashlib.sha256(
    json.dumps(answer_schema(), sort_keys=True).encode()).hexdigest()[:12]


# --- the narrative the report keeps ----------------------------------------------------------


class TimelineEvent(TimelineClaim):
    name: str | None = None  # the file's name, for people
    grounded: bool


class PersonDossier(PersonClaim):
    grounded: bool


class RestraintFinding(RestraintClaim):
    grounded: bool


class Indicator(IndicatorClaim):
    grounded: bool


class Contradiction(ContradictionClaim):
    grounded: bool


class ReviewRequest(ReviewClaim):
    grounded: bool


class Grounding(BaseModel):
    """What the grounding check did to the claims of the answer the narrative comes from.

    ``claims`` = ``grounded`` + ``ungrounded`` + ``dropped``: every item the model wrote in the
    six lists, and the summary when there is one; ``ungrounded`` ones are kept with
    ``grounded: false`` (the summary, persons, review requests),
    ``dropped`` ones are gone (no valid evidence, or the wrong shape). ``removed_ids`` counts the
    cited ids taken out of kept claims; ``problems`` says why, a line each (the first few).
    """

    claims: int = 0
    grounded: int = 0
    ungrounded: int = 0
    dropped: int = 0
    removed_ids: int = 0
    problems: list[str] = Field(default_factory=list)


NarrativeStatus = Literal["written", "not_written", "failed"]


class Narrative(BaseModel):
    """The report's ``narrative`` section."""

    status: NarrativeStatus
    reason: str | None = None
    model_id: str | None = None
    summary: str = ""
    summary_evidence: list[str] = Field(default_factory=list)
    summary_grounded: bool = False  # the summary cites valid evidence: see aima.fusion.grounding
    timeline: list[TimelineEvent] = Field(default_factory=list)
    persons: list[PersonDossier] = Field(default_factory=list)
    restraints: list[RestraintFinding] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    contradictions: list[Contradiction] = Field(default_factory=list)
    requires_human_review: list[ReviewRequest] = Field(default_factory=list)
    grounding: Grounding = Field(default_factory=Grounding)


def empty_narrative(status: NarrativeStatus, reason: str,
                    model_id: str | None = None) -> dict[str, Any]:
    """A narrative with no claims: ``not_written`` or ``failed``, and why."""
    return Narrative(status=status, reason=reason, model_id=model_id).model_dump(mode="json")


if __name__ == "__main__":  # python -m aima.fusion.schema > docs/fusion.schema.json
    print(json.dumps(answer_schema(), indent=2))
