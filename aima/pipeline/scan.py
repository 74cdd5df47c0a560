"""Batch scans: the new files under a folder or ``s3://bucket/prefix``, one batch per top-level
folder, each handed to a starter (in the ``batch-scan`` flow: an ``analyze-media`` deployment
run), and recorded (:mod:`aima.storage.scans`) so that no later scan takes a file twice.

A file is *new* when no scan took it before and no case holds it already. Files are compared by
URI, size and version (the modification time of a local file, the ETag of an S3 object), which
costs a ``stat`` or a HEAD request per file. Content hashes (sha256) are not computed here: they
would read every byte of every file on every scan (download it, for S3), and ``analyze-media``
hashes each file at ingest anyway, where the same bytes twice in a case are one media item and
stored stage results are reused. A file changed in place is a new version and taken again.

Batches are named after the top-level folder under the source (``<source>/harbour/a/b.jpg`` goes
to ``harbour``); files directly in the source go to a batch named after the source folder. The
case of a batch is ``case_prefix + folder``, so the next night's new files of a folder join the
same case.

A batch is claimed (recorded) before its run is started, and released if the start fails; a
claim left without a run (the scan was killed in between) is started by the next scan with the
same batch id, which the starter passes on as the run's idempotency key: never twice, never lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

from aima.errors import NotFound
from aima.pipeline.sources import SourceFile, expand_sources
from aima.settings import Settings
from aima.storage import audit
from aima.storage import scans as records
from aima.storage.database import Database

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScannedFile:
    """A file as one scan saw it."""

    uri: str
    name: str  # relative to the scanned source
    size: int
    version: str  # "mtime_ns=..." or "etag=..."

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.uri}\0{self.size}\0{self.version}".encode()).hexdigest()

    def record(self) -> records.FileRecord:
        return records.FileRecord(key=self.key, uri=self.uri, name=self.name, size=self.size,
                                  version=self.version)


@dataclass
class Batch:
    """The new files of one top-level folder, for one case and one analysis run."""

    folder: str
    case: str
    files: list[ScannedFile]
    id: uuid.UUID | None = None  # set when claimed; the idempotency key of its run
    deployment: str | None = None
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    error: str | None = None

    @property
    def sources(self) -> list[str]:
        return [f.uri for f in self.files]


class StartedRun(NamedTuple):
    """The run a starter created for a batch."""

    id: str
    name: str | None = None


#: Starts the analysis of a batch (its ``id`` is claimed and stable) and says which run it is.
Starter = Callable[[Batch], StartedRun]


@dataclass
class ScanPlan:
    """What a scan found under its source, before anything is recorded or started."""

    source: str
    found: int
    batches: list[Batch]
    known: int = 0  # taken by an earlier scan
    in_case: int = 0  # a media item of some case already
    settling: int = 0  # modified too recently: left for a later scan
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)

    @property
    def new(self) -> int:
        return sum(len(batch.files) for batch in self.batches)


@dataclass
class ScanResult:
    """What a scan did: the plan, and which batches started, resumed, failed or were skipped."""

    plan: ScanPlan
    dry_run: bool
    scan_id: uuid.UUID | None = None
    started: list[Batch] = field(default_factory=list)
    resumed: list[Batch] = field(default_factory=list)  # claimed by a scan that stopped
    failed: list[Batch] = field(default_factory=list)  # the start failed; files are new again
    contended: list[Batch] = field(default_factory=list)  # another scan took files first

    def summary(self) -> str:
        """One line for people: what was found and what was started."""
        plan = self.plan
        batches = ", ".join(f"{b.case} ({_files(len(b.files))})" for b in plan.batches)
        if self.dry_run:
            action = (f"dry run, nothing started or recorded: would start {len(plan.batches)} "
                      f"analyses{': ' + batches if batches else ''}")
        else:
            action = f"started {len(self.started)} of {len(plan.batches)} analyses"
            action += f": {batches}" if batches else ""
            if self.resumed:
                action += f"; resumed {len(self.resumed)} left by an interrupted scan"
            if self.failed:
                action += f"; {len(self.failed)} could not be started (see the errors above)"
            if self.contended:
                action += f"; {len(self.contended)} taken by another scan at the same time"
        return (f"scan of {plan.source}: {_files(plan.found)} found, {plan.new} new in "
                f"{len(plan.batches)} batches; {plan.known} taken by earlier scans, "
                f"{plan.in_case} already in a case, {plan.settling} still being written, "
                f"{len(plan.unreadable)} unreadable; {action}")


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


# --- finding the new files ------------------------------------------------------------------


def scan_root(source: str) -> str:
    """The source as listed: an S3 prefix ends with '/', so that ``s3://b/in`` does not also
    list ``s3://b/incoming-old/``; a local folder must exist (as this process sees it)."""
    if source.startswith("s3://"):
        parts = urlsplit(source)
        prefix = parts.path.strip("/")
        return f"s3://{parts.netloc}/{prefix}/" if prefix else f"s3://{parts.netloc}/"
    path = Path(source).expanduser()
    if not path.is_dir():
        raise NotFound(f"scan source {source} is not a folder on this machine (paths are as the "
                       "worker that runs the scan sees them; use s3://bucket/prefix for S3)")
    return str(path.absolute())


