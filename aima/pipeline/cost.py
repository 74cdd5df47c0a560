"""What the GPU work of a run will cost, before anything is rented, and what it did cost.

:func:`estimate` reads what preprocess recorded about each media item (a video's keyframes and
duration, the length of an audio track) and turns it into GPU-seconds per stage with the
throughput figures of :data:`SECONDS_PER_UNIT`, adds the start-up of each GPU run
(``AIMA_GPU_STARTUP_S``: machine start and model load, paid for too) and prices the total at the
pool's price per machine-hour (an hour of the GPU machine, all its GPUs: what a multi-GPU offer
costs): a live offer's price when the caller knows one, else ``AIMA_GPU_PRICE_PER_HOUR``. The figures mirror what the stages will do: a vision stage looks at
an image once and at each keyframe of a video, a speech stage listens to the 16 kHz audio track;
an item without keyframes or audio costs that stage nothing, as the stage will skip it.

:func:`decision` says what the flow does with an estimate: start (``auto``), pause for approval
(``ask``) or fail before renting anything (``over-budget``, :class:`BudgetExceeded`).
:meth:`CostEstimate.markdown` is the table people see in the Prefect UI's approval form and the CLI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from aima.errors import AimaError
from aima.settings import Settings
from aima.stages import registry
from aima.storage import Stores
from aima.storage.models import MediaItem

#: What one unit of a stage's work is: a frame (an image, or one keyframe of a video), a second of
#: audio, or one case.
Unit = Literal["frames", "audio seconds", "case"]

#: GPU stage -> (unit, seconds of GPU-machine time per unit) for the gpu model profile
#: (aima/models/factory.py) on one A10/A100-class card. They are estimates to approve a spend by,
#: erring high; replace a figure with a measured one when a benchmark gives it.
SECONDS_PER_UNIT: dict[str, tuple[Unit, float]] = {
    # WhisperX / faster-whisper large-v3, float16: faster-whisper's README benchmark transcribes
    # 13 min of audio in 52 s (fp16, beam 5, RTX 2080 Ti) = 0.067 s per audio second; plus
    # pyannote's turns where WhisperX diarizes (real-time factor ~2.5 %, below) and alignment.
    "transcribe": ("audio seconds", 0.10),
    # Voice windows and clustering over the same audio (ECAPA-TDNN), of the order of pyannote
    # speaker-diarization-3.1's real-time factor of ~2.5 % on a V100 (its model card).
    "diarize": ("audio seconds", 0.03),
    # LLaVA-1.6-34B in 4 bits (the gpu default): a JSON answer of a few hundred tokens at
    # ~30-40 tokens/s, batches of AIMA_VLM_BATCH_SIZE sharing the decoding. A 7B LLaVA is ~1.5 s.
    "describe": ("frames", 8.0),
    # dlib HOG detector + ResNet embedder in both profiles: it runs on the GPU machine's CPU;
    # 0.36 s per photo measured on this project's machines (FACTS.md).
    "faces": ("frames", 0.40),
    # OWLv2 base (patch16, 960 px input) through transformers: ~0.1-0.2 s per image on a GPU.
    "detect-restraints": ("frames", 0.20),
    # Llama-3.1-8B-Instruct in 4 bits writing the case narrative: a prompt of up to 8192 tokens
    # and up to AIMA_LLM_MAX_NEW_TOKENS (2048) new ones at ~30 tokens/s, with a repair prompt.
    "fuse": ("case", 120.0),
}


class StageCost(BaseModel):
    """One stage's share of the estimate."""

    stage: str
    unit: Unit
    files: int = Field(description="media items the stage will work on (0 for a case stage)")
    media_seconds: float = Field(
        description="playing time of those items: the audio for a speech stage, the videos' "
        "duration for a vision stage (images count 0)")
    units: float = Field(description="frames, audio seconds or cases to process")
    gpu_seconds: float
    usd: float


