"""The case report: one JSON document that later stages fill as they land, and its exports.

Top-level keys: ``case`` (with ``report_version``, the ``models`` and ``settings`` it was made
with), ``media`` (one entry per distinct file), ``persons``, ``dossiers`` (per person, computed by
code: appearances, what they said, restraint observations), ``person_links`` (voice-face links:
proposed, accepted, rejected), ``timeline`` and ``timeline_basis`` (every observation on one case
axis), ``coverage`` (which spans of each file each stage saw), ``transcripts``, ``faces``,
``frames`` (vision-language analyses per image and keyframe), ``restraints`` (the VLM's),
``restraint_detections`` and ``restraint_observations`` (the detector's), ``text`` (OCR lines per
media item), ``narrative`` (the LLM's fused account, grounded in evidence ids), ``summary``,
``requires_human_review`` with ``review_reasons``, and ``evidence``: every observation with its id
and locator, which everything else cites. ``docs/report.md`` explains each key and
``docs/report.schema.json`` is its JSON Schema. Exports other than JSON are in
:mod:`aima.report.exports` (CSV, HTML, PDF) and :mod:`aima.report.subtitles` (SRT, VTT); saved
versions in :mod:`aima.report.versions`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from aima import __version__, person_links
from aima.evidence import segment_id
from aima.fusion import narrative_section
from aima.persons import case_persons
from aima.report import coverage, dossiers, timeline
from aima.report import versions as report_versions
from aima.report.describe import section as describe_section
from aima.report.hashsets import add_to_rows as add_hash_matches
from aima.report.hashsets import section as hashsets_section
from aima.report.faces import section as faces_section
from aima.report.ocr import section as ocr_section
from aima.report.restraints import section as restraints_section
from aima.report.triage import annotate_rows
from aima.report.triage import section as triage_section
from aima.pipeline.ledger import StageLedger
from aima.stages import registry
from aima.storage import Stores
from aima.storage.models import Case, Job, MediaItem

#: Media statuses in the order a person reads them in a table.
STATUS_ORDER = ("done", "preprocessed", "processing", "ingested", "pending", "failed", "rejected")


def media_rows(stores: Stores, case: Case) -> list[dict[str, Any]]:
    """One row per media item of the case (the per-file status table), sorted by name."""
    with stores.metadata.session() as session:
        items = session.scalars(select(MediaItem).where(MediaItem.case_id == case.id)).all()
        duplicates = defaultdict(list)
        for job in session.scalars(
            select(Job).where(Job.case_id == case.id, Job.status == "duplicate")
        ):
            duplicates[job.media_id].append(job.source)
    latest = StageLedger(stores.metadata).latest(case.id)
    rows = []
    for item in sorted(items, key=lambda i: i.original_name):
        probe = item.probe or {}
        stages = [_stage_entry(latest[(str(item.id), name)]) for name in registry.names()
                  if (str(item.id), name) in latest]
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
            "stages": stages,
            # What a reader of a "done" row should know: stages that did not apply, and why.
            "notes": "; ".join(f"{s['stage']} skipped: {s['reason']}" for s in stages
                               if s["status"] == "skipped") or None,
        })
    return rows


def object_reader(stores: Stores) -> Callable[[str], bytes | None]:
    """Bytes of an object-store key (a thumbnail or a crop) for the exports; None when missing."""

    def read(key: str) -> bytes | None:
        try:
            with stores.objects.open(key) as stream:
                return stream.read()
        except KeyError:  # both object stores raise KeyError for a missing key
            return None

    return read


def _stage_entry(run) -> dict[str, Any]:
    return {"stage": run.stage, "status": run.status,
            "model_id": None if run.status == "skipped" else run.model_id,
            "reason": run.error, "attempts": run.attempts, "duration_s": run.duration_s}


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; AIMA stores UTC everywhere."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_report(stores: Stores, case: Case) -> dict[str, Any]:
    """The case report as a JSON-serialisable dict."""
    case_id = str(case.id)
    media = media_rows(stores, case)
    preprocess = {d.media_id: d.data for d in stores.documents.query(case_id, stage="preprocess")}
    triage = triage_section(stores, case_id, preprocess)
    annotate_rows(media, triage)
    hash_sets = hashsets_section(stores, case_id, preprocess)
    add_hash_matches(media, hash_sets)
    evidence = []
    for row in media:
        document = preprocess.get(row["id"]) or {}
        row["keyframes"] = len(document.get("keyframes", []))
        row["audio"] = document.get("audio") is not None
        row["warnings"] = document.get("warnings", [])
        row["thumbnail_key"] = document.get("thumbnail_key")
        for frame in document.get("keyframes", []):
            evidence.append({
                "id": frame["id"], "kind": "keyframe", "media_id": row["id"],
                "timestamp_s": frame["timestamp_s"], "object_key": frame["key"],
                "thumbnail_key": frame["thumbnail_key"],
            })
    transcripts = case_transcripts(stores, case_id)
    names = {row["id"]: row["name"] for row in media}
    for transcript in transcripts:
        transcript["name"] = names.get(transcript["media_id"])
        for segment in transcript["segments"]:
            evidence.append({
                "id": segment["id"], "kind": "audio_segment", "media_id": transcript["media_id"],
                "start_s": segment["start"], "end_s": segment["end"], "speaker": segment["speaker"],
                "text": segment["text"],
            })
    persons = case_persons(stores.metadata, case_id)
    faces = faces_section(stores, case_id)
    evidence.extend(faces["evidence"])
    vision = describe_section(stores, case_id)
    evidence.extend(vision["evidence"])
    text = ocr_section(stores, case_id)
    evidence.extend(text["evidence"])
    detected = restraints_section(stores, case_id)
    evidence.extend(detected["evidence"])
    timeline.complete_locators(evidence, preprocess, transcripts)
    events, basis = timeline.build(
        media, evidence, persons, transcripts, preprocess, frames=vision["frames"],
        restraint_observations=detected["observations"],
        ingested=timeline.ingest_times(stores, case_id))
    covered = coverage.build(media, preprocess, transcripts)
    narrative = narrative_section(stores, case_id)
    links = person_links.links(stores, case_id, transcripts)
    counts = Counter(row["status"] for row in media)
    return {
        "case": {
            "id": case_id,
            "name": case.name,
            "context": case.context,
            "created_at": _utc(case.created_at).isoformat(),
            "generated_at": datetime.now(UTC).isoformat(),
            "generator": f"aima {__version__}",
            # The latest saved version (each analysis run saves one, aima.report.versions); a
            # report built between runs extends it with what changed since (reviewer edits).
            "report_version": report_versions.latest_version(stores, case_id) or 0,
            "models": stage_models(stores, case_id),
            "settings": report_versions.recorded_settings(stores.settings),
        },
        "media": media,
        "gpu_cost": gpu_cost(stores, case_id),
        "near_duplicates": triage["near_duplicates"],
        "narrative": narrative,
        "persons": persons,
        "dossiers": dossiers.build(persons, evidence, transcripts, detected["observations"], links,
                                   media=media),
        "person_links": links,
        "timeline": events,
        "timeline_basis": basis,
        "coverage": covered,
        "transcripts": transcripts,
        "faces": {key: faces[key] for key in ("media", "persons", "edits_not_applied")},
        "frames": vision["frames"],
        "restraints": vision["restraints"],
        "restraint_detections": detected["media"],
        "restraint_observations": detected["observations"],
        "text": text["media"],
        "summary": {
            "files": len(media),
            "by_status": {status: counts[status] for status in STATUS_ORDER if counts[status]},
            "keyframes": sum(row["keyframes"] for row in media),
            "audio_tracks": sum(row["audio"] for row in media),
            "transcribed": sum(1 for t in transcripts if t["segments"]),
            "speakers": sum(1 for p in persons if "voice" in p["modalities"]),
            "faces": faces["counts"],
            "text": text["counts"],
            "restraint_detections": detected["summary"],
            "frames_analysed": vision["summary"]["frames_analysed"],
            "vlm_unparsed": vision["summary"]["unparsed"],
            "longest_unseen_s": covered["longest_unseen_s"],
            "narrative": narrative["status"],
            **triage["summary"],
            "hash_matches": hash_sets["summary"],
            "skipped_stages": dict(Counter(
                stage["stage"] for row in media for stage in row["stages"]
                if stage["status"] == "skipped")),
        },
        # Restraint and distress indicators are evidence for a human reviewer, never a verdict.
        "requires_human_review": vision["requires_human_review"] or detected["requires_human_review"],
        "review_reasons": vision["review_reasons"] + detected["review_reasons"],
        "evidence": evidence,
    }


def gpu_cost(stores: Stores, case_id: str) -> dict:
    """What the case's GPU work was estimated at and what it cost, per gpu-analysis run (none
    when the GPU stages ran inline, the embedded default)."""
    runs = sorted((d.data for d in stores.documents.query(case_id, stage="gpu-cost")),
                  key=lambda run: run.get("recorded_at") or "")
    return {
        "runs": [{key: run.get(key) for key in (
            "flow_run_id", "pool", "stages", "jobs", "estimated_usd", "actual_usd",
            "gpu_seconds", "price_per_hour", "actual_source", "recorded_at")} for run in runs],
        "estimated_usd": round(sum(run.get("estimated_usd") or 0 for run in runs), 4),
        "actual_usd": round(sum(run.get("actual_usd") or 0 for run in runs), 4),
        "gpu_seconds": round(sum(run.get("gpu_seconds") or 0 for run in runs), 1),
    }


def stage_models(stores: Stores, case_id: str) -> dict[str, list[str]]:
    """The model ids each stage's latest runs used (a stage may have used more than one)."""
    models: dict[str, set[str]] = defaultdict(set)
    for run in StageLedger(stores.metadata).latest(case_id).values():
        if run.status == "done" and run.model_id:
            models[run.stage].add(run.model_id)
    return {stage: sorted(models[stage]) for stage in registry.names() if stage in models}


