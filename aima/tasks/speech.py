"""Prefect tasks of the speech stages: thin wrappers around aima.transcription."""

from __future__ import annotations

from prefect import task

from aima.tasks import runtime
from aima.tasks.media import COMMON
from aima.transcription import SpeechOutcome, diarize_media, link_speakers, transcribe_media


@task(name="transcribe", task_run_name="transcribe {name}", **COMMON)
def transcribe(media_id: str, name: str, reanalyse: bool = False) -> SpeechOutcome:
    stores = runtime.stores()
    return transcribe_media(stores, stores.settings, runtime.speech_models(), media_id,
                            reanalyse=reanalyse)


@task(name="diarize", task_run_name="diarize {name}", **COMMON)
def diarize(media_id: str, name: str, reanalyse: bool = False) -> SpeechOutcome:
    stores = runtime.stores()
    return diarize_media(stores, stores.settings, runtime.speech_models(), media_id,
                         reanalyse=reanalyse)


@task(name="link-speakers", **COMMON)
def link_case_speakers(case_id: str) -> int:
    """Cluster the voices of the whole case into case speakers; returns how many."""
    document = link_speakers(runtime.stores(), runtime.speech_models(), case_id)
    return len(document["speakers"])
