"""Reading a model's answer: the first JSON object in it, validated as a :class:`FrameAnalysis`.

Models wrap JSON in prose or code fences, or stop halfway (the token budget ran out). An answer
parses when a JSON object can be found in it and validates; otherwise :func:`parse_answer` says
why, in one line that the repair prompt quotes and the stored ``unparsed`` record keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from aima.vision.schema import FrameAnalysis

_decoder = json.JSONDecoder()
MAX_TRIES = 20  # positions of '{' tried in one answer


@dataclass(frozen=True)
class Parsed:
    analysis: FrameAnalysis | None
    error: str | None  # why there is no analysis

    @property
    def ok(self) -> bool:
        return self.analysis is not None


def parse_answer(text: str) -> Parsed:
    """The analysis in ``text``, or the reason there is none.

    Each ``{`` is tried in turn (at most :data:`MAX_TRIES`) for a JSON object that validates; when
    none does, the reason given is the one about the first ``{``: the answer's outermost object.
    """
    text = text or ""
    first_error = None
    start = text.find("{")
    for _ in range(MAX_TRIES):
        if start < 0:
            break
        parsed = _parse_at(text, start)
        if parsed.ok:
            return parsed
        first_error = first_error or parsed.error
        start = text.find("{", start + 1)
    return Parsed(None, first_error or "no JSON object in the answer")


def _parse_at(text: str, start: int) -> Parsed:
    try:
        value, _ = _decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return Parsed(None, f"not valid JSON: {exc.msg} at character {exc.pos}")
    if not isinstance(value, dict):
        return Parsed(None, "the answer is not a JSON object")
    try:
        return Parsed(FrameAnalysis.model_validate(value), None)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'answer'}: {e['msg']}"
            for e in exc.errors()[:3])
        more = exc.error_count() - 3
        return Parsed(None, f"does not match the schema: {problems}"
                            + (f" (and {more} more)" if more > 0 else ""))
