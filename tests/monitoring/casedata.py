"""One case in the metadata store with a known count of everything the exporter reports."""

from __future__ import annotations

from datetime import timedelta

from aima.storage.gpu_usage import record_gpu_run
from aima.storage.models import Case, Job, MediaItem, StageRun, utcnow


def fill_case(database) -> None:
    """One case: 3 done items, 1 failed, 1 rejected; 4 stage runs; a batch with 4 file jobs;
    3 GPU waves: 2 on pool gpu-runpod (120 + 30 s, 0.25 + 0.05 USD billed), 1 on pool local-gpu
    (60 s, 0.0333 USD by wall time)."""
    now = utcnow()
    with database.session() as session:
        case = Case(name="harbour")
        session.add(case)
        session.flush()

        def item(name, media_type, status, code=None):
            row = MediaItem(case_id=case.id, original_name=name, source_uri=f"/in/{name}",
                            media_type=media_type, status=status, error_code=code)
            session.add(row)
            return row

        photo, video, clip = (item("a.jpg", "image", "done"), item("b.mp4", "video", "done"),
                              item("c.wav", "audio", "done"))
        item("d.mp4", "video", "failed", "decode_error")
        item("e.exe", None, "rejected", "unsupported_type")
        session.flush()
        for media, stage, status, seconds in ((photo, "faces", "done", 0.4),
                                              (video, "faces", "done", 7.0),
                                              (video, "transcribe", "failed", 45.0),
                                              (clip, "transcribe", "running", None)):
            session.add(StageRun(case_id=case.id, media_id=media.id, stage=stage, status=status,
                                 duration_s=seconds))
        batch = Job(case_id=case.id, kind="batch", status="running")
        session.add(batch)
        session.flush()
        session.add_all([
            Job(case_id=case.id, parent_id=batch.id, kind="file", status="done"),
            Job(case_id=case.id, parent_id=batch.id, kind="file", status="failed"),
            Job(case_id=case.id, parent_id=batch.id, kind="file", status="pending",
                created_at=now - timedelta(minutes=10)),
            Job(case_id=case.id, parent_id=batch.id, kind="file", status="pending", created_at=now),
        ])
    for pool, pool_type, seconds, usd, source in (
            ("gpu-runpod", "runpod", 120.0, 0.25, "provider"),
            ("gpu-runpod", "runpod", 30.0, 0.05, "provider"),
            ("local-gpu", "process", 60.0, 0.0333, "wall time")):
        record_gpu_run(database, case_id=case.id, flow_run_id=None, pool=pool,
                       pool_type=pool_type, stages=["transcribe", "faces"], gpu_seconds=seconds,
                       estimated_usd=0.1, actual_usd=usd, actual_source=source)