class CostEstimate(BaseModel):
    """What one run's GPU work is expected to cost, and the budget it is held against."""

    per_stage: list[StageCost]
    startup_s: float = Field(description="start-up and model load of the GPU runs (0 when none)")
    gpu_seconds: float = Field(description="total, start-up included")
    price_per_hour: float = Field(description="USD per hour of the GPU machine")
    price_source: Literal["setting", "offer"]
    usd: float
    budget_usd: float | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def startup_usd(self) -> float:
        return actual_cost(self.startup_s, self.price_per_hour)

    def summary(self) -> str:
        """One line: total, GPU time and price (for logs and error messages)."""
        return (f"GPU work estimated at {_usd(self.usd)}: {_duration(self.gpu_seconds)} of GPU "
                f"time at {_usd(self.price_per_hour)} per machine-hour ({_SOURCE[self.price_source]})")

    def markdown(self) -> str:
        """A short table for people: per stage, start-up, total, price and budget."""
        rows = ["| Stage | Files | Media | Work | GPU time | Cost |",
                "|---|---:|---:|---:|---:|---:|"]
        for cost in self.per_stage:
            rows.append(f"| {cost.stage} | {cost.files} | {_duration(cost.media_seconds)} | "
                        f"{_work(cost)} | {_duration(cost.gpu_seconds)} | {_usd(cost.usd)} |")
        rows.append(f"| start-up and model load | | | | {_duration(self.startup_s)} | "
                    f"{_usd(self.startup_usd)} |")
        rows.append(f"| **Total** | | | | **{_duration(self.gpu_seconds)}** | "
                    f"**{_usd(self.usd)}** |")
        lines = ["\n".join(rows), "",
                 f"Price: {_usd(self.price_per_hour)} per machine-hour "
                 f"({_SOURCE[self.price_source]})."]
        if self.budget_usd is not None:
            lines.append(f"Budget: {_usd(self.budget_usd)}"
                         + (" (the estimate is over it)." if self.usd > self.budget_usd else "."))
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


class BudgetExceeded(AimaError):
    """The estimated GPU cost is above the run's budget: nothing was dispatched."""

    def __init__(self, estimate: CostEstimate, budget_usd: float):
        self.estimate = estimate
        self.budget_usd = budget_usd
        super().__init__(
            f"{estimate.summary()}, over the budget of {_usd(budget_usd)}; nothing was "
            "dispatched. Raise the budget (the run's budget_usd parameter, aima analyze "
            "--budget or AIMA_BUDGET_USD) or analyse fewer files or stages.")


def estimate(stores: Stores, items_and_stages: Mapping[str, Iterable[str]]
             | Iterable[tuple[str, str]], settings: Settings | None = None,
             price_per_hour: float | None = None, *, budget_usd: float | None = None,
             case_stages: Iterable[str] = (), gpu_runs: int = 1) -> CostEstimate:
    """The cost of running the named GPU stages on the named media items.

    ``items_and_stages`` maps media ids to the GPU stages that will run for them, or lists
    ``(media_id, stage)`` pairs. ``case_stages`` are GPU stages run once for the case (``fuse``).
    ``price_per_hour`` is a live offer's price; without it ``settings.gpu_price_per_hour`` is
    used. ``budget_usd`` defaults to ``settings.budget_usd``. ``gpu_runs`` GPU runs each pay
    ``settings.gpu_startup_s`` once, when there is any work at all.
    """
    settings = settings or stores.settings
    price, source = ((price_per_hour, "offer") if price_per_hour is not None
                     else (settings.gpu_price_per_hour, "setting"))
    wanted = _by_stage(items_and_stages)
    case_stages = list(dict.fromkeys(case_stages))
    for stage in [*wanted, *case_stages]:
        _unit_cost(stage)  # an unknown stage fails before any store is read
    named = {media_id for ids in wanted.values() for media_id in ids}
    items = _items(stores, named)
    documents = {media_id: stores.documents.get(str(item.case_id), "preprocess", media_id) or {}
                 for media_id, item in items.items()}
    notes = []
    if missing := sorted(named - set(items)):
        notes.append(f"{len(missing)} item(s) not found or rejected, not counted: "
                     f"{', '.join(missing)}")
    if unprocessed := sorted(m for m, item in items.items()
                             if not documents[m] and item.media_type != "image"):
        notes.append(f"{len(unprocessed)} item(s) without a preprocess record count no keyframes "
                     f"or audio: {', '.join(unprocessed)}")
    per_stage = [_stage_cost(stage, [(items[m], documents[m]) for m in ids if m in items], price)
                 for stage, ids in wanted.items()]
    per_stage += [_case_cost(stage, price) for stage in case_stages]
    startup = settings.gpu_startup_s * gpu_runs if any(c.units for c in per_stage) else 0.0
    gpu_seconds = sum(cost.gpu_seconds for cost in per_stage) + startup
    return CostEstimate(
        per_stage=per_stage, startup_s=startup, gpu_seconds=gpu_seconds, price_per_hour=price,
        price_source=source, usd=actual_cost(gpu_seconds, price),
        budget_usd=settings.budget_usd if budget_usd is None else budget_usd, notes=notes)


