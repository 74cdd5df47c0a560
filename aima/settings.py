"""AIMA's one settings object.

Every setting is read from the environment with the prefix ``AIMA_`` (nested fields use ``__``,
e.g. ``AIMA_S3__ENDPOINT``) or from a ``.env`` file in the working directory. The defaults need no
configuration at all: every store is embedded and lives under one data directory.

Each store is chosen by one URL:

=====================  ===========================================  ==================================
setting                embedded default                             server
=====================  ===========================================  ==================================
AIMA_DATABASE_URL      ``sqlite:///<data_dir>/aima.db``             ``postgresql+psycopg://u:p@h/db``
AIMA_DOCUMENTS_URL     ``sql`` (JSON column in the metadata DB)     ``mongodb://h:27017``
AIMA_VECTORS_URL       ``<data_dir>/vectors.db`` (Milvus Lite)      ``http://h:19530`` (Milvus)
AIMA_OBJECTS_URL       ``<data_dir>/objects`` (local directory)     ``s3://bucket`` + ``AIMA_S3__*``
=====================  ===========================================  ==================================
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aima.errors import ConfigError
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS

ENV_PREFIX = "AIMA_"
GIB = 1024**3


class S3Settings(BaseModel):
    """Connection to an S3-compatible object store (MinIO, AWS S3, ...)."""

    endpoint: str | None = Field(
        default=None,
        description="S3 endpoint URL, e.g. http://127.0.0.1:9000 for MinIO. Empty means AWS S3.",
    )
    access_key: SecretStr | None = Field(default=None, description="S3 access key id.")
    secret_key: SecretStr | None = Field(default=None, description="S3 secret access key.")
    region: str | None = Field(default=None, description="S3 region, e.g. us-east-1.")
    public_endpoint: str | None = Field(
        default=None,
        description="The S3 endpoint as GPU machines outside this network reach it (e.g. "
        "https://s3.example.org), used only to sign the presigned URLs of GPU jobs: a URL's "
        "signature covers its host, so it cannot be rewritten afterwards. Empty: the endpoint.",
    )

    @field_validator("endpoint", "public_endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected http://host:port or https://host, got {value!r}")
        return value.rstrip("/")


class Settings(BaseSettings):
    """All of AIMA's settings. See the module docstring for the store URLs."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(
        default_factory=lambda: _default_data_dir(),
        description="Where the embedded stores live. Default: $XDG_DATA_HOME/aima, else "
        "~/.local/share/aima: an absolute path per user, so that a Prefect worker running a flow "
        "in a temporary directory never keeps (and deletes) the case data there.",
    )
    database_url: str = Field(default="", description="Metadata database (SQLite or PostgreSQL).")
    documents_url: str = Field(default="sql", description="'sql' or a mongodb:// URL.")
    documents_database: str = Field(default="aima", description="MongoDB database name.")
    vectors_url: str = Field(default="", description="Milvus Lite file (*.db) or http://host:19530.")
    objects_url: str = Field(default="", description="Local directory or s3://bucket[/prefix].")
    s3: S3Settings = Field(default_factory=S3Settings)

    connect_timeout_s: float = Field(default=5.0, gt=0, description="Timeout for reaching a store.")
    max_file_bytes: int = Field(default=2 * GIB, gt=0, description="Files larger are rejected.")
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS,
        gt=0,
        description="Images, and video frames, with more pixels (width x height, as the header "
        "declares them) are rejected as too_many_pixels before anything is decoded: a small file "
        "can declare a picture of gigabytes (a decompression bomb). Default 178,956,970, the "
        "threshold at which Pillow itself refuses an image (2 x PIL.Image.MAX_IMAGE_PIXELS), so "
        "no image Pillow accepts by default is refused; about 537 MB decoded as RGB.",
    )
    keyframe_max_gap_s: float = Field(
        default=10.0, gt=0, description="At least one keyframe every this many seconds."
    )
    model_profile: Literal["embedded", "gpu"] = Field(
        default="embedded",
        description="'embedded': CPU models with bundled weights; 'gpu': hub models on rented GPUs.",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/aima/models"),
        description="Where bundled model weights are assembled (AIMA_MODEL_CACHE_DIR).",
    )
    asr_model: str | None = Field(
        default=None,
        description="Speech recognition model: a local directory or a hub id. Default: the bundled "
        "Whisper base (embedded profile) or large-v3 (gpu profile).",
    )
    asr_language: str | None = Field(
        default=None, description="Force this language (ISO 639-1, e.g. 'en'); default: detect."
    )
    hf_token: SecretStr | None = Field(
        default=None, description="Hugging Face token for pyannote diarization (gpu profile)."
    )
    actor: str = Field(
        default_factory=lambda: _current_user(),
        description="Who is named in audit events for actions taken by this process.",
    )

    # --- faces and case persons (aima/stages/faces.py, aima/stages/link_persons.py) -------------
    face_min_size: int = Field(
        default=36, ge=1,
        description="Faces whose box side is smaller (pixels of the analysed frame) are kept as "
        "detections but not embedded: below ~36 px the 128-d embedding drifts by a third of the "
        "same-person margin.",
    )
    face_min_quality: float = Field(
        default=0.3, ge=0.0, le=1.0,
        description="Faces whose quality score (0-1, the weakest of size, sharpness and pose) is "
        "lower are kept as detections but not embedded.",
    )
    person_min_faces: int = Field(
        default=2, ge=1,
        description="A face starts a case person only when at least this many faces of the case "
        "(itself included) lie within AIMA_PERSON_MAX_DISTANCE of it; other faces join a person "
        "they are that close to, or stay unassigned.",
    )
    person_max_distance: float = Field(
        default=0.5, gt=0.0,
        description="Largest distance between two face embeddings (Euclidean, dlib's 128-d space: "
        "the same person is usually under 0.6) that counts as the same person.",
    )

    # --- vision-language model (aima/stages/describe.py, aima/models/vlm/) ----------------------
    vlm_model: str | None = Field(
        default=None,
        description="LLaVA-1.5 or LLaVA-1.6 model for the describe stage through transformers: a "
        "local directory (both profiles) or a hub id (gpu profile; default "
        "llava-hf/llava-v1.6-34b-hf). The embedded profile runs no VLM unless this or "
        "AIMA_VLM_ENDPOINT is set.",
    )
    vlm_endpoint: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible chat API with image input, including its "
        "version, e.g. http://127.0.0.1:8000/v1 (vLLM), :8080/v1 (llama.cpp), :11434/v1 (Ollama). "
        "Used instead of AIMA_VLM_MODEL when set.",
    )
    vlm_endpoint_model: str | None = Field(
        default=None, description="The model name the endpoint serves (required with an endpoint)."
    )
    vlm_api_key: SecretStr | None = Field(
        default=None,
        description="Bearer key for the endpoint; else the Prefect Secret block aima-vlm-api-key.",
    )
    vlm_structured_output: Literal["json_schema", "guided_json", "off"] = Field(
        default="json_schema",
        description="Constrain answers to the JSON schema: 'json_schema' (llguidance for "
        "transformers; response_format for endpoints), 'guided_json' (vLLM's own field), 'off' "
        "(prompt only; answers are still validated, with one repair prompt).",
    )
    vlm_batch_size: int = Field(
        default=4, ge=1,
        description="Pictures per batch (transformers) or requests at a time (endpoint).",
    )
    vlm_max_new_tokens: int = Field(
        default=1024, ge=16, description="Token budget of one answer."
    )
    vlm_quantization: Literal["4bit", "none"] = Field(
        default="4bit", description="Weights on CUDA: 4-bit through bitsandbytes, or float16."
    )
    vlm_timeout_s: float = Field(
        default=120.0, gt=0, description="Timeout for one endpoint request (reading the answer)."
    )
    vlm_retries: int = Field(
        default=3, ge=0, description="Retries of an endpoint request after a transient failure."
    )

    # --- language model of the fusion stage (aima/models/llm/) ---------------------------------
    llm_enabled: bool = Field(
        default=True,
        description="Write the case narrative with a language model; false runs none (both "
        "profiles) and the narrative is not written.",
    )
    llm_model: str | None = Field(
        default=None,
        description="Language model: a .gguf file (llama.cpp, both profiles), a local "
        "transformers directory (both profiles) or a hub id (gpu profile). Defaults: the "
        "packaged SmolLM2-135M-Instruct Q4_1 GGUF (embedded; valid JSON, weak content) and "
        "meta-llama/Llama-3.1-8B-Instruct, 4-bit on CUDA, about 6 GB of GPU memory (gpu). "
        "meta-llama/Llama-3.1-70B-Instruct writes better narratives and needs about 40 GB in "
        "4-bit; both are gated: AIMA_HF_TOKEN.",
    )
    llm_endpoint: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible chat API including its version, e.g. "
        "http://127.0.0.1:8000/v1 (vLLM), :8080/v1 (llama.cpp), :11434/v1 (Ollama). Used "
        "instead of AIMA_LLM_MODEL when set.",
    )
    llm_endpoint_model: str | None = Field(
        default=None, description="The model name the endpoint serves (required with an endpoint)."
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the language-model endpoint."
    )
    llm_structured_output: Literal["json_schema", "guided_json", "off"] = Field(
        default="json_schema",
        description="Constrain answers to the caller's JSON schema: 'json_schema' (llama.cpp's "
        "and llguidance's grammar locally; response_format for endpoints), 'guided_json' (vLLM's "
        "own field; local models treat it as json_schema), 'off' (prompt only; callers validate).",
    )
    llm_context_tokens: int | None = Field(
        default=None, ge=512,
        description="Context window (prompt and answer, in tokens) the model runs with. Default "
        "8192 in both profiles (SmolLM2-135M was trained with 8192, Llama 3.1 with 128k). The "
        "packaged model reads a prompt at about 90 tokens/s on one core: a full context costs "
        "about 1.5 minutes.",
    )
    llm_max_new_tokens: int = Field(
        default=2048, ge=16, description="Most tokens one answer may have (caps each call)."
    )
    llm_quantization: Literal["4bit", "none"] = Field(
        default="4bit",
        description="transformers weights on CUDA: 4-bit through bitsandbytes, or 16-bit.",
    )
    llm_timeout_s: float = Field(
        default=600.0, gt=0, description="Timeout for one endpoint request (reading the answer)."
    )
    llm_retries: int = Field(
        default=3, ge=0, description="Retries of an endpoint request after a transient failure."
    )
    llm_threads: int | None = Field(
        default=None, ge=1,
        description="CPU threads of the llama.cpp model; default: half the cores "
        "(os.cpu_count() // 2, at least 1). More threads are faster only on idle cores: "
        "llama.cpp's threads wait for each other, and stall when another process takes a core. "
        "Replies differ slightly with the thread count, which is part of the results' key.",
    )

    # --- text recognition (aima/stages/ocr.py, aima/models/ocr.py) ------------------------------
    ocr_enabled: bool = Field(
        default=True,
        description="Read text in images and keyframes with tesseract (the ocr stage); false "
        "skips the stage.",
    )
    ocr_languages: str = Field(
        default="eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="Tesseract languages joined by '+', e.g. 'eng+deu'; each needs its data "
        "(Debian: tesseract-ocr-deu).",
    )

    # --- known-file hash sets (aima/hashsets/) -------------------------------------------------
    hashsets_skip_known_benign: bool = Field(
        default=True,
        description="Files whose md5, sha1 or sha256 is in a hash set of category known-benign "
        "(aima hashsets import) skip the analysis stages; they stay in the report, marked as "
        "such. false analyses them like any other file.",
    )

    # --- restraint detector (aima/stages/detect_restraints.py, aima/models/detector.py) -------
    restraint_detector_model: str | None = Field(
        default=None,
        description="OWLv2 or OWL-ViT detector for the detect-restraints stage: a local directory "
        "(both profiles) or a hub id (gpu profile; default google/owlv2-base-patch16-ensemble). "
        "The embedded profile runs no detector unless this names a local directory.",
    )
    restraint_detector_threshold: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="Lowest detector score kept as a restraint detection.",
    )
    restraint_detector_batch_size: int = Field(
        default=4, ge=1, description="Frames per detector batch."
    )

    # --- near-duplicates (aima/triage/, aima/stages/near_duplicates.py) -------------------------
    near_duplicate_max_distance: int = Field(
        default=10, ge=0, le=64,
        description="Largest distance in bits between the 64-bit perceptual hashes of two images "
        "(or of two video frames) that stacks them as near-duplicates. Resized, re-encoded, 10 % "
        "cropped, brightened and mirrored copies of a photo are 0-8 bits apart, distinct photos "
        "16 or more (bench/bench_near_duplicates.py); 0 stacks only copies that hash the same.",
    )
    near_duplicate_representatives_only: bool = Field(
        default=False,
        description="Analyse one picture per near-duplicate stack: an image within "
        "AIMA_NEAR_DUPLICATE_MAX_DISTANCE bits of a better copy already in the case skips the "
        "analysis stages (it stays in the report, marked). Videos are always analysed.",
    )

    # --- operations: Prefect, GPU pools and cost (aima/flows/, aima/pipeline/cost.py) ---------
    one_task_max_s: float = Field(
        default=60.0, ge=0.0,
        description="Without a GPU pool, a picture, and a video or recording that plays at most "
        "this long (seconds), goes through ingest and all its stages as one Prefect task run; a "
        "longer file runs each stage as a task run of its own. 0: only pictures.",
    )
    gpu_pool: str | None = Field(
        default=None,
        description="Work pool that runs the GPU stages as gpu-analysis flow runs (a process pool "
        "on a local GPU, or a runpod/vastai pool). Empty: the GPU stages run inside the "
        "analyze-media flow run itself (the embedded default).",
    )
    gpu_deployment: str = Field(
        default="gpu-analysis/default",
        description="The deployment (FLOW/NAME) that analyze-media dispatches the GPU stages to "
        "when AIMA_GPU_POOL is set.",
    )
    gpu_price_per_hour: float = Field(
        default=2.0, ge=0.0,
        description="USD per hour of the GPU machine (all its GPUs) used for the cost estimate "
        "when no live offer price is known.",
    )
    presigned_url_ttl_s: int = Field(
        default=3600, ge=60, le=7 * 24 * 3600,
        description="Lifetime of the presigned object URLs a GPU job gets for its inputs and "
        "outputs (seconds; S3 allows at most 7 days). Keep it short, but longer than one GPU "
        "wave takes from dispatch to its last upload, machine start included.",
    )
    gpu_startup_s: float = Field(
        default=180.0, ge=0.0,
        description="Seconds one GPU run spends starting and loading its models, added to every "
        "estimate: they are paid for too.",
    )
    budget_usd: float = Field(
        default=10.0, ge=0.0,
        description="Default budget of one analysis run's GPU work (USD): an estimate above it "
        "fails the run before anything is dispatched.",
    )
    auto_approve_usd: float = Field(
        default=1.0, ge=0.0,
        description="GPU work estimated at or below this (USD) starts without asking; above it the "
        "run pauses for approval in the Prefect UI (or aima analyze --approve).",
    )
    approval_timeout_s: float = Field(
        default=24 * 3600, gt=0,
        description="How long a run waits for a person to approve its GPU work before it fails.",
    )
    cpu_concurrency: int = Field(
        default=4, ge=1,
        description="How many stage tasks one analyze-media run keeps in flight at once.",
    )
    gpu_concurrency_limit: str | None = Field(
        default=None,
        description="Name of a Prefect global concurrency limit that every GPU dispatch takes a "
        "slot of (aima serve creates 'aima-gpu'). A name that does not exist is an error.",
    )
    prefect_database_url: SecretStr | None = Field(
        default=None,
        description="Database of the Prefect server that aima serve starts "
        "(postgresql+asyncpg://...); empty: SQLite under the Prefect home.",
    )

    # --- batch scans (aima/pipeline/scan.py, aima/flows/batch_scan.py) --------------------------
    scan_min_age_s: float = Field(
        default=60.0, ge=0.0,
        description="A batch scan leaves local files modified less than this many seconds ago "
        "for a later scan: they may still be being copied in. S3 objects appear only complete.",
    )
    scan_check_threads: int = Field(
        default=8, ge=1,
        description="Files a batch scan checks at once (a stat, or a HEAD request per S3 object).",
    )

    # --- monitoring: the Prometheus exporter (aima/monitoring/) ------------------------------
    exporter_host: str = Field(
        default="127.0.0.1",
        description="Address the Prometheus exporter (python -m aima.monitoring.exporter) listens "
        "on; 0.0.0.0 inside a container.",
    )
    exporter_port: int = Field(
        default=9464, ge=0, le=65535,
        description="Port of the Prometheus exporter's /metrics page (0: any free port).",
    )

    # --- rented GPU providers (aima/gpu_providers/, aima/blocks/providers.py) -----------------
    runpod_api_key: SecretStr | None = Field(
        default=None,
        description="RunPod API key; empty: the RunPodCredentials block named aima-runpod.",
    )
    runpod_api_url: str | None = Field(
        default=None,
        description="Base URL of RunPod's API (GraphQL at <url>/graphql); empty: the block's "
        "base_url, else https://api.runpod.io.",
    )
    vastai_api_key: SecretStr | None = Field(
        default=None,
        description="Vast.ai API key; empty: the VastAICredentials block named aima-vastai.",
    )
    vastai_api_url: str | None = Field(
        default=None,
        description="Base URL of Vast.ai's API (REST under <url>/api/v0); empty: the block's "
        "base_url, else https://console.vast.ai.",
    )
    gpu_api_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout for one request to a GPU provider's API."
    )
    gpu_api_retries: int = Field(
        default=3, ge=0,
        description="Retries of a GPU provider request after a timeout, HTTP 5xx or 429.",
    )

    @field_validator("runpod_api_url", "vastai_api_url")
    @classmethod
    def _check_gpu_api_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected https://HOST or http://HOST:PORT, got {value!r}")
        return value.rstrip("/")

    # --- the run-labelling gateway (aima/gateway.py) --------------------------------------------
    gateway_host: str = Field(
        default="127.0.0.1",
        description="Address the run-labelling gateway (python -m aima.gateway) listens on; "
        "0.0.0.0 inside a container. It forwards to PREFECT_API_URL with "
        "PREFECT_API_AUTH_STRING.",
    )
    gateway_port: int = Field(
        default=4280, ge=0, le=65535, description="Port of the run-labelling gateway."
    )
    gateway_user_header: str = Field(
        default="X-Forwarded-User",
        pattern=r"^[A-Za-z0-9-]+$",
        description="Request header that names the person who logged in at the reverse proxy "
        "(Traefik's basicAuth headerField; X-Auth-Request-User behind oauth2-proxy). The "
        "gateway records it as the flow run's aima.actor label.",
    )

    # --- monitoring: GPU machines and failed flow runs (aima/monitoring/) ------------------
    exporter_listing_interval_s: float = Field(
        default=60.0, ge=0.0,
        description="How often the Prometheus exporter lists AIMA's rented GPU machines at each "
        "provider with an API key and counts the failed flow runs in Prefect (seconds); scrapes "
        "in between reuse the last reading. 0: at every scrape.",
    )
    exporter_gpu_max_age_hours: float = Field(
        default=8.0, gt=0.0,
        description="A rented machine older than this counts as orphaned in the exporter's "
        "figures whatever its flow run does; keep it equal to the gpu-reaper deployment's "
        "max_age_hours (prefect.yaml), which terminates such machines.",
    )

    # --- validation -------------------------------------------------------------------------

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        scheme = urlsplit(value).scheme
        if scheme in ("postgresql", "postgres"):
            # The project ships psycopg 3; make SQLAlchemy use it without asking users to know.
            return "postgresql+psycopg" + value[len(scheme) :]
        if scheme not in ("sqlite", "postgresql+psycopg"):
            raise ValueError(
                f"unknown scheme {scheme or '(none)'!r}; expected sqlite:///PATH "
                "or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
            )
        return value

    @field_validator("documents_url")
    @classmethod
    def _check_documents_url(cls, value: str) -> str:
        if value == "sql" or urlsplit(value).scheme in ("mongodb", "mongodb+srv"):
            return value
        raise ValueError(
            f"unknown documents store {value!r}; expected 'sql' (the metadata database) "
            "or mongodb://HOST:PORT"
        )

    @field_validator("vectors_url")
    @classmethod
    def _check_vectors_url(cls, value: str) -> str:
        if not value:
            return value
        scheme = urlsplit(value).scheme
        if scheme in ("http", "https"):
            return value
        if scheme in ("", "file") and value.endswith(".db"):
            return value.removeprefix("file://")
        raise ValueError(
            f"expected a Milvus Lite file ending in .db or http://HOST:19530, got {value!r}"
        )

    @field_validator("objects_url")
    @classmethod
    def _check_objects_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme == "s3":
            if not parts.netloc:
                raise ValueError(f"an s3:// URL needs a bucket name, got {value!r}")
            return value
        if parts.scheme in ("", "file"):
            return value.removeprefix("file://")
        raise ValueError(
            f"unknown scheme {parts.scheme!r}; expected a local directory or s3://BUCKET[/PREFIX]"
        )

    @field_validator("vlm_endpoint", "llm_endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        """An OpenAI-compatible base URL (vision-language or language model)."""
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected http://HOST:PORT/v1 or https://HOST/v1, got {value!r}")
        return value.rstrip("/")

    @field_validator("vlm_endpoint_model", "llm_endpoint_model")
    @classmethod
    def _endpoint_needs_a_model(cls, value: str | None, info) -> str | None:
        endpoint = info.field_name.removesuffix("_model")
        if info.data.get(endpoint) and not value:
            raise ValueError(f"AIMA_{endpoint.upper()} is set: name the model it serves")
        return value or None

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        data = self.data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{(data / 'aima.db').as_posix()}"
        if not self.vectors_url:
            self.vectors_url = (data / "vectors.db").as_posix()
        if not self.objects_url:
            self.objects_url = (data / "objects").as_posix()
        return self

    # --- helpers ------------------------------------------------------------------------------

    def relative_store_paths(self) -> list[str]:
        """The settings whose embedded store sits at a relative path (resolved against the
        working directory of whichever process opens it)."""
        relative = []
        if self.database_url.startswith("sqlite:///") and not self.database_url.startswith(
                ("sqlite:////", "sqlite:///:memory:")):
            relative.append("AIMA_DATABASE_URL")
        if not self.vectors_url.startswith(("http://", "https://")) and not Path(
                self.vectors_url).is_absolute():
            relative.append("AIMA_VECTORS_URL")
        if not self.objects_url.startswith("s3://") and not Path(self.objects_url).is_absolute():
            relative.append("AIMA_OBJECTS_URL")
        return relative

    @property
    def uses_embedded_stores(self) -> bool:
        """True when no store needs a server."""
        return (
            self.database_url.startswith("sqlite")
            and self.documents_url == "sql"
            and not self.vectors_url.startswith(("http://", "https://"))
            and not self.objects_url.startswith("s3://")
        )


def env_name(loc: tuple) -> str:
    """The environment variable that sets the field at pydantic location ``loc``."""
    return ENV_PREFIX + "__".join(str(part) for part in loc if not isinstance(part, int)).upper()


def load_settings(**overrides) -> Settings:
    """Read settings from the environment; on error raise ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(env_name(first["loc"]), message) from None


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path("~/.local/share").expanduser()
    return Path(base) / "aima"


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"
