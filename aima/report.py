"""The case report: one JSON document that later stages fill as they land.

Top-level keys: ``case``, ``media`` (one entry per distinct file), ``persons``, ``timeline``,
``transcripts``, ``summary``, ``requires_human_review``, ``evidence``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aima import __version__
from aima.storage import Stores
from aima.storage.models import Case, CasePerson, Job, MediaItem

#: Media statuses in the order a person reads them in a table.
STATUS_ORDER = ("done", "processing", "ingested", "pending", "failed", "rejected")


def media_rows(stores: Stores, case: Case) -> list[dict[str, Any]]:
    """One row per media item of the case (the per-file status table), sorted by name."""
    with stores.metadata.session() as session:
        items = session.scalars(select(MediaItem).where(MediaItem.case_id == case.id)).all()
        duplicates = defaultdict(list)
        for job in session.scalars(
            select(Job).where(Job.case_id == case.id, Job.status == "duplicate")
        ):
            duplicates[job.media_id].append(job.source)
    rows = []
    for item in sorted(items, key=lambda i: i.original_name):
        probe = item.probe or {}
        rows.append({
            "id": str(item.id),
            "name": item.original_name,
            "sha256": item.sha256,
            "type": item.media_type,
            "format": item.format,
            "size_bytes": item.size_bytes,
            "duration_s": probe.get("duration_s"),
            "status": item.status,
            "error_code": item.error_code,
            "error": item.error_reason,
            "source": item.source_uri,
            "also_at": sorted(set(duplicates.get(item.id, [])) - {item.source_uri}),
        })
    return rows


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; AIMA stores UTC everywhere."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_report(stores: Stores, case: Case) -> dict[str, Any]:
    """The case report as a JSON-serialisable dict."""
    case_id = str(case.id)
    media = media_rows(stores, case)
    preprocess = {d.media_id: d.data for d in stores.documents.query(case_id, stage="preprocess")}
    evidence = []
    for row in media:
        document = preprocess.get(row["id"]) or {}
        row["keyframes"] = len(document.get("keyframes", []))
        row["audio"] = document.get("audio") is not None
        row["warnings"] = document.get("warnings", [])
        for frame in document.get("keyframes", []):
            evidence.append({
                "id": frame["id"], "kind": "keyframe", "media_id": row["id"],
                "timestamp_s": frame["timestamp_s"], "object_key": frame["key"],
                "thumbnail_key": frame["thumbnail_key"],
            })
    with stores.metadata.session() as session:
        persons = [
            {"id": str(p.id), "label": p.label}
            for p in session.scalars(select(CasePerson).where(CasePerson.case_id == case.id))
        ]
    counts = Counter(row["status"] for row in media)
    return {
        "case": {
            "id": case_id,
            "name": case.name,
            "created_at": _utc(case.created_at).isoformat(),
            "generated_at": datetime.now(UTC).isoformat(),
            "generator": f"aima {__version__}",
        },
        "media": media,
        "persons": persons,
        "timeline": [],
        "transcripts": [
            {"media_id": d.media_id, **d.data} for d in stores.documents.query(case_id, stage="transcribe")
        ],
        "summary": {
            "files": len(media),
            "by_status": {status: counts[status] for status in STATUS_ORDER if counts[status]},
            "keyframes": sum(row["keyframes"] for row in media),
            "audio_tracks": sum(row["audio"] for row in media),
        },
        # Set by the restraint and distress stages; nothing here yet calls for a reviewer.
        "requires_human_review": False,
        "evidence": evidence,
    }
