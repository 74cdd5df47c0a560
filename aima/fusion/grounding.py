"""Grounding: an LLM answer read, validated and checked against the case's evidence.

:func:`read_answer` turns the model's raw reply into claims. A reply that is not one JSON object
(unparseable, prose, cut off before anything in it was complete) or whose top level has the
wrong types (``summary`` not a string, ``timeline`` not a list) raises :class:`Malformed`: the
narrative is then ``failed`` with that reason, and the report built by code stands as it is.
A reply cut off by its token budget keeps what it completed (up to its last complete claim);
a single claim of the wrong shape (a missing field, an unknown ``confidence``) is dropped on its
own and the rest kept.

:func:`ground` then checks every evidence id a claim cites, in short (``seg:m1:3``) or full form:

- it must be an evidence id of this case: one of the report's ``evidence`` items;
- for a claim about one file (timeline events, restraints) it must belong to that file, and for
  a timeline event its locator (a keyframe's moment, a segment's span) must lie within
  :data:`TIME_TOLERANCE_S` of the event's time (evidence without a time, such as an image's,
  passes the time check);
- for a person's dossier it must be evidence of that person: their faces (and the keyframe,
  vision analysis and restraint detections of those frames), their speech segments, and the
  evidence of a speaker-face link that was not rejected.

Ids that fail are removed from the claim and counted (``removed_ids``). What happens to a claim
left without a valid id depends on what it is:

==========================  ===============================================================
claim                       with no valid evidence
==========================  ===============================================================
timeline event              dropped
restraint                   dropped
indicator                   dropped
contradiction               dropped; a contradiction between sources needs two valid ids
person dossier              kept, ``grounded: false`` (the person is a case person; what is
                            said about them is unsupported). A dossier of someone who is no
                            case person is dropped: it would invent a person
review request              kept, ``grounded: false``: a call for a human is never silenced
summary                     kept, ``summary_grounded: false`` (its ids are in
                            ``summary_evidence``); a reader shows it as unsupported prose
==========================  ===============================================================

A claim about a file the model named wrongly (``media_id`` neither a short name, a media id nor a
file name of the case) is placed in the file of its first valid id. Evidence ids written into the
summary's prose are replaced by their full form, or removed when they are not valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from aima.fusion.facts import Aliases, face_persons, person_refs
from aima.fusion.schema import (
    MAX_EVIDENCE, SECTIONS, SUMMARY_CHARS, Contradiction, Grounding, Indicator, Narrative,
    PersonDossier, RestraintFinding, ReviewRequest, TimelineEvent,
)

TIME_TOLERANCE_S = 2.0
"""How far (seconds) a timeline event's time may lie outside the span of the evidence it cites:
keyframes are moments, and a model rounds times."""
MAX_PROBLEMS = 20
_ID_SPLIT = re.compile(r"[,;\s]+")
_INLINE_ID = re.compile(  # an evidence id written into prose
    r"\b(?:kf|seg|voice|face|ocr|vlm|det):[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)+")


class Malformed(ValueError):
    """The reply is no narrative: not one JSON object, or its top level has the wrong types."""


@dataclass(frozen=True)
class Span:
    media_id: str
    start_s: float | None
    end_s: float | None

    def covers(self, time_s: float, tolerance_s: float) -> bool:
        if self.start_s is None:
            return True  # no time in the locator (an image): nothing to check
        end = self.end_s if self.end_s is not None else self.start_s
        return self.start_s - tolerance_s <= time_s <= end + tolerance_s


class EvidenceIndex:
    """The case's evidence ids with their locators, and each case person's evidence."""

    def __init__(self, report: dict[str, Any], aliases: Aliases):
        self.aliases = aliases
        self.spans: dict[str, Span] = {}
        for item in report.get("evidence", []):
            if not item.get("id") or not item.get("media_id"):
                continue
            moment = item.get("timestamp_s")
            start = moment if moment is not None else item.get("start_s")
            end = moment if moment is not None else item.get("end_s")
            self.spans[item["id"]] = Span(item["media_id"], start, end)
        self.names = {row["id"]: row.get("name") for row in report.get("media", [])}
        self.order = {media_id: n for n, media_id in enumerate(self.names)}
        self.persons = _person_evidence(report)
        self.person_names: dict[str, str] = {}
        for ref, person in person_refs(report).items():
            self.person_names[ref.lower()] = ref
            if person.get("label"):
                self.person_names.setdefault(str(person["label"]).lower(), ref)

    def person(self, ref: str) -> str | None:
        """The case person a claim names (``person-1``, ``Person 1``, ``speaker-2``), or None."""
        return self.person_names.get(" ".join(ref.strip().lower().split()))

    def resolve(self, cited: Iterable[str]) -> tuple[list[str], list[str]]:
        """The full ids of the case among ``cited`` (in order, once each), and the rest."""
        valid, invalid = [], []
        for entry in cited:
            for token in filter(None, _ID_SPLIT.split(entry)):
                full = self.aliases.full_id(token)
                if full is not None and full in self.spans:
                    if full not in valid:
                        valid.append(full)
                else:
                    invalid.append(token)
        return valid, invalid


def _person_evidence(report: dict[str, Any]) -> dict[str, set[str]]:
    """Case person reference -> the evidence ids that are about them."""
    refs = person_refs(report)
    owned: dict[str, set[str]] = {ref: {i for a in p.get("appearances", [])
                                        for i in a.get("evidence", [])}
                                  for ref, p in refs.items()}
    face_person = face_persons(report)
    for face, ref in face_person.items():
        owned.setdefault(ref, set()).add(face)
    for ref, ids in owned.items():  # the frames a person's face is in
        for face in [i for i in ids if i.startswith("face:")]:
            _, media_id, frame, _ = face.split(":")
            ids.update({f"kf:{media_id}:{frame}", f"vlm:{media_id}:{frame}"})
    for item in report.get("evidence", []):
        if item.get("kind") == "detection" and item.get("face") in face_person:
            owned[face_person[item["face"]]].add(item["id"])
    for link in report.get("person_links", []):
        if link.get("status") == "rejected":
            continue
        pair = [link.get("speaker"), link.get("person")]
        union = set().union(*(owned.get(ref, set()) for ref in pair), link.get("evidence", []))
        for ref in pair:
            if ref:
                owned[ref] = set(union)
    return owned


# --- reading the reply -----------------------------------------------------------------------


@dataclass
class Answer:
    """A reply's claims that have the right shape, and what was dropped on the way."""

    summary: str
    claims: dict[str, list[BaseModel]]
    summary_evidence: list[str] = field(default_factory=list)
    dropped: int = 0
    problems: list[str] = field(default_factory=list)


