"""A stage's compute half away from the stores, given only presigned URLs.

A machine rented for a GPU stage holds a :class:`RemoteJob` (and, in a flow run, the Prefect API
address): the stage, the model kind and profile, the parameters and JSON data, a presigned GET URL
per input, a presigned PUT URL per output file and one for the result. It never holds database,
document or vector store credentials. The parent, which holds the stores, builds the job through
:class:`PresignedExecutor`, has it run somewhere (``launch``: a subprocess, a Prefect flow run on a
GPU pool), reads the result back and records it in the stores like a local run.

A case stage's compute half (the narrative: :mod:`aima.stages.fuse`) travels the same way as a
*case job* (:func:`case_job`): its input, the case report, is too large for a flow run's
parameters, so the parent uploads it under the case's ``work/`` prefix and the job carries a
presigned GET URL of it (``data_url``).

On the remote side: ``python -m aima.pipeline.remote JOB.json`` (or ``-`` for standard input).
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, model_validator

from aima.media.errors import BadMedia
from aima.stages.base import CaseStage, ComputeRequest, Computed, MediaStage, Plan, StageContext
from aima.storage.models import MediaItem
from aima.storage.objects import case_prefix

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class RemoteJob(BaseModel):
    """One stage's compute half on one media item (a media job) or on one case (a case job).

    A media job names its item (``media_id``, ``media_type``); a case job names its case
    (``case_id``) instead, and its stage's compute gets the case id as ``media_id`` and
    ``"case"`` as media type. ``data_url``, when set, is a presigned GET URL of a JSON object
    added to ``data`` before the compute: input too large for a flow run's parameters. Both are
    optional, so a media job written before they existed reads the same.
    """

    stage: str
    media_id: str | None = None
    media_type: str | None = None
    case_id: str | None = None
    model_kind: str | None
    model_profile: str
    params: dict[str, Any]
    data: dict[str, Any]
    inputs: dict[str, str]  # name -> presigned GET URL
    outputs: dict[str, str]  # object key relative to the case -> presigned PUT URL
    result_url: str  # presigned PUT URL for the result JSON
    data_url: str | None = None  # presigned GET URL of more JSON data

    @model_validator(mode="after")
    def _names_its_subject(self) -> RemoteJob:
        if not (self.media_id and self.media_type) and not self.case_id:
            raise ValueError(f"a {self.stage} job names a media item (media_id and media_type) "
                             "or a case (case_id)")
        return self

    @property
    def subject(self) -> str:
        """What the job computes for, for people: the media id, or ``case <id>``."""
        return self.media_id or f"case {self.case_id}"


class PresignedExecutor:
    """Runs a stage's compute half through ``launch(job)`` with presigned URLs only."""

    def __init__(self, launch: Callable[[RemoteJob], None], *, expires_s: int = 3600):
        self.launch = launch
        self.expires_s = expires_s

    def compute(self, ctx: StageContext, stage: MediaStage, item: MediaItem, plan: Plan,
                model: Any) -> Computed:
        job, result_key = remote_job(ctx, stage, item, plan, expires_s=self.expires_s)
        self.launch(job)
        return read_result(ctx.stores.objects, stage.name, job.media_id, result_key)


def remote_job(ctx: StageContext, stage: MediaStage, item: MediaItem, plan: Plan, *,
               expires_s: int = 3600) -> tuple[RemoteJob, str]:
    """The job for ``stage`` on ``item`` and the object key its result will be written to.

    Stale outputs of an earlier run are cleared first: a redo starts clean.
    """
    objects, prefix = ctx.stores.objects, case_prefix(str(item.case_id))
    for stale in plan.replaces:
        objects.delete_prefix(prefix + stale)
    result_key = f"{prefix}work/{stage.name}/{item.id}/{uuid.uuid4().hex}.json"
    job = RemoteJob(
        stage=stage.name, media_id=str(item.id), media_type=item.media_type,
        model_kind=stage.model, model_profile=ctx.settings.model_profile,
        params=plan.params, data=plan.data,
        inputs={name: objects.presigned_get_url(key, expires_s)
                for name, key in plan.inputs.items()},
        outputs={relative: objects.presigned_put_url(prefix + relative, expires_s)
                 for relative in plan.outputs},
        result_url=objects.presigned_put_url(result_key, expires_s),
    )
    return job, result_key


@dataclass(frozen=True)
class CaseJob:
    """A case job, the key its result will be written to, and where its files lie."""

    job: RemoteJob
    result_key: str
    work_prefix: str  # its uploaded data and its result: the caller removes it


def case_job(stores, stage: CaseStage, case_id: str, data: dict[str, Any], *,
             expires_s: int = 3600) -> CaseJob:
    """The job for case stage ``stage``'s compute half on ``data`` (what the stage's
    ``prepare`` gave): ``data`` is uploaded under the case's ``work/`` prefix and reaches the job
    as a presigned URL, never as a flow-run parameter."""
    objects = stores.objects
    work = f"{case_prefix(case_id)}work/{stage.name}/case-{uuid.uuid4().hex}/"
    payload = json.dumps(data, ensure_ascii=False).encode()
    objects.put_stream(work + "data.json", io.BytesIO(payload), length=len(payload),
                       content_type="application/json")
    job = RemoteJob(
        stage=stage.name, case_id=str(case_id), model_kind=stage.model,
        model_profile=stores.settings.model_profile, params={}, data={}, inputs={}, outputs={},
        data_url=objects.presigned_get_url(work + "data.json", expires_s),
        result_url=objects.presigned_put_url(work + "result.json", expires_s))
    return CaseJob(job, work + "result.json", work)


