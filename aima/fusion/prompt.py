"""What the language model is asked: the boundaries, the facts, and the narratives to merge.

Three kinds of prompt, all answered with one :class:`~aima.fusion.schema.NarrativeAnswer`:

- :func:`single_prompt`: the whole case in one call, when its facts fit the context window;
- :func:`files_prompt`: the facts of several small files together (as many as fit one prompt);
- :func:`media_prompt`: the facts of one file, or of one chunk of a file that does not fit;
- :func:`case_prompt`: the case overview (files, persons, links, counts) and narratives already
  written for parts of the case (rendered by :func:`render_partial` as lines ending with their
  evidence ids, like facts), merged into one; used for the final call and, when the parts do not
  fit together, for merging groups of them first.

Every prompt carries the system prompt (:data:`SYSTEM`: never identify anyone, no age, gender or
ethnicity, indicators are for a human reviewer and never a verdict, cite only the ids given) and
the case context the case owner gave, marked as background. :func:`fit_lines` and
:func:`prompt_tokens` size prompts with the model's own token count.

:data:`PROMPT_VERSION` is part of the key of a stored narrative: change it whenever the wording
changes what a model answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aima.fusion.facts import Aliases, CaseFacts, MediaFacts
from aima.fusion.schema import Narrative

PROMPT_VERSION = "2"
MAX_CONTEXT_CHARS = 2000  # the case owner's note is cut there
MESSAGE_OVERHEAD_TOKENS = 8  # a chat template's role markers and separators, per message

Counter = Callable[[str], int]
Messages = list[dict[str, str]]

SYSTEM = """You write the fused narrative of a case for a human reviewer, from facts that \
software extracted from the case's files.
Rules:
- Use only the facts given. Each fact line ends with the evidence ids it rests on, in brackets. \
Every claim you write cites, in its "evidence" list, ids copied exactly from those brackets \
(for example "seg:m1:3"). Never make up an id.
- Files are named m1, m2, ...; a time is seconds from the start of its file.
- Refer to persons only by their case labels (person-1, speaker-2). Never identify anyone, never \
guess a name, and never estimate age, gender or ethnicity.
- Restraints and signs of distress or coercion are indicators for a human reviewer to check, \
never a verdict: say what the evidence shows, not what it proves.
- Put anything serious, uncertain or contradictory in "requires_human_review".
Answer with one JSON object with these keys:
"summary": at most three plain sentences, without ids; "summary_evidence": the ids it rests on;
"timeline": [{"time", "media_id", "description", "evidence", "confidence"}] in time order;
"persons": [{"person", "description", "appearances", "said", "interactions", "restraints", \
"evidence"}], one per case person;
"restraints": [{"person", "media_id", "description", "evidence", "confidence"}];
"indicators": [{"kind": distress, coercion, restraint, threat or other, "description", \
"evidence", "confidence"}];
"contradictions": [{"description", "evidence"}] where sources disagree;
"requires_human_review": [{"reason", "evidence"}].
"confidence" is low, medium or high. Use empty lists when there is nothing to report."""


def _context(facts: CaseFacts) -> str:
    head = f'Case "{facts.name}".' if facts.name else "Case."
    if not facts.context:
        return head
    return (f"{head}\nCase context from the case owner (background, not evidence: cite nothing "
            f"from it):\n{facts.context[:MAX_CONTEXT_CHARS]}")


def _messages(user: str) -> Messages:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def prompt_tokens(messages: Messages, count: Counter) -> int:
    """The prompt's size in the model's tokens (chat-template markers estimated)."""
    return sum(count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def single_prompt(facts: CaseFacts) -> Messages:
    body = [f"{item.header}\n" + "\n".join(f.render(facts.aliases) for f in item.facts)
            for item in facts.media]
    case = [f.render(facts.aliases) for f in facts.case]
    return _messages(
        f"{_context(facts)}\n\nFacts of the whole case:\n" + "\n".join(case) + "\n\n"
        + "\n\n".join(body) + "\n\nWrite the narrative of the whole case as JSON.")


def files_prompt(facts: CaseFacts, blocks: Sequence[tuple[MediaFacts, Sequence[str]]]) -> Messages:
    """The prompt for several files at once: each file's header and its ``lines``."""
    names = ", ".join(item.alias for item, _ in blocks)
    body = "\n\n".join(f"{item.header}\n" + "\n".join(lines) for item, lines in blocks)
    return _messages(
        f"{_context(facts)}\n\nFacts of files {names}:\n{body}"
        f"\n\nWrite the narrative of these files as JSON: only what these facts show.")


