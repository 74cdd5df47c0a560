"""The report's triage section: near-duplicate stacks, and when and where each file was made.

:func:`section` returns

- ``near_duplicates``: the ``near-duplicates`` case document (:mod:`aima.stages.near_duplicates`)
  with each member's file name: ``algorithm``, ``max_distance``, ``min_containment``, ``stacks``
  (``id``, ``media_type``, ``representative``, ``size``, ``members`` with ``distance`` in bits to
  the representative and, for videos, ``containment``), ``not_hashed`` and ``counts``; an empty
  stack list when the stage has not run;
- ``media``: per media id the fields of its report row (:data:`ROW_FIELDS`):
  ``captured_at`` (``time``, ``utc``, ``source`` one of ``exif``, ``exif-no-offset``,
  ``quicktime``, ``file``, and a ``note``), ``location`` (``lat``, ``lon``, ``alt``, ``source``
  ``exif`` or ``quicktime``) or ``None``, ``near_duplicate_of`` (for a stack member that is not
  its representative: ``stack``, ``media_id`` and ``name`` of the representative, ``distance``,
  ``containment``) or ``None``, and ``near_duplicate_stack`` (the stack id of any member);
- ``summary``: ``near_duplicate_stacks``, ``near_duplicates`` (members that are not
  representatives), ``captured_at`` (files per time source, ``unknown`` for none) and ``located``.

:func:`annotate_rows` puts the per-media fields on the report's media rows, :func:`stack_label`
says a row's stack in a few words. Times and positions are what the files' metadata says, with
its source; they are not verified.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aima.stages.near_duplicates import DOCUMENT
from aima.storage import Stores

#: the keys :func:`annotate_rows` adds to every media row
ROW_FIELDS = ("captured_at", "location", "near_duplicate_of", "near_duplicate_stack")
TIME_SOURCES = ("exif", "exif-no-offset", "quicktime", "file")


def section(stores: Stores, case_id: str,
            preprocess: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``preprocess``: the case's preprocess documents by media id, when the caller has them."""
    case_id = str(case_id)
    if preprocess is None:
        preprocess = {d.media_id: d.data
                      for d in stores.documents.query(case_id, stage="preprocess")}
    stored = stores.documents.get(case_id, *DOCUMENT) or {}
    names = {member["media_id"]: member["name"] for stack in stored.get("stacks", [])
             for member in stack["members"]}
    media: dict[str, dict[str, Any]] = {}
    for media_id, data in preprocess.items():
        media[media_id] = {"captured_at": data.get("captured_at"),
                           "location": data.get("location"),
                           "near_duplicate_of": None, "near_duplicate_stack": None}
    copies = 0
    for stack in stored.get("stacks", []):
        representative = stack["representative"]
        for member in stack["members"]:
            row = media.setdefault(member["media_id"], {"captured_at": None, "location": None})
            row["near_duplicate_stack"] = stack["id"]
            row["near_duplicate_of"] = None
            if member["media_id"] != representative:
                copies += 1
                row["near_duplicate_of"] = {
                    "stack": stack["id"], "media_id": representative,
                    "name": names.get(representative), "distance": member["distance"],
                    "containment": member.get("containment"),
                }
    sources = Counter((row["captured_at"] or {}).get("source") or "unknown"
                      for row in media.values())
    return {
        "near_duplicates": {
            "algorithm": stored.get("algorithm"), "max_distance": stored.get("max_distance"),
            "min_containment": stored.get("min_containment"),
            "stacks": stored.get("stacks", []), "not_hashed": stored.get("not_hashed", []),
            "counts": stored.get("counts", {}),
        },
        "media": media,
        "summary": {
            "near_duplicate_stacks": len(stored.get("stacks", [])),
            "near_duplicates": copies,
            "captured_at": {source: sources[source] for source in (*TIME_SOURCES, "unknown")
                            if sources[source]},
            "located": sum(1 for row in media.values() if row["location"]),
        },
    }


def annotate_rows(rows: list[dict[str, Any]], triage: dict[str, Any]) -> None:
    """Give each report media row its :data:`ROW_FIELDS` (``None`` where nothing is known)."""
    for row in rows:
        found = triage["media"].get(row["id"], {})
        for key in ROW_FIELDS:
            row[key] = found.get(key)


def stack_label(row: dict[str, Any]) -> str:
    """A media row's near-duplicate stack in a few words (``aima status``'s ``stack`` column):
    ``stack-1`` for a representative, ``stack-1: copy of NAME (2 bits)`` for a copy (a video:
    ``(100 % contained, 4 bits)``), empty for a file in no stack."""
    stack, of = row.get("near_duplicate_stack"), row.get("near_duplicate_of")
    if not stack:
        return ""
    if not of:
        return stack
    measure = f"{of['distance']:g} bits" if of.get("distance") is not None else "no distance"
    if of.get("containment") is not None:
        measure = f"{of['containment']:.0%} contained, {measure}"
    return f"{stack}: copy of {of['name']} ({measure})"