def read_result(objects, stage: str, media_id: str, result_key: str) -> Computed:
    """What a remote job wrote to its result URL, read back and removed.

    Raises :class:`BadMedia` for bad media the stage found, and ``RuntimeError`` when the job
    wrote no result or failed for another reason (``failure``).
    """
    try:
        with objects.open(result_key) as stream:
            payload = json.load(stream)
    except KeyError:
        raise RuntimeError(f"the remote {stage} job for {media_id} wrote no result") from None
    objects.delete(result_key)
    if "error" in payload:
        raise BadMedia(payload["error"]["code"], payload["error"]["reason"])
    if "failure" in payload:
        raise RuntimeError(f"the remote {stage} job for {media_id} failed: {payload['failure']}")
    return Computed(result=payload["result"], warnings=payload.get("warnings", []),
                    remote_s=payload.get("seconds"))


def run_job(job: RemoteJob, model: Any = None) -> None:
    """Run ``job`` here: fetch its inputs, compute, upload its files and its result."""
    from aima.stages import registry

    stage = registry.get(job.stage)
    if model is None and job.model_kind:
        model = load_job_model(job.model_kind, job.model_profile)
    started = time.perf_counter()  # the job's own time, inputs and uploads included
    with tempfile.TemporaryDirectory(prefix=f"aima-{job.stage}-") as scratch:
        inputs = {}
        for name, url in job.inputs.items():
            inputs[name] = Path(scratch) / "in" / name
            _download(url, inputs[name])
        workdir = Path(scratch) / "out"
        workdir.mkdir()
        request = ComputeRequest(media_id=job.media_id or job.case_id,
                                 media_type=job.media_type or "case", params=job.params,
                                 data=_job_data(job, Path(scratch)), inputs=inputs,
                                 workdir=workdir)
        try:
            computed = stage.compute(request, model)
        except BadMedia as bad:
            _upload_bytes(job.result_url, json.dumps(
                {"error": {"code": bad.code, "reason": bad.reason}}).encode())
            return
        undeclared = sorted(set(computed.files) - set(job.outputs))
        if undeclared:
            raise RuntimeError(f"stage {job.stage} wrote files it did not declare: {undeclared}")
        for relative, path in computed.files.items():
            _upload_file(job.outputs[relative], path)
        _upload_bytes(job.result_url, json.dumps(
            {"result": computed.result, "warnings": computed.warnings,
             "seconds": round(time.perf_counter() - started, 3)}).encode())


def _job_data(job: RemoteJob, scratch: Path) -> dict[str, Any]:
    """The job's JSON data, with what its ``data_url`` holds."""
    if not job.data_url:
        return job.data
    target = scratch / "data.json"
    _download(job.data_url, target)
    return {**job.data, **json.loads(target.read_text())}


def load_job_model(kind: str, profile: str) -> Any:
    """The ``kind`` model of ``profile`` with this machine's own settings (model cache, HF token
    or the Prefect Secret block): a job carries no secret."""
    from aima.blocks.secrets import hf_token
    from aima.models.factory import load_model
    from aima.settings import Settings

    settings = Settings(model_profile=profile)
    token = hf_token(settings) if settings.model_profile == "gpu" else None
    return load_model(kind, settings, hf_token=token)


def write_failure(job: RemoteJob, reason: str) -> None:
    """Tell the parent that ``job`` failed for good (not bad media: the compute broke)."""
    _upload_bytes(job.result_url, json.dumps({"failure": reason}).encode())


def _download(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("file://"):  # the embedded object store: same machine only
        shutil.copyfile(unquote(urlsplit(url).path), target)
        return
    with httpx.stream("GET", url, timeout=TIMEOUT) as response, open(target, "wb") as out:
        response.raise_for_status()
        for chunk in response.iter_bytes(1024 * 1024):
            out.write(chunk)


def _upload_file(url: str, path: Path) -> None:
    if url.startswith("file://"):
        shutil.copyfile(path, unquote(urlsplit(url).path))
        return
    with open(path, "rb") as stream:
        response = httpx.put(url, content=stream, timeout=TIMEOUT,
                             headers={"Content-Length": str(path.stat().st_size)})
    response.raise_for_status()


def _upload_bytes(url: str, data: bytes) -> None:
    if url.startswith("file://"):
        Path(unquote(urlsplit(url).path)).write_bytes(data)
        return
    httpx.put(url, content=data, timeout=TIMEOUT).raise_for_status()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m aima.pipeline.remote JOB.json  (or - for standard input)")
    text = sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text()
    run_job(RemoteJob.model_validate_json(text))


if __name__ == "__main__":
    main()
