"""What a stage is.

Every stage is a :class:`Stage` record in the registry (``aima/stages/__init__.py``): its name,
code version, scope (``media``: once per media item; ``case``: once per case), the media types it
applies to, the stages it needs, the device it wants and the kind of model it uses.

A media stage has three methods, called by :func:`aima.pipeline.runner.run_media_stage`:

``plan(ctx, item, model)``
    reads the stores and says what to compute: the model id and parameters that key the stored
    result, the input objects, and any JSON data the computation needs. Or :class:`Skip`.
``compute(request, model)``
    the work itself. Its inputs are local files and JSON; it returns a JSON-serialisable result
    and the files it wrote. It never touches a store, so it can run on a rented GPU machine that
    holds only presigned URLs for its inputs and outputs (:mod:`aima.pipeline.remote`).
``record(ctx, item, plan, computed)``
    writes the result into the stores (documents, vectors, metadata) and sums it up.

A case stage has one method, ``run(ctx, case_id, model)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from aima.settings import Settings
from aima.storage import Stores
from aima.storage.models import MediaItem

MEDIA_TYPES = frozenset({"image", "video", "audio"})


@dataclass(frozen=True)
class Skip:
    """The stage does not apply to this item; ``reason`` is shown to the user."""

    reason: str


@dataclass(frozen=True)
class Plan:
    model_id: str
    params: dict[str, Any]  # everything that changes the output: part of the storage key
    inputs: dict[str, str] = field(default_factory=dict)  # name -> object key, fetched for compute
    data: dict[str, Any] = field(default_factory=dict)  # JSON input that is not a file
    outputs: tuple[str, ...] = ()  # object keys (relative to the case) that compute will write
    replaces: tuple[str, ...] = ()  # prefixes (relative to the case) cleared before the upload


@dataclass(frozen=True)
class ComputeRequest:
    media_id: str
    media_type: str
    params: dict[str, Any]
    data: dict[str, Any]
    inputs: dict[str, Path]  # local copies of Plan.inputs
    workdir: Path  # where compute writes its files


@dataclass
class Computed:
    result: dict[str, Any]  # JSON-serialisable
    files: dict[str, Path] = field(default_factory=dict)  # key relative to the case -> local file
    warnings: list[str] = field(default_factory=list)
    # seconds the compute took elsewhere (a GPU machine's job), for the stage's ledger duration
    remote_s: float | None = None


@dataclass(frozen=True)
class Summary:
    """What a stage tells the user about one item: a line, and small figures."""

    detail: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class StageContext:
    """What plan, record and case stages get: the stores and the settings."""

    stores: Stores

    @property
    def settings(self) -> Settings:
        return self.stores.settings

    def item(self, media_id: str) -> MediaItem | None:
        with self.stores.metadata.session() as session:
            return session.get(MediaItem, uuid.UUID(str(media_id)))

    def case_context(self, item: MediaItem) -> str | None:
        """What the case owner said the case is about (``aima analyze --context``), if anything."""
        from aima.storage.models import Case

        with self.stores.metadata.session() as session:
            case = session.get(Case, item.case_id)
            text = (case.context or "").strip() if case is not None else ""
        return text or None

    def document(self, stage: str, item: MediaItem) -> dict[str, Any] | None:
        return self.stores.documents.get(str(item.case_id), stage, str(item.id))


class Stage:
    """A stage's record in the registry; subclasses set the class attributes."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when the code changes what the stage produces
    scope: ClassVar[Literal["media", "case"]] = "media"
    media_types: ClassVar[frozenset[str]] = MEDIA_TYPES
    needs: ClassVar[tuple[str, ...]] = ()
    device: ClassVar[Literal["cpu", "gpu"]] = "cpu"
    model: ClassVar[str | None] = None  # model kind, loaded through aima.models' factory
    description: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"<stage {self.name}>"


class MediaStage(Stage):
    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        raise NotImplementedError

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        raise NotImplementedError

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        raise NotImplementedError

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        """The summary of a result reused from the store (no recomputation)."""
        return Summary()


class DocumentStage(MediaStage):
    """A media stage whose whole result is one document (stored under the stage's name)."""

    def summarise(self, document: dict[str, Any]) -> Summary:
        return Summary()

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        ctx.stores.documents.put(str(item.case_id), self.name, str(item.id), computed.result,
                                 media_id=str(item.id))
        return self.summarise(computed.result)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return self.summarise(ctx.document(self.name, item) or {})


class CaseStage(Stage):
    scope: ClassVar[Literal["media", "case"]] = "case"

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        raise NotImplementedError
