"""What code knows about a case, as short fact lines for the language model.

Everything a program can compute from the evidence is computed here and handed to the model as
fact, so that the model only has to arrange and summarise: who appears where (case persons,
their faces and voices per file), what was said (transcript segments with speaker, language and
times), what the vision model, the restraint detector and OCR found, counts and times, and the
case context. Each line ends with the evidence ids it rests on, in brackets: the ids the model
may cite.

Media ids are 36-character UUIDs, which cost a small model about 25 tokens each and are easy to
miscopy; the lines therefore name files ``m1``, ``m2``, ... (:class:`Aliases`) and cite
``seg:m1:3`` for ``seg:<media id>:3``. The grounding check (:mod:`aima.fusion.grounding`) maps
short ids back to full ones; the stored narrative holds full ids only.

:func:`case_facts` reads the report dict of :func:`aima.report.build_report` and tolerates any
section being absent (a stage that did not run, a report key not there yet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aima import evidence as evidence_ids

MAX_LINE_CHARS = 400  # a fact's text is cut there (a long OCR block, a long segment)
MAX_CASE_IDS = 4  # ids cited by one case-level line (a person's first appearances, a link)


class Aliases:
    """Short names for the case's media items: ``m1``, ``m2``, ... in report order."""

    def __init__(self, media: Iterable[tuple[str, str | None]]):
        self._short: dict[str, str] = {}
        self._full: dict[str, str] = {}
        self._names: dict[str, str] = {}
        for media_id, name in media:
            if media_id in self._short:
                continue
            alias = f"m{len(self._short) + 1}"
            self._short[media_id], self._full[alias] = alias, media_id
            if name:
                self._names[name.lower()] = media_id

    def short(self, media_id: str) -> str:
        return self._short.get(media_id, media_id)

    def media(self, ref: str | None) -> str | None:
        """The media id that ``ref`` names: a short name, a full id or a file name; else None."""
        ref = (ref or "").strip().strip("[]\"'").strip()
        if ref in self._short:
            return ref
        return self._full.get(ref.lower()) or self._names.get(ref.lower())

    def short_id(self, evidence_id: str) -> str:
        """``seg:m1:3`` for ``seg:<media id of m1>:3``."""
        kind, media_id, *rest = evidence_id.split(":")
        return ":".join([kind, self.short(media_id), *rest])

    def full_id(self, cited: str) -> str | None:
        """The full evidence id a cited one stands for (short or full media part); None when it
        is not an evidence id at all."""
        try:
            parsed = evidence_ids.parse(cited.strip().strip("[]\"'").strip())
        except evidence_ids.BadEvidenceId:
            return None
        media_id = self.media(parsed.media_id) or parsed.media_id
        return str(evidence_ids.EvidenceId(parsed.kind, media_id, parsed.parts))


@dataclass(frozen=True)
class Fact:
    """One line of fact: its text and the (full) evidence ids it rests on."""

    text: str
    evidence: tuple[str, ...] = ()
    at: float | None = None  # seconds within the file, for ordering

    def render(self, aliases: Aliases) -> str:
        text = self.text if len(self.text) <= MAX_LINE_CHARS else self.text[:MAX_LINE_CHARS] + "…"
        if not self.evidence:
            return text
        return f"{text} [{', '.join(aliases.short_id(i) for i in self.evidence)}]"


@dataclass
class MediaFacts:
    """The facts of one media item, in time order, under a header line."""

    media_id: str
    alias: str
    name: str
    header: str
    facts: list[Fact] = field(default_factory=list)


@dataclass
class CaseFacts:
    """All facts of a case: per media item, and case-level ones (persons, links, counts)."""

    case_id: str
    name: str
    context: str | None
    aliases: Aliases
    media: list[MediaFacts]
    case: list[Fact]

    def overview(self) -> list[str]:
        """The case-level lines: one per file (its header), then persons, links and counts."""
        return [item.header for item in self.media] + [f.render(self.aliases) for f in self.case]

    def lines(self) -> list[str]:
        """Every fact as text: the case-level lines, then each file's header and lines."""
        rendered = [fact.render(self.aliases) for fact in self.case]
        for item in self.media:
            rendered.append(item.header)
            rendered += [fact.render(self.aliases) for fact in item.facts]
        return rendered

    def cited(self) -> set[str]:
        """Every evidence id some fact cites."""
        return {i for facts in ([m.facts for m in self.media] + [self.case]) for f in facts
                for i in f.evidence}


def _at(timestamp_s: float | None) -> str:
    return "in the image" if timestamp_s is None else f"at {timestamp_s:.1f} s"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def _quote(text: str) -> str:
    return '"' + " ".join(str(text).split()).replace('"', "'") + '"'