def case_transcripts(stores: Stores, case_id: str) -> list[dict[str, Any]]:
    """Each media item's transcript with case speaker ids on segments and words.

    Diarized transcripts are preferred; a transcript not (yet) diarized has ``speaker: null``.
    Segment ids (``seg:<media id>:<n>``) are the evidence ids later stages cite.
    """
    speakers = stores.documents.get(case_id, "speakers", "case") or {}
    assignments = speakers.get("assignments", {})
    documents = {d.media_id: d.data for d in stores.documents.query(case_id, stage="transcribe")}
    documents.update({d.media_id: d.data for d in stores.documents.query(case_id, stage="diarize")})
    transcripts = []
    for media_id in sorted(documents):
        data = documents[media_id]

        def case_speaker(label: str | None) -> str | None:
            return assignments.get(f"{media_id}:{label}") if label else None

        transcripts.append({
            "media_id": media_id,
            "language": data.get("language"),
            "language_probability": data.get("language_probability"),
            "duration_s": data.get("duration_s"),
            "segments": [
                {
                    "id": segment_id(media_id, n),
                    "start": segment["start"],
                    "end": segment["end"],
                    "speaker": case_speaker(segment.get("speaker")),
                    "text": segment["text"],
                    "language": segment.get("language") or data.get("language"),
                    "words": [{**word, "speaker": case_speaker(word.get("speaker"))}
                              for word in segment.get("words", [])],
                }
                for n, segment in enumerate(data.get("segments", []))
            ],
        })
    return transcripts
