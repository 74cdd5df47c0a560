"""What the vision-language model is asked: the question set, the case context, the repair prompt.

:data:`PROMPT_VERSION` is part of the key of every stored analysis: change it whenever the
wording changes what a model answers.
"""

from __future__ import annotations

import json

from aima.vision.schema import RESTRAINT_PLACES, RESTRAINT_TYPES

PROMPT_VERSION = "1"
MAX_CONTEXT_CHARS = 2000  # a case context longer than this is cut (it is the case owner's note)
MAX_ECHO_CHARS = 1500  # how much of a failed answer the repair prompt quotes

QUESTION = f"""You look at one picture from a case file and describe only what is visible in it.
Answer with one JSON object and nothing else, with these keys:
- "scene": {{"place": what kind of place, "setting": "indoor", "outdoor" or "unknown", \
"lighting": the light}}
- "person_count": how many persons are visible (0 if none)
- "persons": for each clearly visible person (at most 6): {{"position": where in the frame, \
"clothing": [{{"item": garment, "colours": [colours]}}], "uniforms_or_logos": [visible uniforms, \
badges or logos], "posture": body posture, "restraints": [{{"type": one of \
{", ".join(map(json.dumps, RESTRAINT_TYPES))}, "where": one of \
{", ".join(map(json.dumps, RESTRAINT_PLACES))}}}], \
"gagged": true or false, "blindfolded": true or false, "visible_distress": [visible signs of \
distress]}}
- "interactions": what persons do to or with each other
- "visible_text": text you can read in the picture, verbatim
Use empty lists when there is nothing to report. Report only what you can see; do not guess \
who anyone is, and do not estimate age, gender or ethnicity."""


def _context_block(context: str | None) -> str:
    if not context or not context.strip():
        return ""
    text = context.strip()[:MAX_CONTEXT_CHARS]
    return ("\n\nCase context from the investigator (background only; describe what the picture "
            f"shows, not what the context suggests):\n{text}")


def question(context: str | None = None) -> str:
    """The prompt for one frame, with the case context when there is one."""
    return QUESTION + _context_block(context)


def repair_question(answer: str, error: str, context: str | None = None) -> str:
    """The prompt of the one repair attempt after an answer that did not parse."""
    quoted = json.dumps(answer[:MAX_ECHO_CHARS], ensure_ascii=False)
    return (f"{question(context)}\n\nYour previous answer could not be used ({error}). It was:\n"
            f"{quoted}\nAnswer again with only the JSON object.")