def read_answer(text: str) -> Answer:
    """The claims of a reply; raises :class:`Malformed` when it is no narrative at all.

    A reply cut off by its token budget (the text ends inside the object) keeps the claims it
    completed: it is cut back after the last complete item of a list and closed, and the
    incomplete item is counted as dropped. One with no complete claim is malformed.
    """
    text = text or ""
    start = text.find("{")
    if start < 0:
        raise Malformed("no JSON object in the answer")
    truncated = None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        truncated = _salvage(text, start)
        if truncated is None:
            raise Malformed(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
        value, started = truncated
    if not isinstance(value, dict):
        raise Malformed("the answer is not a JSON object")
    if not ({"summary", *SECTIONS} & set(value)):
        raise Malformed("the JSON object has none of the narrative's keys")
    wrong = [f"{key}: expected a list" for key in SECTIONS
             if key in value and not isinstance(value[key], list)]
    if "summary_evidence" in value and not isinstance(value["summary_evidence"], list):
        wrong.insert(0, "summary_evidence: expected a list")
    if "summary" in value and not isinstance(value["summary"], str):
        wrong.insert(0, "summary: expected a string")
    if wrong:
        raise Malformed("does not match the schema: " + "; ".join(wrong))
    cited = [str(i) for i in value.get("summary_evidence", [])][:MAX_EVIDENCE]
    answer = Answer(summary=value.get("summary", "").strip()[:SUMMARY_CHARS], claims={},
                    summary_evidence=cited)
    if truncated is not None:
        answer.dropped += started
        answer.problems.append(
            "the answer was cut off by its token budget: "
            + ("its last claim was incomplete and dropped" if started else "nothing was lost"))
    for key, (model, limit) in SECTIONS.items():
        items = value.get(key, [])
        if len(items) > limit:
            answer.dropped += len(items) - limit
            answer.problems.append(f"{key}: {len(items)} items, only the first {limit} kept")
        answer.claims[key] = []
        for n, item in enumerate(items[:limit]):
            try:
                answer.claims[key].append(model.model_validate(item))
            except ValidationError as exc:
                answer.dropped += 1
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                answer.problems.append(f"{key}[{n}] dropped: {where or 'item'}: {first['msg']}")
    return answer


def _salvage(text: str, start: int) -> tuple[dict, int] | None:
    """The object at ``start`` of a reply that ends inside it, cut back after its last complete
    claim (an item of a top-level list) or list and closed; with 1 when a claim was begun after
    that, else 0. None when the text does not simply end early, or nothing was completed."""
    stack: list[str] = []
    in_string = escaped = False
    cut = None  # (position after the last complete part, the containers still open there)
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]":
            if not stack or stack.pop() != {"}": "{", "]": "["}[c] or not stack:
                return None  # a mismatch, or a complete object: an error, not a cut-off
            if stack in (["{", "["], ["{"]):  # a claim of a top-level list, or the list, closed
                cut = (i + 1, "".join("]" if b == "[" else "}" for b in reversed(stack)))
    if cut is None:
        return None
    try:
        value = json.loads(text[start:cut[0]] + cut[1])
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    return value, 1 if "{" in text[cut[0]:] else 0