def person_refs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Case persons by the reference the model uses: ``speaker-N`` for a voice, the face
    cluster key (``person-N``) for a face person; each with its label and report entry."""
    face_keys = {p["id"]: p["key"] for p in (report.get("faces") or {}).get("persons", [])
                 if p.get("id") and p.get("key")}
    refs = {}
    for person in report.get("persons", []):
        ref = person.get("speaker_id") or face_keys.get(person.get("id")) or person.get("key")
        if not ref:  # a person the report cannot name by key: its label, slugged
            ref = "-".join(str(person.get("label") or person.get("id")).lower().split())
        refs[ref] = person
    return refs


def face_persons(report: dict[str, Any]) -> dict[str, str]:
    """Face evidence id -> the face person's reference (faces in no person are left out)."""
    return {face["id"]: face["person"]
            for item in (report.get("faces") or {}).get("media", [])
            for face in item.get("faces", []) if face.get("person")}


def case_facts(report: dict[str, Any]) -> CaseFacts:
    """The facts of the case report ``report`` (see :func:`aima.report.build_report`)."""
    case = report.get("case") or {}
    basis = (report.get("timeline_basis") or {}).get("media") or []
    rows = {row["id"]: row for row in report.get("media", [])}
    order = [m["media_id"] for m in basis if m.get("media_id") in rows]
    order += [media_id for media_id in rows if media_id not in order]
    aliases = Aliases((media_id, rows[media_id].get("name")) for media_id in order)
    origins = {m["media_id"]: m.get("origin") for m in basis  # when it was recorded, if known
               if m.get("source") == "capture_time"}
    per_media: dict[str, list[Fact]] = defaultdict(list)
    languages: dict[str, str] = {}
    face_person = face_persons(report)

    for transcript in report.get("transcripts", []):
        media_id = transcript["media_id"]
        if transcript.get("language"):
            languages[media_id] = transcript["language"]
        for segment in transcript.get("segments", []):
            speaker = segment.get("speaker") or "an unknown speaker"
            per_media[media_id].append(Fact(
                f"{_seconds(segment['start'])}-{_seconds(segment['end'])} s {speaker} said "
                f"{_quote(segment['text'])}", (segment["id"],), segment["start"]))

    for item in (report.get("faces") or {}).get("media", []):
        frames: dict[str, list[dict]] = defaultdict(list)
        for face in item.get("faces", []):
            frames[str(face["frame"])].append(face)
        for faces in frames.values():
            who = [face.get("person") or "a face in no case person" for face in faces]
            per_media[item["media_id"]].append(Fact(
                f"{_at(faces[0]['timestamp_s'])} faces seen: {', '.join(who)}",
                tuple(face["id"] for face in faces), faces[0]["timestamp_s"]))

    for frame in report.get("frames", []):
        if frame.get("analysis"):
            cites = (frame["id"],) + ((frame["keyframe"],) if frame.get("keyframe") else ())
            per_media[frame["media_id"]].append(Fact(
                f"{_at(frame['timestamp_s'])} the vision model saw: "
                f"{describe_analysis(frame['analysis'])}", cites, frame["timestamp_s"]))

    for observation in report.get("restraint_observations", []):
        people = sorted({face_person[f] for f in observation.get("faces", []) if f in face_person})
        by = {"detector": f"the restraint detector (score {observation['score']:.2f})"
              if observation.get("score") is not None else "the restraint detector",
              "vlm": "the vision model"}
        said = " and ".join(by[s] for s in observation.get("signals", []) if s in by)
        per_media[observation["media_id"]].append(Fact(
            f"{_at(observation['timestamp_s'])} possible restraint: {observation['type']}, "
            f"reported by {said or 'a model'} ({observation.get('confidence', 'lower')} "
            "confidence)" + (f", near the face of {', '.join(people)}" if people else "")
            + "; for a human reviewer to check",
            tuple(observation.get("evidence", [])), observation["timestamp_s"]))

    for item in report.get("text", []):
        frames = defaultdict(list)
        for line in item.get("lines", []):
            frames[str(line["frame"])].append(line)
        for lines in frames.values():
            per_media[item["media_id"]].append(Fact(
                f"{_at(lines[0]['timestamp_s'])} text read (OCR): "
                + " / ".join(_quote(line["text"]) for line in lines),
                tuple(line["id"] for line in lines), lines[0]["timestamp_s"]))

    media = []
    for media_id in order:
        row = rows[media_id]
        facts = sorted(per_media.get(media_id, []),
                       key=lambda f: (f.at is not None, f.at or 0.0))
        media.append(MediaFacts(media_id, aliases.short(media_id), row.get("name") or media_id,
                                _media_line(row, aliases, languages, origins, facts), facts))
    return CaseFacts(case_id=str(case.get("id", "")), name=str(case.get("name", "")),
                     context=(case.get("context") or "").strip() or None, aliases=aliases,
                     media=media, case=_case_level(report, aliases, media))


