"""Speech: diarization, case speakers and subtitles (plain Python, no Prefect)."""
