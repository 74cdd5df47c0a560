"""The diarize stage keeps a diarization the recognizer already made (WhisperX with pyannote on
the gpu profile) and only adds voice centroids for case linking."""

from __future__ import annotations

import io

from aima.settings import Settings
from aima.speech.transcript import Segment, SpeakerTurn, Transcript, Word
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import MediaItem
from aima.pipeline.runner import run_media_stage
from tests.speech import speechgen
from tests.speech.speechgen import VOICE_A, VOICE_B


def test_turns_from_the_recognizer_are_kept(tmp_path, recognizer, voice_encoder, diarizer):
    samples, turns = speechgen.dialogue([(VOICE_A, "Good morning to you."),
                                         (VOICE_B, "Thank you, good morning.")])
    wav = speechgen.write(tmp_path / "d.wav", samples)
    # What WhisperX hands back after pyannote: words and turns labelled by pyannote.
    labels = {VOICE_A: "SPEAKER_07", VOICE_B: "SPEAKER_03"}
    given = [SpeakerTurn(start=t.start, end=t.end, speaker=labels[t.voice]) for t in turns]
    transcript = Transcript(language="en", language_probability=1.0, duration_s=len(samples) / 16000,
                            segments=[Segment(start=t.start, end=t.end, text="x", speaker=t.speaker,
                                              words=[Word(start=t.start, end=t.end, word="x",
                                                          speaker=t.speaker)]) for t in given],
                            turns=given)
    with open_stores(Settings(data_dir=tmp_path / "data")) as stores:
        case = get_or_create_case(stores.metadata, "gpu")
        case_id = str(case.id)
        with stores.metadata.session() as session:
            item = MediaItem(case_id=case.id, sha256="e" * 64, original_name="d.wav", media_type="audio",
                             source_uri=str(wav), status="preprocessed")
            session.add(item)
            session.flush()
            media_id = str(item.id)
        key = f"cases/{case_id}/audio/{media_id}.wav"
        stores.objects.put_stream(key, io.BytesIO(wav.read_bytes()))
        stores.documents.put(case_id, "preprocess", media_id, {"audio": {"key": key}})
        stores.documents.put(case_id, "transcribe", media_id,
                             {"model_id": "whisperx/large-v3/float16",
                              **transcript.model_dump(mode="json")})
        models = {"asr": recognizer, "voices": voice_encoder, "diarizer": diarizer}.get

        outcome = run_media_stage(stores, "diarize", media_id, models=models)

        assert outcome.status == "done"
        document = stores.documents.get(case_id, "diarize", media_id)
        assert document["model_id"] == "whisperx/large-v3/float16"
        assert [t["speaker"] for t in document["turns"]] == ["SPEAKER_07", "SPEAKER_03"]
        voices = stores.vectors.fetch("voice", voice_encoder.model_id, case_id,
                                      voice_encoder.dimension)
        assert sorted(v.id for v in voices) == sorted(f"{media_id}:{label}" for label in labels.values())
