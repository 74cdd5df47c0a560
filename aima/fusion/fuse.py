"""Fusion: the case report's facts through the language model into a grounded narrative.

:func:`fuse_report` builds the facts (:mod:`aima.fusion.facts`), asks the model, grounds every
answer (:mod:`aima.fusion.grounding`) and returns the document the ``fuse`` stage stores: the
narrative (the report's ``narrative`` section) with the model id and parameters, the prompt and
schema versions, one record per call (scope, tokens, seconds, outcome, grounding counts), token
totals and timings.

How the facts reach the model (``strategy``):

``single``
    the whole case in one call; used by ``auto`` when the prompt fits the context window.
``hierarchical``
    the files' facts packed in order into as few prompts as hold them (several small files to a
    call; a file whose facts do not fit one prompt split into chunks that do, sized with the
    model's :meth:`count_tokens`); each answer is grounded and rendered as lines; then one call
    for the case gets the case overview and those partial narratives. When the partials do not
    fit one prompt, groups of them are merged first, level by level (a tree), until they do.
    The number of calls grows with the facts' tokens, not with the number of files: one call
    per file made a 160-file case 88 calls, each writing to its token limit with a small model.

The case-level reply gets at most ``reply_tokens`` tokens (default: a quarter of the context
window, capped by the model's ``max_new_tokens``); a partial one (a file, a pack of files, a
merged group) half of that, at least :data:`PARTIAL_REPLY_FLOOR`, since it is only read by the
next call. A prompt gets the rest of the window.

A malformed answer (not JSON, wrong types, cut off before its first complete part) is asked
for once more (``repairs``) with a note asking for a shorter, complete one. A partial answer
still malformed is recorded (with its raw text) and left out; the case-level answer still
malformed makes the narrative ``failed`` with the reason. Errors of the model itself (a
connection refused by an endpoint) are not caught: the stage fails and its task retries.
A model that is not available (:class:`~aima.models.llm.NoLLM`) gives a ``not_written`` narrative
with the model's reason, at no cost.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aima.fusion.facts import CaseFacts, MediaFacts, case_facts
from aima.fusion.grounding import (
    TIME_TOLERANCE_S, EvidenceIndex, Malformed, ground, read_answer,
)
from aima.fusion.prompt import (
    PROMPT_VERSION, REPAIR_TOKENS, Messages, case_prompt, files_prompt, fit_lines, media_prompt,
    prompt_tokens, render_partial, repair_prompt, single_prompt,
)
from aima.fusion.schema import SCHEMA_VERSION, Narrative, answer_schema, empty_narrative

Strategy = Literal["auto", "single", "hierarchical"]
MIN_REPLY_TOKENS = 256
PARTIAL_REPLY_FLOOR = 512  # a partial reply is cut to half the case-level one, never below this
MIN_PARTIAL_TOKENS = 128  # room a merging prompt must leave for partial narratives
MARGIN_TOKENS = 32  # between the prompt's counted size and the window: template differences
RAW_CHARS = 2000
REPAIRS = 1  # more attempts after a malformed answer (asking for a shorter one)
NOT_RUN_REASON = "the fuse stage has not run for this case"


class ContextTooSmall(ValueError):
    """The context window cannot hold even one fact or one partial narrative with its prompt."""


@dataclass
class CallRecord:
    scope: str  # "case", "file m2", "file m2 part 1/3", "group 1/2 (level 1)"
    prompt_tokens: int
    reply_tokens: int = 0
    seconds: float = 0.0
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None  # why the (last) failed attempt failed
    attempts: int = 0
    raw: str | None = None  # the last failed reply, cut to RAW_CHARS, for a person to read
    grounding: dict[str, Any] | None = None


@dataclass
class _Run:
    """One fusion: the model, the facts, the evidence index, the budget and the calls made."""

    llm: Any
    facts: CaseFacts
    index: EvidenceIndex
    reply_tokens: int
    tolerance_s: float
    repairs: int
    calls: list[CallRecord] = field(default_factory=list)
    _counted: dict[str, int] = field(default_factory=dict)

    @property
    def partial_tokens(self) -> int:
        """The reply cap of a partial call (a file, a pack of files, a merged group)."""
        return max(min(PARTIAL_REPLY_FLOOR, self.reply_tokens), self.reply_tokens // 2)

    @property
    def budget(self) -> int:
        """The prompt budget of the case-level call."""
        return self.budget_for(self.reply_tokens)

    def budget_for(self, reply_tokens: int) -> int:
        return self.llm.context_tokens - reply_tokens - MARGIN_TOKENS - REPAIR_TOKENS

    def count(self, text: str) -> int:
        """The model's token count of ``text``, each distinct text counted once."""
        if text not in self._counted:
            self._counted[text] = self.llm.count_tokens(text)
        return self._counted[text]

    def size(self, messages: Messages) -> int:
        return prompt_tokens(messages, self.count)

    def ask(self, scope: str, messages: Messages,
            reply_tokens: int | None = None) -> tuple[Narrative | None, str | None]:
        """One call, grounded, with up to ``repairs`` more attempts after a malformed answer;
        (narrative, None) or (None, why the last attempt failed). ``reply_tokens``: the reply's
        cap, the case-level one when not given."""
        from aima.models.llm import PromptTooLong

        reply_tokens = reply_tokens or self.reply_tokens
        record = CallRecord(scope, self.size(messages))
        self.calls.append(record)
        prompt = messages
        for attempt in range(1 + self.repairs):
            if attempt:
                prompt = repair_prompt(messages, record.error or "")
                record.prompt_tokens += self.size(prompt)
            record.attempts = attempt + 1
            started = time.perf_counter()
            try:
                reply = self.llm.chat_json(prompt, answer_schema(), max_tokens=reply_tokens)
            except PromptTooLong as exc:
                record.status, record.error = "failed", str(exc)
                return None, record.error
            finally:
                record.seconds = round(record.seconds + time.perf_counter() - started, 3)
            record.reply_tokens += self.llm.count_tokens(reply or "")
            try:
                answer = read_answer(reply)
            except Malformed as exc:
                record.status, record.error, record.raw = "failed", str(exc), reply[:RAW_CHARS]
                continue
            narrative = ground(answer, self.index, model_id=self.llm.model_id,
                               tolerance_s=self.tolerance_s)
            record.status = "ok"  # after a repair, ``error`` still says what the first was
            record.grounding = narrative.grounding.model_dump(exclude={"problems"})
            return narrative, None
        return None, record.error


