"""The speech models of a model profile, loaded once per process.

=========  ===========================================  ======================================
profile    speech recognition                           diarization
=========  ===========================================  ======================================
embedded   faster-whisper base, bundled weights, int8   embedded (Resemblyzer + clustering)
gpu        WhisperX large-v3 (hub) if installed, else   pyannote with ``AIMA_HF_TOKEN``, else
           faster-whisper large-v3, float16             embedded
=========  ===========================================  ======================================

Inference is serialised by a lock: on a CPU, two transcriptions at once only fight for the same
cores, and one model instance serves every task thread of the process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from pathlib import Path

from aima.blocks.secrets import hf_token
from aima.errors import ConfigError
from aima.models.asr import FasterWhisperRecognizer, SpeechRecognizer
from aima.models.voices import ResemblyzerVoiceEncoder, VoiceEncoder
from aima.models.weights import is_online
from aima.settings import Settings
from aima.speech.diarization import EmbeddedDiarizer

logger = logging.getLogger(__name__)
GPU_ASR_MODEL = "large-v3"


@dataclass
class SpeechModels:
    recognizer: SpeechRecognizer
    encoder: VoiceEncoder
    diarizer: EmbeddedDiarizer
    lock: threading.Lock = field(default_factory=threading.Lock)


def load_speech_models(settings: Settings) -> SpeechModels:
    encoder = ResemblyzerVoiceEncoder()
    diarizer = EmbeddedDiarizer(encoder)
    if settings.model_profile == "embedded":
        recognizer: SpeechRecognizer = FasterWhisperRecognizer.embedded(
            local_path=settings.asr_model, cache_dir=settings.model_cache_dir.expanduser()
        )
        return SpeechModels(recognizer, encoder, diarizer)
    model = settings.asr_model or GPU_ASR_MODEL
    if not is_online() and not Path(model).expanduser().is_dir():
        raise ConfigError(
            "AIMA_ASR_MODEL",
            f"the gpu profile loads {model!r} from the Hugging Face Hub, but HF_HUB_OFFLINE is "
            "set: point AIMA_ASR_MODEL at a local model directory, or use AIMA_MODEL_PROFILE=embedded",
        )
    from aima.models.whisperx_adapter import WhisperXRecognizer, WhisperXUnavailable

    try:
        token = hf_token(settings)
        recognizer = WhisperXRecognizer(model, hf_token=token, fallback_diarizer=diarizer)
    except WhisperXUnavailable as exc:  # whisperx is only in GPU worker images
        logger.warning("whisperx unavailable (%s); using faster-whisper %s", exc, model)
        recognizer = FasterWhisperRecognizer(model)
    return SpeechModels(recognizer, encoder, diarizer)