def source_label(root: str) -> str:
    """The batch name of files directly in the source: its last folder (or bucket) name."""
    if root.startswith("s3://"):
        parts = urlsplit(root)
        prefix = parts.path.strip("/")
        return PurePosixPath(prefix).name if prefix else parts.netloc
    return Path(root).name or root


def batch_folder(name: str, label: str) -> str:
    """The top-level folder of a file's name relative to the source, or ``label``."""
    head, sep, _ = name.partition("/")
    return head if sep else label


class Unreadable(Exception):
    """A listed file that cannot be taken; the message is the reason."""


def _check_local(source: SourceFile, min_age_s: float) -> ScannedFile | None:
    """The file's size and version now; None while it may still be being written."""
    path = source.uri
    try:
        info = os.stat(path)  # follows links: a link is taken as the file it points to
    except FileNotFoundError:
        raise Unreadable("vanished since the listing (deleted, moved, or a broken link)") from None
    except OSError as exc:
        raise Unreadable(f"cannot stat it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable("not a regular file (a pipe, socket or device)")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise Unreadable(f"cannot be read: {exc.strerror or exc}") from None
    # Settling: modified within min_age_s of now. A timestamp far in the future (a copy that
    # kept a skewed clock's time) is not waited for, or it would never be taken.
    if abs(time.time() - info.st_mtime) < min_age_s:
        return None
    return ScannedFile(uri=path, name=source.name, size=info.st_size,
                       version=f"mtime_ns={info.st_mtime_ns}")


def _check_s3(source: SourceFile, client) -> ScannedFile:
    """The object's size and ETag now (a HEAD request: it may have gone since the listing)."""
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError

    parts = urlsplit(source.uri)
    try:
        info = client.stat_object(parts.netloc, parts.path.lstrip("/"))
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NotFound", "ResourceNotFound"):
            raise Unreadable("vanished since the listing (deleted or moved)") from None
        raise Unreadable(f"cannot be read: {exc.code}: {exc.message}") from None
    except HTTPError as exc:
        raise Unreadable(f"the S3 endpoint did not answer: {type(exc).__name__}") from None
    return ScannedFile(uri=source.uri, name=source.name, size=info.size,
                       version=f"etag={(info.etag or '').strip(chr(34))}")


def check_files(listed: list[SourceFile], settings: Settings, log=_log,
                progress: Callable[[int, int], None] | None = None
                ) -> tuple[list[ScannedFile], int, list[tuple[str, str]]]:
    """The listed files that can be taken now, how many are still settling, and the
    unreadable ones with their reasons (each logged as a WARNING)."""
    client = None
    if any(f.uri.startswith("s3://") for f in listed):
        from aima.storage.objects.s3 import s3_client_from_settings

        client = s3_client_from_settings(settings)

    def check(source: SourceFile) -> ScannedFile | Unreadable | None:
        try:
            if source.uri.startswith("s3://"):
                return _check_s3(source, client)
            return _check_local(source, settings.scan_min_age_s)
        except Unreadable as exc:
            return exc

    ready: list[ScannedFile] = []
    settling = 0
    unreadable: list[tuple[str, str]] = []
    with ThreadPoolExecutor(settings.scan_check_threads, thread_name_prefix="scan") as pool:
        for done, (source, outcome) in enumerate(zip(listed, pool.map(check, listed)), 1):
            if isinstance(outcome, Unreadable):
                log.warning("%s: not taken: %s", source.name, outcome)
                unreadable.append((source.name, str(outcome)))
            elif outcome is None:
                log.info("%s: modified in the last %.0f s, left for a later scan", source.name,
                         settings.scan_min_age_s)
                settling += 1
            else:
                ready.append(outcome)
            if progress is not None:
                progress(done, len(listed))
    return ready, settling, unreadable


def plan_scan(database: Database, settings: Settings, source: str, case_prefix: str = "",
              log=_log, progress: Callable[[int, int], None] | None = None) -> ScanPlan:
    """The new files under ``source``, in batches by top-level folder. Records nothing."""
    root = scan_root(source)
    listed = expand_sources([root], settings)
    ready, settling, unreadable = check_files(listed, settings, log, progress)
    known = records.taken_keys(database, (f.key for f in ready))
    in_cases = records.sizes_in_cases(database, (f.uri for f in ready if f.key not in known))
    label = source_label(root)
    by_folder: dict[str, list[ScannedFile]] = {}
    in_case = 0
    for scanned in ready:
        if scanned.key in known:
            continue
        if (scanned.uri, scanned.size) in in_cases:
            in_case += 1
            continue
        folder = batch_folder(scanned.name, label)
        by_folder.setdefault(folder, []).append(scanned)
        log.info("%s: new (%s bytes), batch %s", scanned.name, f"{scanned.size:,}", folder)
    batches = [Batch(folder=folder, case=f"{case_prefix}{folder}",
                     files=sorted(files, key=lambda f: f.name))
               for folder, files in sorted(by_folder.items())]
    return ScanPlan(source=source, found=len(listed), batches=batches,
                    known=sum(f.key in known for f in ready), in_case=in_case,
                    settling=settling, unreadable=unreadable)


# --- taking them ----------------------------------------------------------------------------


def run_scan(database: Database, settings: Settings, source: str, start: Starter, *,
             deployment: str, case_prefix: str = "", dry_run: bool = False,
             flow_run_id: str | None = None, log=_log,
             progress: Callable[[int, int], None] | None = None) -> ScanResult:
    """Scan ``source`` and start one analysis per batch of new files, recording each file taken.

    A dry run only plans: nothing is recorded, started or audited. A batch whose start fails is
    released (its files are new again for the next scan) and logged as an error; the others go
    on. Batches that an interrupted scan claimed but never started are started first.
    """
    plan = plan_scan(database, settings, source, case_prefix, log, progress)
    result = ScanResult(plan=plan, dry_run=dry_run)
    if dry_run:
        for batch in plan.batches:
            log.info("batch %s: %s -> case %s (dry run: not started)", batch.folder,
                     _files(len(batch.files)), batch.case)
        log.info("%s", result.summary())
        return result

    result.scan_id = records.start_scan(database, source=source, deployment=deployment,
                                        case_prefix=case_prefix, actor=settings.actor,
                                        flow_run_id=flow_run_id)
    status = "failed"
    try:
        for claimed, files in records.unstarted_batches(database):
            batch = Batch(folder=claimed.folder, case=claimed.case_name, id=claimed.id,
                          deployment=claimed.deployment,
                          files=[ScannedFile(f.uri, f.name, f.size, f.version) for f in files])
            if _start(database, batch, start, log, resumed=True):
                result.resumed.append(batch)
        for batch in plan.batches:
            batch.deployment = deployment
            batch.id = records.claim_batch(database, result.scan_id, folder=batch.folder,
                                           case_name=batch.case, deployment=deployment,
                                           files=[f.record() for f in batch.files])
            if batch.id is None:
                log.warning("batch %s: another scan running at the same time took some of its "
                            "files first; nothing taken here, the next scan takes what is left",
                            batch.folder)
                result.contended.append(batch)
            elif _start(database, batch, start, log):
                result.started.append(batch)
            else:
                result.failed.append(batch)
        status = "done"
    finally:
        _finish(database, settings, result, status, flow_run_id)
    log.info("%s", result.summary())
    return result


def _finish(database: Database, settings: Settings, result: ScanResult, status: str,
            flow_run_id: str | None) -> None:
    """Close the scan's record with its counts and write its audit event."""
    plan = result.plan
    taken = sum(len(b.files) for b in result.started)
    records.finish_scan(database, result.scan_id, status, found=plan.found, taken=taken,
                        known=plan.known, in_case=plan.in_case,
                        unreadable=len(plan.unreadable))
    audit.record(database, actor=settings.actor, action="scan.batches", details={
        "scan_id": str(result.scan_id), "source": plan.source, "status": status,
        "flow_run_id": flow_run_id, "files_found": plan.found, "files_taken": taken,
        "files_unreadable": len(plan.unreadable),
        "batches": [{"case": b.case, "files": len(b.files), "deployment": b.deployment,
                     "flow_run_id": b.flow_run_id} for b in result.resumed + result.started],
        "failed_batches": [{"case": b.case, "error": b.error} for b in result.failed]})


def _start(database: Database, batch: Batch, start: Starter, log, resumed: bool = False) -> bool:
    """Start the claimed batch's run and record it; on failure release the claim."""
    try:
        run = start(batch)
    except Exception as exc:  # noqa: BLE001 - one batch's failure is logged, the others go on
        batch.error = _describe(exc)
        log.error("batch %s: could not start the analysis of case %s: %s; its %s are left "
                  "for the next scan", batch.folder, batch.case, batch.error,
                  _files(len(batch.files)))
        records.release_batch(database, batch.id)
        return False
    batch.flow_run_id, batch.flow_run_name = run.id, run.name
    records.mark_started(database, batch.id, run.id, run.name)
    log.info("batch %s: %s -> case %s: %sflow run %s (%s)", batch.folder,
             _files(len(batch.files)), batch.case,
             "resumed, " if resumed else "", run.name or run.id, run.id)
    return True


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