def default_reply_tokens(llm: Any) -> int:
    """A quarter of the context window, at least :data:`MIN_REPLY_TOKENS`, at most the model's
    ``max_new_tokens``."""
    return min(llm.max_new_tokens, max(MIN_REPLY_TOKENS, llm.context_tokens // 4))


def input_key(report: dict[str, Any], llm: Any, *, strategy: Strategy, tolerance_s: float,
              reply_tokens: int, repairs: int, facts: CaseFacts | None = None) -> str:
    """What the narrative depends on, hashed: facts, evidence ids, model, prompt and settings."""
    facts = facts or case_facts(report)
    basis = {"name": facts.name, "context": facts.context, "facts": facts.lines(),
             "evidence": sorted(e.get("id", "") for e in report.get("evidence", [])),
             "model": llm.model_id, "parameters": llm.parameters, "prompt": PROMPT_VERSION,
             "schema": SCHEMA_VERSION, "strategy": strategy, "tolerance_s": tolerance_s,
             "reply_tokens": reply_tokens, "repairs": repairs}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def fuse_report(report: dict[str, Any], llm: Any, *, strategy: Strategy = "auto",
                tolerance_s: float = TIME_TOLERANCE_S, reply_tokens: int | None = None,
                repairs: int = REPAIRS, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fuse document for ``report`` (see the module docstring).

    ``previous`` is the stored document of an earlier run: when its narrative was written from
    the same input (:func:`input_key`), it is returned as it is, with ``reused: true``.
    """
    started = time.perf_counter()
    if not getattr(llm, "available", True):
        reason = getattr(llm, "reason", None) or "no language model configured"
        return _document(empty_narrative("not_written", reason, None), llm, strategy=strategy,
                         started=started)
    facts = case_facts(report)
    reply_tokens = reply_tokens or default_reply_tokens(llm)
    key = input_key(report, llm, strategy=strategy, tolerance_s=tolerance_s,
                    reply_tokens=reply_tokens, repairs=repairs, facts=facts)
    if (previous and previous.get("input_key") == key
            and previous.get("narrative", {}).get("status") == "written"):
        return {**previous, "reused": True}
    run = _Run(llm, facts, EvidenceIndex(report, facts.aliases), reply_tokens, tolerance_s,
               repairs)
    facts_s = time.perf_counter() - started
    llm.load()
    used = strategy
    try:
        if run.budget <= 0:
            raise ContextTooSmall(f"the context window ({llm.context_tokens} tokens) leaves no "
                                  f"room for a prompt beside {reply_tokens} reply tokens")
        single = single_prompt(facts)
        if strategy == "single" or (strategy == "auto" and run.size(single) <= run.budget):
            used = "single"
            narrative, error = run.ask("case", single)
        else:
            used = "hierarchical"
            narrative, error = _hierarchical(run)
        result = (narrative.model_dump(mode="json") if narrative is not None else
                  empty_narrative("failed", f"the case-level answer: {error}", llm.model_id))
    except ContextTooSmall as exc:
        result = empty_narrative("failed", str(exc), llm.model_id)
    return _document(result, llm, strategy=used, started=started, run=run, key=key,
                     facts_s=facts_s)


def _hierarchical(run: _Run) -> tuple[Narrative | None, str | None]:
    facts, count = run.facts, run.count
    overview = _overview(run)  # checked first: no file call is made for a prompt that cannot merge
    partials: list[str] = []
    failures: list[str] = []
    for scope, title, messages in _file_calls(run):
        narrative, error = run.ask(scope, messages, run.partial_tokens)
        if narrative is None:
            failures.append(f"{scope}: {error}")
            continue
        partials.append(render_partial(narrative, facts.aliases, title))
    if failures and not partials:
        return None, f"every file's answer failed ({failures[0]})"
    level = 0
    while True:
        final = case_prompt(facts, overview, partials)
        if run.size(final) <= run.budget:
            return run.ask("case", final)
        room = run.budget - run.size(case_prompt(facts, overview, [], final=len(partials) == 1))
        if len(partials) == 1:  # one merged narrative, still too long: its first lines
            partials = [_shorten(partials[0], room, count)]
            if run.size(case_prompt(facts, overview, partials)) > run.budget:
                raise ContextTooSmall(f"the case overview leaves no room for a narrative in a "
                                      f"{run.budget}-token prompt")
            continue
        level += 1
        groups = _groups(partials, room, count)
        if len(groups) == len(partials):  # only when half the room left holds too little
            raise ContextTooSmall(f"no two partial narratives fit one {run.budget}-token prompt "
                                  f"beside the case overview ({run.budget - room} tokens)")
        merged = []
        for n, group in enumerate(groups, start=1):
            if len(group) == 1:
                merged.append(group[0])
                continue
            scope = f"group {n}/{len(groups)} (level {level})"
            narrative, error = run.ask(scope, case_prompt(facts, overview, group, final=False),
                                       run.partial_tokens)
            if narrative is not None:
                merged.append(render_partial(narrative, facts.aliases, f"Narrative of {scope}"))
        if not merged:
            return None, "every merging answer failed"
        partials = merged


def _file_calls(run: _Run) -> Iterator[tuple[str, str, Messages]]:
    """(scope, title of its partial, prompt) of every file-level call, in file order: files
    packed together while their facts fit one prompt, a larger file alone in parts."""
    facts, count = run.facts, run.count
    budget = run.budget_for(run.partial_tokens)
    room = budget - run.size(files_prompt(facts, []))
    pack: list[tuple[MediaFacts, list[str]]] = []
    used = 0
    for item in facts.media:
        if not item.facts:
            continue  # its header is in the case overview
        lines = [f.render(facts.aliases) for f in item.facts]
        size = (count(item.header) + sum(count(line) + 1 for line in lines)
                + count(item.alias) + 4)  # the blank line, the file's name in the list
        if size <= room:
            if pack and used + size > room:
                yield _pack_call(facts, pack)
                pack, used = [], 0
            pack.append((item, lines))
            used += size
            continue
        if pack:
            yield _pack_call(facts, pack)
            pack, used = [], 0
        fixed = run.size(media_prompt(facts, item, []))
        if fixed >= budget:
            raise ContextTooSmall(f"the prompt for file {item.alias} alone takes {fixed} tokens "
                                  f"of a {budget}-token budget")
        chunks = fit_lines(lines, budget - fixed, count)
        for part, chunk in enumerate(chunks, start=1):
            scope = f"file {item.alias} part {part}/{len(chunks)}"
            yield (scope, f'Narrative of {scope} "{item.name}"',
                   media_prompt(facts, item, chunk, part, len(chunks)))
    if pack:
        yield _pack_call(facts, pack)


def _pack_call(facts: CaseFacts,
               pack: list[tuple[MediaFacts, list[str]]]) -> tuple[str, str, Messages]:
    if len(pack) == 1:
        item, lines = pack[0]
        return (f"file {item.alias}", f'Narrative of file {item.alias} "{item.name}"',
                media_prompt(facts, item, lines))
    scope = f"files {pack[0][0].alias}-{pack[-1][0].alias} ({len(pack)})"
    return scope, f"Narrative of {scope}", files_prompt(facts, pack)


def _overview(run: _Run) -> list[str]:
    """The case overview lines, cut to half the room a merging prompt leaves (a case with very
    many persons); raises :class:`ContextTooSmall` when too little room is left for partials."""
    lines = run.facts.overview()
    room = run.budget - run.size(case_prompt(run.facts, [], [], final=False))
    chunks = fit_lines(lines, max(1, room // 2), run.count)
    if len(chunks) > 1:
        lines = chunks[0] + [f"({len(lines) - len(chunks[0])} more case lines not shown)"]
    left = room - sum(run.count(line) + 1 for line in lines)
    if left < MIN_PARTIAL_TOKENS:
        raise ContextTooSmall(f"a {run.budget}-token prompt leaves {left} tokens for partial "
                              f"narratives beside the instructions and the case overview")
    return lines


def _groups(partials: list[str], budget: int, count) -> list[list[str]]:
    """Partials packed in order into groups of at most ``budget`` tokens, at least two to a
    group: a partial larger than half the budget is shortened to half, so that every merging
    level halves the number of partials at least."""
    groups: list[list[str]] = []
    used = 0
    for partial in partials:
        if count(partial) + 2 > budget // 2:
            partial = _shorten(partial, budget // 2, count)
        size = count(partial) + 2
        if groups and used + size <= budget:
            groups[-1].append(partial)
            used += size
        else:
            groups.append([partial])
            used = size
    return groups


def _shorten(partial: str, budget: int, count) -> str:
    """A rendered partial cut to its first lines (its summary and most serious claims come
    first) so that it takes at most ``budget`` tokens."""
    lines = partial.splitlines()
    chunks = fit_lines(lines, max(1, budget - 16), count)
    if len(chunks) <= 1:
        return partial
    return "\n".join(chunks[0] + [f"({len(lines) - len(chunks[0])} more lines left out)"])


def _document(narrative: dict[str, Any], llm: Any, *, strategy: str, started: float,
              run: _Run | None = None, key: str | None = None,
              facts_s: float = 0.0) -> dict[str, Any]:
    calls = run.calls if run else []
    llm_s = sum(c.seconds for c in calls)
    return {
        "narrative": narrative,
        "model_id": None if narrative["status"] == "not_written" else llm.model_id,
        "parameters": dict(getattr(llm, "parameters", {}) or {}),
        "prompt_version": PROMPT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "strategy": strategy,
        "tolerance_s": run.tolerance_s if run else None,
        "context_tokens": getattr(llm, "context_tokens", None),
        "reply_tokens": run.reply_tokens if run else None,
        "repairs": run.repairs if run else None,
        "tokens": {"calls": len(calls), "prompt": sum(c.prompt_tokens for c in calls),
                   "reply": sum(c.reply_tokens for c in calls),
                   "largest_prompt": max((c.prompt_tokens for c in calls), default=0)},
        "timings": {"facts_s": round(facts_s, 3), "llm_s": round(llm_s, 3),
                    "total_s": round(time.perf_counter() - started, 3)},
        "calls": [asdict(c) for c in calls],
        "input_key": key,
        "generated_at": datetime.now(UTC).isoformat(),
        "reused": False,
    }