def actual_cost(gpu_seconds: float, price_per_hour: float) -> float:
    """USD for ``gpu_seconds`` of GPU-machine time at ``price_per_hour`` USD per machine-hour."""
    return gpu_seconds / 3600.0 * price_per_hour


def decision(estimate: CostEstimate, budget_usd: float | None,
             auto_approve_usd: float) -> Literal["auto", "ask", "over-budget"]:
    """``over-budget`` above the budget (None: no budget), else ``auto`` at or below the
    auto-approve threshold, else ``ask``."""
    if budget_usd is not None and estimate.usd > budget_usd:
        return "over-budget"
    return "auto" if estimate.usd <= auto_approve_usd else "ask"


def check_budget(estimate: CostEstimate, budget_usd: float | None) -> None:
    """Raise :class:`BudgetExceeded` when the estimate is above ``budget_usd``."""
    if budget_usd is not None and estimate.usd > budget_usd:
        raise BudgetExceeded(estimate, budget_usd)


# --- internals ----------------------------------------------------------------------------------

_SOURCE = {"setting": "AIMA_GPU_PRICE_PER_HOUR", "offer": "live offer"}


def _unit_cost(stage: str) -> tuple[Unit, float]:
    try:
        return SECONDS_PER_UNIT[stage]
    except KeyError:
        raise ValueError(f"no GPU throughput known for stage {stage!r}; GPU stages: "
                         f"{', '.join(SECONDS_PER_UNIT)}") from None


def _by_stage(items_and_stages) -> dict[str, list[str]]:
    """Stage -> media ids (each once, in the order given)."""
    pairs = (((media_id, stage) for media_id, stages in items_and_stages.items()
              for stage in stages) if isinstance(items_and_stages, Mapping) else items_and_stages)
    wanted: dict[str, dict[str, None]] = {}
    for media_id, stage in pairs:
        wanted.setdefault(stage, {})[str(media_id)] = None
    order = registry.names()  # the table lists stages in the pipeline's order
    return {stage: list(wanted[stage])
            for stage in sorted(wanted, key=lambda s: order.index(s) if s in order else len(order))}


def _items(stores: Stores, media_ids: set[str]) -> dict[str, MediaItem]:
    if not media_ids:
        return {}
    with stores.metadata.session() as session:
        found = session.scalars(select(MediaItem).where(
            MediaItem.id.in_([uuid.UUID(m) for m in media_ids]))).all()
        # the runner skips a rejected item: it costs nothing
        return {str(item.id): item for item in found if item.status != "rejected"}


def _measure(unit: Unit, item: MediaItem, document: dict) -> tuple[float, float]:
    """(units, media seconds) of one item for a stage working in ``unit``."""
    if unit == "audio seconds":
        seconds = float((document.get("audio") or {}).get("duration_s") or 0.0)
        return seconds, seconds
    if item.media_type == "image":
        return 1.0, 0.0
    frames = len(document.get("keyframes") or [])
    return float(frames), float((document.get("probe") or {}).get("duration_s") or 0.0)


def _stage_cost(stage: str, items: list[tuple[MediaItem, dict]], price: float) -> StageCost:
    unit, seconds_per_unit = _unit_cost(stage)
    applies = registry.get(stage).media_types
    measured = [_measure(unit, item, document) for item, document in items
                if item.media_type in applies]
    measured = [(units, media) for units, media in measured if units > 0]
    units = sum(units for units, _ in measured)
    gpu_seconds = units * seconds_per_unit
    return StageCost(stage=stage, unit=unit, files=len(measured),
                     media_seconds=sum(media for _, media in measured), units=units,
                     gpu_seconds=gpu_seconds, usd=actual_cost(gpu_seconds, price))


def _case_cost(stage: str, price: float) -> StageCost:
    unit, seconds_per_unit = _unit_cost(stage)
    return StageCost(stage=stage, unit=unit, files=0, media_seconds=0.0, units=1.0,
                     gpu_seconds=seconds_per_unit, usd=actual_cost(seconds_per_unit, price))


def _work(cost: StageCost) -> str:
    if cost.unit == "audio seconds":
        return f"{_duration(cost.units)} audio"
    if cost.unit == "case":
        return "1 case"
    return f"{cost.units:.0f} frame" + ("" if cost.units == 1 else "s")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"
