"""One case in the metadata store with a known count of everything the exporter reports."""

from __future__ import annotations

from datetime import timedelta

from aima.storage.models import Case, Job, MediaItem, StageRun, utcnow


def fill_case(database) -> None:
    """One case: 3 done items, 1 failed, 1 rejected; 4 stage runs; a batch with 4 file jobs."""
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