def describe_analysis(analysis: dict[str, Any]) -> str:
    """A vision-language frame analysis in one line."""
    scene = analysis.get("scene") or {}
    parts = [f"{scene.get('place', 'a place')} ({scene.get('setting', 'unknown')}, "
             f"{scene.get('lighting', 'unknown light')})",
             f"{analysis.get('person_count', 0)} persons"]
    for person in analysis.get("persons", []):
        bits = [person.get("posture", "")]
        clothing = [" ".join([*c.get("colours", []), c.get("item", "")]).strip()
                    for c in person.get("clothing", [])]
        if clothing:
            bits.append("wearing " + ", ".join(clothing))
        if person.get("uniforms_or_logos"):
            bits.append("uniform or logo: " + ", ".join(person["uniforms_or_logos"]))
        bits += [f"{r['type']} ({r['where']})" for r in person.get("restraints", [])]
        if person.get("gagged"):
            bits.append("gagged")
        if person.get("blindfolded"):
            bits.append("blindfolded")
        if person.get("visible_distress"):
            bits.append("distress: " + ", ".join(person["visible_distress"]))
        parts.append(f"someone at {person.get('position', 'an unknown place')}: "
                     + "; ".join(b for b in bits if b))
    if analysis.get("interactions"):
        parts.append("interactions: " + "; ".join(analysis["interactions"]))
    if analysis.get("visible_text"):
        parts.append("text: " + " / ".join(_quote(t) for t in analysis["visible_text"]))
    return "; ".join(parts)


def _media_line(row: dict[str, Any], aliases: Aliases, languages: dict[str, str],
                origins: dict[str, str | None], facts: list[Fact]) -> str:
    media_id = row["id"]
    bits = [row.get("type") or "file"]
    if row.get("duration_s"):
        bits.append(f"{row['duration_s']:.1f} s")
    if origins.get(media_id):
        bits.append(f"recorded {origins[media_id]}")
    if languages.get(media_id):
        bits.append(f"speech language {languages[media_id]}")
    if row.get("status") in ("failed", "rejected"):
        bits.append(f"{row['status']}: {row.get('error') or row.get('error_code') or 'no reason'}")
    bits.append(f"{len(facts)} facts")
    name = _quote(row.get("name") or media_id)
    return f"File {aliases.short(media_id)} = {name} ({', '.join(bits)})"


def _case_level(report: dict[str, Any], aliases: Aliases, media: list[MediaFacts]) -> list[Fact]:
    """Persons across files, possible speaker-face links and counts."""
    facts = []
    for ref, person in person_refs(report).items():
        per_file: dict[str, list[dict]] = defaultdict(list)
        for appearance in person.get("appearances", []):
            per_file[appearance["media_id"]].append(appearance)
        where = []
        for media_id, appearances in per_file.items():
            starts = [a["start_s"] for a in appearances if a.get("start_s") is not None]
            ends = [a.get("end_s") or a["start_s"] for a in appearances
                    if a.get("start_s") is not None]
            span = f", {min(starts):.1f}-{max(ends):.1f} s" if starts else ""
            times = "once" if len(appearances) == 1 else f"{len(appearances)} times"
            where.append(f"{aliases.short(media_id)} ({times}{span})")
        modalities = " and ".join(person.get("modalities", [])) or "no"
        cites = tuple(i for a in person.get("appearances", []) for i in a.get("evidence", []))
        label = person.get("label")
        facts.append(Fact(
            f"{ref}" + (f' (labelled "{label}")' if label else "")
            + f": {modalities} appearances in " + (", ".join(where) or "no file"),
            cites[:MAX_CASE_IDS]))
    for link in report.get("person_links", []):
        if link.get("status") == "rejected":
            continue
        facts.append(Fact(
            f"{link['speaker']} and {link['person']} may be one person ({link.get('status')}: "
            f"co-occurring {link.get('co_occurrences', 0)} times, score "
            f"{float(link.get('score') or 0):.2f})",
            tuple(link.get("evidence", []))[:MAX_CASE_IDS]))
    faces = [f for item in (report.get("faces") or {}).get("media", []) for f in item["faces"]]
    refs = person_refs(report)
    counts = [f"{len(report.get('media', []))} files",
              f"{len(faces)} faces in "
              f"{sum(1 for p in refs.values() if 'face' in p.get('modalities', []))} face persons",
              f"{sum(1 for p in refs.values() if p.get('speaker_id'))} speakers",
              f"{sum(len(t.get('segments', [])) for t in report.get('transcripts', []))} speech "
              "segments",
              f"{sum(len(i.get('lines', [])) for i in report.get('text', []))} text lines read",
              f"{len(report.get('restraint_observations', []))} possible restraints for review"]
    facts.append(Fact("Counts: " + ", ".join(counts)))
    return facts