def media_prompt(facts: CaseFacts, item: MediaFacts, lines: Sequence[str], part: int = 1,
                 parts: int = 1) -> Messages:
    """The prompt for ``lines`` (rendered facts) of one file; ``part`` of ``parts`` chunks."""
    which = (f" (part {part} of {parts}; the other parts are written separately)"
             if parts > 1 else "")
    return _messages(
        f"{_context(facts)}\n\nFacts of file {item.alias}{which}:\n{item.header}\n"
        + "\n".join(lines)
        + f"\n\nWrite the narrative of file {item.alias} as JSON: only what these facts show.")


def case_prompt(facts: CaseFacts, overview: Sequence[str], partials: Sequence[str], *,
                final: bool = True) -> Messages:
    """Merge ``partials`` (from :func:`render_partial`) under the case ``overview`` lines."""
    task = ("Write the narrative of the whole case as JSON: one timeline across the files, one "
            "dossier per person, and every restraint, indicator, contradiction and review "
            "request of the parts, merged." if final else
            "Merge these parts into one narrative as JSON, keeping every claim with its ids.")
    return _messages(
        f"{_context(facts)}\n\nThe case's files, persons and counts:\n" + "\n".join(overview)
        + "\n\nNarratives written for parts of the case (each claim ends with its evidence "
          "ids):\n\n" + "\n\n".join(partials) + f"\n\n{task}")


def render_partial(narrative: Narrative, aliases: Aliases, title: str) -> str:
    """A grounded narrative as lines for a merging prompt, each ending with its short ids."""

    def ids(evidence: list[str]) -> str:
        return f" [{', '.join(aliases.short_id(i) for i in evidence)}]" if evidence else ""

    lines = [f"{title}:"]
    if narrative.summary:
        lines.append(f"summary: {narrative.summary}")
    # the most serious first: a partial cut to fit a merging prompt loses its timeline's end
    for r in narrative.requires_human_review:
        lines.append(f"review: {r.reason}{ids(r.evidence)}")
    for r in narrative.restraints:
        who = f" {r.person}" if r.person else ""
        lines.append(f"restraint {aliases.short(r.media_id)}{who}: {r.description} "
                     f"({r.confidence}){ids(r.evidence)}")
    for i in narrative.indicators:
        lines.append(f"indicator {i.kind}: {i.description} ({i.confidence}){ids(i.evidence)}")
    for c in narrative.contradictions:
        lines.append(f"contradiction: {c.description}{ids(c.evidence)}")
    for p in narrative.persons:
        said = f"; said: {' / '.join(p.said)}" if p.said else ""
        acts = f"; interactions: {' / '.join(p.interactions)}" if p.interactions else ""
        held = f"; restraints: {' / '.join(p.restraints)}" if p.restraints else ""
        lines.append(f"person {p.person}: {p.description}{said}{acts}{held}{ids(p.evidence)}")
    for e in narrative.timeline:
        lines.append(f"event {aliases.short(e.media_id)} at {e.time:.1f} s: {e.description} "
                     f"({e.confidence}){ids(e.evidence)}")
    return "\n".join(lines)


REPAIR = ("\n\nA previous answer could not be used ({error}). Answer again with one complete "
          "JSON object, shorter: a summary of one or two sentences and at most {items} items in "
          "each list.")
REPAIR_TOKENS = 80  # what the repair note may add to a prompt (kept free in every budget)


def repair_prompt(messages: Messages, error: str, items: int = 6) -> Messages:
    """``messages`` again, asking for a shorter, complete answer after one that failed."""
    *head, last = messages
    note = REPAIR.format(error=error[:160], items=items)
    return [*head, {**last, "content": last["content"] + note}]


def fit_lines(lines: Sequence[str], budget: int, count: Counter) -> list[list[str]]:
    """``lines`` packed in order into chunks of at most ``budget`` tokens each (a line longer
    than the budget is cut to fit it alone). Empty input gives no chunk."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        size = count(line) + 1  # the newline
        if size > budget:
            line = _cut(line, budget, count)
            size = count(line) + 1
        if current and used + size > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += size
    if current:
        chunks.append(current)
    return chunks


def _cut(line: str, budget: int, count: Counter) -> str:
    """``line`` with its text shortened until it fits ``budget``; its evidence ids are kept."""
    text, ids = line, ""
    if line.endswith("]") and " [" in line:
        text, ids = line.rsplit(" [", 1)
        ids = " [" + ids
    while len(text) > 1 and count(text + "…" + ids) + 1 > budget:
        text = text[: len(text) * 3 // 4]
    return text + "…" + ids