# --- checking it against the evidence --------------------------------------------------------


class _Tally:
    def __init__(self, answer: Answer, aliases: Aliases):
        self.aliases = aliases  # problems name files m1, m2, ... as the prompt did
        self.grounding = Grounding(dropped=answer.dropped, claims=answer.dropped,
                                   problems=list(answer.problems))

    def problem(self, text: str) -> None:
        self.grounding.problems.append(text)

    def invalid(self, where: str, ids: list[str], why: str) -> None:
        if ids:
            ids = [self.aliases.short_id(i) if self.aliases.full_id(i) == i else i for i in ids]
            self.grounding.removed_ids += len(ids)
            self.problem(f"{where}: removed {', '.join(ids[:4])}"
                         + (f" and {len(ids) - 4} more" if len(ids) > 4 else "") + f" ({why})")

    def count(self, outcome: str) -> None:
        self.grounding.claims += 1
        setattr(self.grounding, outcome, getattr(self.grounding, outcome) + 1)


def ground(answer: Answer, index: EvidenceIndex, *, model_id: str | None = None,
           tolerance_s: float = TIME_TOLERANCE_S) -> Narrative:
    """The narrative of ``answer``: only valid evidence ids, each claim marked or dropped."""
    tally = _Tally(answer, index.aliases)
    narrative = Narrative(status="written", model_id=model_id,
                          summary=_summary(answer.summary, index))
    claims = answer.claims
    if narrative.summary:
        ids, invalid = index.resolve(answer.summary_evidence)
        tally.invalid("summary", invalid, "not evidence of this case")
        narrative.summary_evidence, narrative.summary_grounded = ids, bool(ids)
        tally.count("grounded" if ids else "ungrounded")

    for n, claim in enumerate(claims.get("timeline", [])):
        where = f"timeline[{n}]"
        media_id, ids = _in_media(claim.media_id, claim.evidence, index, tally, where)
        timed = [i for i in ids if index.spans[i].covers(claim.time, tolerance_s)]
        tally.invalid(where, [i for i in ids if i not in timed],
                      f"not within {tolerance_s:g} s of {claim.time:g} s")
        if not timed:
            tally.count("dropped")
            continue
        tally.count("grounded")
        narrative.timeline.append(TimelineEvent(
            **{**claim.model_dump(), "media_id": media_id, "evidence": timed},
            name=index.names.get(media_id), grounded=True))
    narrative.timeline.sort(key=lambda e: (index.order.get(e.media_id, len(index.order)), e.time))

    for n, claim in enumerate(claims.get("persons", [])):
        where = f"persons[{n}]"
        ref = index.person(claim.person)
        if ref is None:
            # the model's words are not repeated: they may be a name it made up
            tally.problem(f"{where} dropped: its person is no case person label")
            tally.count("dropped")
            continue
        ids, invalid = index.resolve(claim.evidence)
        tally.invalid(where, invalid, "not evidence of this case")
        theirs = [i for i in ids if i in index.persons.get(ref, set())]
        tally.invalid(where, [i for i in ids if i not in theirs], f"not evidence of {ref}")
        tally.count("grounded" if theirs else "ungrounded")
        narrative.persons.append(PersonDossier(
            **{**claim.model_dump(), "person": ref, "evidence": theirs}, grounded=bool(theirs)))

    for n, claim in enumerate(claims.get("restraints", [])):
        where = f"restraints[{n}]"
        media_id, ids = _in_media(claim.media_id, claim.evidence, index, tally, where)
        if not ids:
            tally.count("dropped")
            continue
        person = index.person(claim.person) if claim.person.strip() else ""
        if person is None:
            tally.problem(f"{where}: its person is no case person label; left blank")
        tally.count("grounded")
        narrative.restraints.append(RestraintFinding(
            **{**claim.model_dump(), "person": person or "", "media_id": media_id,
               "evidence": ids}, grounded=True))

    for key, model, least in (("indicators", Indicator, 1), ("contradictions", Contradiction, 2),
                              ("requires_human_review", ReviewRequest, 1)):
        for n, claim in enumerate(claims.get(key, [])):
            where = f"{key}[{n}]"
            ids, invalid = index.resolve(claim.evidence)
            tally.invalid(where, invalid, "not evidence of this case")
            grounded = len(ids) >= least
            if not grounded and key != "requires_human_review":
                if ids:
                    tally.problem(f"{where} dropped: a contradiction needs two valid ids")
                tally.count("dropped")
                continue
            tally.count("grounded" if grounded else "ungrounded")
            getattr(narrative, key).append(model(**{**claim.model_dump(), "evidence": ids},
                                                 grounded=grounded))

    tally.grounding.problems = tally.grounding.problems[:MAX_PROBLEMS]
    narrative.grounding = tally.grounding
    return narrative


