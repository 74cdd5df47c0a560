"""The fixed question set of the ``describe`` stage, as pydantic models and one JSON schema.

One :class:`FrameAnalysis` answers, for one image or keyframe: the scene (place, indoor or
outdoor, lighting); the persons (their count, and for each one seen clearly: where in the frame,
clothing with colours, visible uniforms or logos, posture, restraints with their type and where
they are, gag, blindfold, visible signs of distress); interactions between persons; visible text.

There is deliberately no field for age, gender or ethnicity, and the prompt asks for none
(AIMA estimates none). Fields a model adds on its own are dropped on validation
(``extra="ignore"``), so they never reach a stored analysis.

Every string and list is bounded (``maxLength``, ``maxItems``), so that a model constrained to
:func:`analysis_schema` cannot run on forever inside one string or list. The schema has no
``$ref`` and marks every property required with ``additionalProperties: false``: the subset
that OpenAI's strict mode, vLLM, llama.cpp and Ollama all accept.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aima.models.constrained import inlined_schema

RESTRAINT_TYPES = ("handcuffs", "cable ties", "rope", "tape", "chain", "other")
RESTRAINT_PLACES = ("wrists in front", "wrists behind", "ankles", "other")

Word = Annotated[str, StringConstraints(max_length=20)]
Short = Annotated[str, StringConstraints(max_length=40)]
Text = Annotated[str, StringConstraints(max_length=80)]


class _Answer(BaseModel):
    # Unknown fields are dropped, never kept; the schema sent to models forbids them.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class Scene(_Answer):
    place: Short = Field(description="what kind of place, e.g. 'kitchen', 'street', 'car interior'")
    setting: Literal["indoor", "outdoor", "unknown"]
    lighting: Short = Field(description="e.g. 'daylight', 'dim artificial light', 'dark'")


class Clothing(_Answer):
    item: Short = Field(description="a garment or accessory, e.g. 'jacket'")
    colours: list[Word] = Field(max_length=3)


class Restraint(_Answer):
    type: Literal[RESTRAINT_TYPES]  # type: ignore[valid-type]
    where: Literal[RESTRAINT_PLACES]  # type: ignore[valid-type]


class Person(_Answer):
    position: Short = Field(description="where in the frame, e.g. 'left foreground'")
    clothing: list[Clothing] = Field(max_length=4)
    uniforms_or_logos: list[Short] = Field(max_length=3,
                                           description="visible uniforms, badges or logos")
    posture: Short = Field(description="e.g. 'standing', 'sitting on the floor', 'lying face down'")
    restraints: list[Restraint] = Field(max_length=3)
    gagged: bool
    blindfolded: bool
    visible_distress: list[Short] = Field(max_length=3,
                                          description="visible signs of distress, if any")


class FrameAnalysis(_Answer):
    """One model answer for one frame."""

    scene: Scene
    person_count: int = Field(ge=0, le=999, description="how many persons are visible")
    persons: list[Person] = Field(max_length=6, description="the clearly visible persons")
    interactions: list[Text] = Field(max_length=4,
                                     description="what persons do to or with each other")
    visible_text: list[Text] = Field(max_length=6,
                                     description="text readable in the frame, verbatim")


def analysis_schema() -> dict[str, Any]:
    """The JSON schema of :class:`FrameAnalysis`, with every ``$ref`` inlined."""
    return inlined_schema(FrameAnalysis)
