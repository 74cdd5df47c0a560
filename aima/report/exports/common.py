"""What every export reads the same way from a case report: names, the case axis, persons, ids.

The report is a plain JSON dict (:func:`aima.report.build_report`); sections added later in a
report's life (``timeline``, ``coverage``, ``person_links``, ``dossiers``, ``narrative``) may be
missing from an older saved version, so every reader here tolerates a missing key. Everything is
one pass over the report with dict lookups: a case with thousands of items exports in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any


def names(report: dict[str, Any]) -> dict[str, str]:
    """Media id -> file name."""
    found = {row["id"]: row.get("name") or row["id"] for row in report.get("media", [])}
    for item in (report.get("timeline_basis") or {}).get("media", []):
        found.setdefault(item["media_id"], item.get("name") or item["media_id"])
    return found


def anchor(evidence_id: str) -> str:
    """The HTML anchor of an evidence id: ``ev-`` and the id with ``:`` (and anything else that
    is not a safe fragment character) replaced by ``_``."""
    return "ev-" + re.sub(r"[^A-Za-z0-9_.-]", "_", evidence_id)


def short_id(evidence_id: str) -> str:
    """``kf:<media>:3`` -> ``kf:3``: the kind and the parts after the media id, for display."""
    kind, _, rest = evidence_id.partition(":")
    _, _, parts = rest.partition(":")
    return f"{kind}:{parts}" if parts else evidence_id


def media_order(report: dict[str, Any]) -> list[str]:
    """Media ids in the order of the case axis (``timeline_basis``), then the report's order."""
    order = [item["media_id"] for item in (report.get("timeline_basis") or {}).get("media", [])]
    seen = set(order)
    order += [row["id"] for row in report.get("media", []) if row["id"] not in seen]
    return order


def axis_offsets(report: dict[str, Any]) -> dict[str, float]:
    """Media id -> where second 0 of the file lies on the case axis, read off the timeline."""
    offsets: dict[str, float] = {}
    for event in report.get("timeline") or []:
        media_id = event.get("media_id")
        if media_id not in offsets and event.get("start_s") is not None and \
                event.get("at") is not None:
            offsets[media_id] = event["at"] - event["start_s"]
    return offsets


def cited_ids(value: Any) -> Iterator[str]:
    """Every evidence id cited anywhere in ``value`` (lists under ``evidence`` keys, ``keyframe``
    and ``faces`` references), in document order; the top-level evidence list is not a citation."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("evidence", "faces") and isinstance(item, list):
                for cited in item:
                    if isinstance(cited, str):
                        yield cited
                    else:
                        yield from cited_ids(cited)
            elif key == "keyframe" and isinstance(item, str):
                yield item
            elif isinstance(item, (dict, list)):
                yield from cited_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from cited_ids(item)


def persons(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The case persons, each merged with its dossier and links, in the report's order.

    One entry per person of ``report["persons"]`` (plus dossiers that match none): ``key``
    (``speaker-1``, ``person-3``), ``label``, ``modalities``, ``appearances`` (with file names),
    ``said``, ``restraints``, ``linked`` (labels), ``description`` (the narrative's, when
    grounded), ``first_seen`` (the earliest appearance on the case axis) and ``faces`` (face
    evidence ids of its appearances).
    """
    file_names = names(report)
    face_keys = {p["id"]: p["key"] for p in (report.get("faces") or {}).get("persons", [])}
    dossiers = report.get("dossiers") or []
    by_key = {d.get("person"): d for d in dossiers}
    by_label = {d.get("label"): d for d in dossiers}
    labels = {}
    for person in report.get("persons", []):
        key = person.get("speaker_id") or face_keys.get(person.get("id"))
        labels[key] = person.get("label")
    for dossier in dossiers:
        labels.setdefault(dossier.get("person"), dossier.get("label"))
    links: dict[str, list[str]] = {}
    for link in report.get("person_links") or []:
        if link.get("status") == "rejected":
            continue
        speaker, person = link.get("speaker"), link.get("person")
        links.setdefault(speaker, []).append(labels.get(person) or person)
        links.setdefault(person, []).append(labels.get(speaker) or speaker)
    narrated = {p.get("person"): p for p in (report.get("narrative") or {}).get("persons", [])
                if p.get("grounded", True)}
    rank = {media_id: n for n, media_id in enumerate(media_order(report))}
    offsets = axis_offsets(report)

    def entry(key, label, modalities, appearances, dossier) -> dict[str, Any]:
        appearances = [{**a, "name": a.get("name") or file_names.get(a.get("media_id"))}
                       for a in appearances]
        story = narrated.get(key) or narrated.get(label) or {}
        return {
            "key": key, "label": label or key, "modalities": list(modalities or []),
            "appearances": appearances,
            "said": list(dossier.get("said") or []),
            "restraints": list(dossier.get("restraints") or []),
            "linked": list(dossier.get("linked") or links.get(key, [])),
            "description": story.get("description"),
            "first_seen": min(appearances, key=lambda a: _axis_key(a, rank, offsets),
                              default=None),
            "faces": [ev for a in appearances for ev in a.get("evidence") or []
                      if ev.startswith("face:")],
        }

    merged, used = [], set()
    for person in report.get("persons", []):
        key = person.get("speaker_id") or face_keys.get(person.get("id"))
        dossier = by_key.get(key) or by_label.get(person.get("label")) or {}
        used.add(id(dossier))
        merged.append(entry(key, person.get("label"), person.get("modalities"),
                            dossier.get("appearances") or person.get("appearances", []),
                            dossier))
    for dossier in dossiers:
        if id(dossier) not in used:
            merged.append(entry(dossier.get("person"), dossier.get("label"),
                                dossier.get("modalities"), dossier.get("appearances", []),
                                dossier))
    return merged


def _axis_key(appearance: dict[str, Any], rank: dict[str, int],
              offsets: dict[str, float]) -> tuple[float, float, float]:
    """Sort key of an appearance on the case axis: the absolute time where the timeline gives the
    file's offset, else the file's place in the case order."""
    media_id, start = appearance.get("media_id"), appearance.get("start_s") or 0.0
    if media_id in offsets:
        return (0, offsets[media_id] + start, 0)
    return (1, rank.get(media_id, len(rank)), start)


def clock(seconds: float | None) -> str:
    """``83.5`` -> ``1:23.5``; ``3725`` -> ``1:02:05.0``; None -> empty."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{sign}{int(hours)}:{int(minutes):02d}:{secs:04.1f}"
    return f"{sign}{int(minutes)}:{secs:04.1f}"


def cite(evidence_id: str) -> dict[str, str]:
    """An evidence id as the page cites it: the id, its short form and its anchor."""
    return {"id": evidence_id, "short": short_id(evidence_id), "anchor": anchor(evidence_id)}


def cites(ids) -> list[dict[str, str]]:
    return [cite(i) for i in ids or [] if isinstance(i, str)]