def _in_media(ref: str, cited: list[str], index: EvidenceIndex, tally: _Tally,
              where: str) -> tuple[str | None, list[str]]:
    """A claim's file and the ids it cites that are evidence of that file."""
    ids, invalid = index.resolve(cited)
    tally.invalid(where, invalid, "not evidence of this case")
    media_id = index.aliases.media(ref)
    if media_id is None and ids:
        media_id = index.spans[ids[0]].media_id
        tally.problem(f"{where}: file {ref!r} unknown, placed in {index.aliases.short(media_id)}")
    inside = [i for i in ids if index.spans[i].media_id == media_id]
    tally.invalid(where, [i for i in ids if i not in inside],
                  f"evidence of another file than {index.aliases.short(media_id or '?')}")
    return media_id, inside


def _summary(text: str, index: EvidenceIndex) -> str:
    """The summary with each evidence id in it written in full, or removed when invalid."""

    def replace(match: re.Match) -> str:
        valid, _ = index.resolve([match.group(0)])
        return valid[0] if valid else ""

    cleaned = _INLINE_ID.sub(replace, text)
    cleaned = re.sub(r"\[\s*(?:,\s*)*\]|\(\s*(?:,\s*)*\)", "", cleaned)  # emptied brackets
    return " ".join(cleaned.split())
