"""A language model whose replies a test writes: the way to feed fusion exact answers.

:class:`ScriptedLLM` implements :class:`aima.models.llm.LLM` (token counts by
:func:`~aima.models.llm.estimate_tokens`, a context window that raises
:class:`~aima.models.llm.PromptTooLong` like the real backends) and records every call.
Its replies are strings, or functions of the messages and the reply's size in characters;
like a real model's, a reply longer than its token budget is cut off there. :func:`faithful` is
such a function: a reader that writes one timeline event per fact line it is shown (as many as
fit), citing that line's ids, and a dossier per person named in the lines, as a careful model
would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aima.fusion.prompt import prompt_tokens
from aima.models.llm import CHARS_PER_TOKEN_ESTIMATE, LLM, PromptTooLong, estimate_tokens

Reply = str | Callable[[list[dict[str, str]], int], str]


class ScriptedLLM(LLM):
    def __init__(self, replies: list[Reply] | Reply, *, context_tokens: int = 8192,
                 max_new_tokens: int = 1024, model_id: str = "scripted"):
        super().__init__(context_tokens=context_tokens, max_new_tokens=max_new_tokens)
        self.replies = replies
        self._model_id = model_id
        self.calls: list[dict[str, Any]] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    def _load(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def chat_json(self, messages, schema, *, max_tokens=1024) -> str:
        size = prompt_tokens(messages, self.count_tokens)
        if size + self.budget(max_tokens) > self.context_tokens:
            raise PromptTooLong(size, self.context_tokens)
        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens,
                           "prompt_tokens": size})
        if isinstance(self.replies, list):
            reply = self.replies[len(self.calls) - 1]
        else:
            reply = self.replies
        chars = int(self.budget(max_tokens) * CHARS_PER_TOKEN_ESTIMATE)
        text = reply(messages, chars) if callable(reply) else reply
        return text[:chars]


_IDS = re.compile(r"\[([^\[\]]+)\]\s*$")
_TIME = re.compile(r"(?:at |^)(\d+(?:\.\d+)?)(?:-\d+(?:\.\d+)?)? s\b")
_PERSON = re.compile(r"\b(?:person|speaker)-\d+\b")


def faithful(messages: list[dict[str, str]], max_chars: int = 100_000) -> str:
    """A narrative of the fact (or partial) lines in the prompt, every claim citing its line,
    with as many events as fit ``max_chars``."""
    timeline, persons, review = [], {}, []
    for line in messages[-1]["content"].splitlines():
        found = _IDS.search(line)
        if not found:
            continue
        ids = [i.strip() for i in found.group(1).split(",")][:8]
        media = ids[0].split(":")[1]
        time = _TIME.search(line)
        if time and len(timeline) < 20:
            timeline.append({"time": float(time.group(1)), "media_id": media,
                             "description": line[:found.start()].strip()[:80],
                             "evidence": ids, "confidence": "medium"})
        for ref in _PERSON.findall(line):
            persons.setdefault(ref, []).extend(ids)
        if "restraint" in line and len(review) < 6:
            review.append({"reason": "a possible restraint to check", "evidence": ids})

    def reply(events: list) -> str:
        return json.dumps({
            "summary": f"The facts show {len(events)} events.",
            "summary_evidence": [i for e in events[:2] for i in e["evidence"]][:8],
            "timeline": events,
            "persons": [{"person": ref, "description": f"{ref} in the files",
                         "appearances": [], "said": [], "interactions": [], "restraints": [],
                         "evidence": list(dict.fromkeys(ids))[:8]}
                        for ref, ids in list(persons.items())[:10]],
            "restraints": [], "indicators": [], "contradictions": [],
            "requires_human_review": review,
        })

    while len(reply(timeline)) > max_chars and timeline:
        timeline.pop()
    return reply(timeline)


def answer(**sections: Any) -> str:
    """A reply with the given sections and empty others."""
    body = {"summary": "", "summary_evidence": [], "timeline": [], "persons": [],
            "restraints": [], "indicators": [],
            "contradictions": [], "requires_human_review": []}
    return json.dumps({**body, **sections})
