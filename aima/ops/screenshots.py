"""Screenshots of the Prefect UI with headless Chromium: what a user sees of AIMA in Prefect.

Three pages, found through the Prefect API:

- ``deployment-run-form.png``: the deployment's custom run form, every parameter with the
  description that comes from the flow's docstring;
- ``flow-run-artifacts.png``: a finished flow run of that deployment on its Artifacts tab;
- ``summary-artifact.png``: that run's first markdown artifact (AIMA's case summary).

The UI is a single-page app that loads its data from the API after the page itself: Chromium's
``--virtual-time-budget`` lets it finish those requests before the picture is taken, with no
browser automation library. Used by ``scripts/prefect-ui-screenshots`` and its test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx

from aima.errors import AimaError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEFAULT_DEPLOYMENT = "analyze-media/default"


class ScreenshotError(AimaError):
    """A page cannot be found or photographed; the message says what is missing."""


@dataclass(frozen=True)
class Page:
    """One UI page to photograph: its file name, its route in the UI and the window size."""

    name: str
    route: str
    width: int = 1400
    height: int = 1000


@dataclass(frozen=True)
class Screenshots:
    """What was photographed: the files and the API objects they show."""

    files: list[Path]
    deployment_id: UUID
    flow_run_id: UUID
    artifact_ids: list[UUID]


def take_screenshots(api_url: str, out_dir: Path, *, deployment: str = DEFAULT_DEPLOYMENT,
                     flow_run_id: UUID | None = None, chromium: str | None = None) -> Screenshots:
    """Photograph the run form of ``deployment`` (``flow/name``) and a finished run of it (the
    latest Completed one unless ``flow_run_id`` is given) into ``out_dir``."""
    from prefect.client.orchestration import SyncPrefectClient

    browser = chromium or find_chromium()
    api_url = api_url.rstrip("/")
    ui_url = ui_base_url(api_url)
    with SyncPrefectClient(api_url) as client:
        the_deployment = _read_deployment(client, deployment)
        run = (client.read_flow_run(flow_run_id) if flow_run_id
               else latest_completed_run(client, the_deployment.id, deployment))
        artifacts = run_artifacts(client, run.id)
    if not artifacts:
        raise ScreenshotError(f"flow run {run.name} ({run.id}) has no artifacts to show")
    summary = next((a for a in artifacts if a.type == "markdown"), artifacts[0])
    pages = [
        Page("deployment-run-form", f"/deployments/deployment/{the_deployment.id}/run",
             height=_form_height(the_deployment.parameter_openapi_schema)),
        Page("flow-run-artifacts", f"/runs/flow-run/{run.id}?tab=Artifacts"),
        Page("summary-artifact", f"/artifacts/artifact/{summary.id}"),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [capture(f"{ui_url}{page.route}", out_dir / f"{page.name}.png",
                     size=(page.width, page.height), chromium=browser) for page in pages]
    return Screenshots(files, the_deployment.id, run.id, [a.id for a in artifacts])


def capture(url: str, out: Path, *, size: tuple[int, int], chromium: str,
            budget_ms: int = 15000, timeout_s: float = 120) -> Path:
    """One headless-Chromium screenshot of ``url`` at ``size`` (width, height) into ``out``."""
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="aima-chromium-") as profile:
        argv = [chromium, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--mute-audio", f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ScreenshotError(f"Chromium took longer than {timeout_s:.0f} s on {url}") from None
    if not out.is_file() or out.stat().st_size == 0:
        tail = "\n".join(result.stderr.splitlines()[-10:])
        raise ScreenshotError(f"Chromium wrote no screenshot of {url} (exit {result.returncode}):"
                              f"\n{tail}")
    return out


def _form_height(schema: dict | None) -> int:
    """Tall enough for every parameter of the form (about 140 px each) and its buttons."""
    parameters = (schema or {}).get("properties") or {}
    return max(1000, 400 + 140 * len(parameters))


def find_chromium() -> str:
    """The Chromium (or Chrome) executable on PATH."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ScreenshotError("no Chromium found on PATH: install it (Debian: apt-get install "
                          "chromium) or name it with --chromium")


def ui_base_url(api_url: str) -> str:
    """The address of the UI that the server opens by default (``/v2`` in Prefect 3.8)."""
    root = api_url.removesuffix("/api")
    try:
        settings = httpx.get(f"{root}/ui-settings", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ScreenshotError(f"no Prefect UI answers at {root} ({exc}): is the server up and "
                              "PREFECT_API_URL right?") from None
    base = settings.get(f"{settings.get('default_ui', 'v1')}_base_url") or "/"
    return root + base.rstrip("/")


def latest_completed_run(client, deployment_id: UUID, deployment: str):
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.COMPLETED]))),
        sort=FlowRunSort.END_TIME_DESC, limit=1)
    if not runs:
        raise ScreenshotError(f"no Completed run of {deployment} yet: run it first (prefect "
                              f"deployment run '{deployment}' --param ... --watch) or name a run "
                              "with --flow-run")
    return runs[0]


def run_artifacts(client, flow_run_id: UUID) -> list:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.client.schemas.sorting import ArtifactSort

    return client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
        sort=ArtifactSort.CREATED_DESC)


def _read_deployment(client, name: str):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise ScreenshotError(f"no deployment {name} on the server: register it (aima serve, or "
                              "prefect deploy --all) or name another with --deployment") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prefect-ui-screenshots",
        description="Screenshots of the Prefect UI: a deployment's run form and a finished run "
        "with its artifacts (headless Chromium).")
    parser.add_argument("--api-url", default=os.environ.get("PREFECT_API_URL"),
                        help="Prefect API, e.g. http://127.0.0.1:4200/api (default: "
                        "PREFECT_API_URL)")
    parser.add_argument("--deployment", default=DEFAULT_DEPLOYMENT,
                        help="FLOW/DEPLOYMENT whose run form to show (default "
                        f"{DEFAULT_DEPLOYMENT})")
    parser.add_argument("--flow-run", type=UUID, default=None,
                        help="Flow run id to show (default: the deployment's latest Completed run)")
    parser.add_argument("--out", type=Path, default=Path("prefect-ui-screenshots"),
                        help="Folder for the PNG files (default ./prefect-ui-screenshots)")
    parser.add_argument("--chromium", default=None, help="Chromium executable (default: on PATH)")
    args = parser.parse_args(argv)
    if not args.api_url:
        parser.error("name the Prefect API with --api-url or PREFECT_API_URL")
    try:
        shots = take_screenshots(args.api_url, args.out, deployment=args.deployment,
                                 flow_run_id=args.flow_run, chromium=args.chromium)
    except AimaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in shots.files:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
