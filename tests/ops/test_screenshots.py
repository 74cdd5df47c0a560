"""scripts/prefect-ui-screenshots: headless-Chromium pictures of the Prefect UI showing a finished
analyze-media run with its artifacts and the deployment's run form with every parameter's
description. The pictures are checked three ways: valid, not blank PNG files; the API holds what
they should show; and their text, read back with tesseract, is that."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.ops.serving import ROOT, serve_env

PREFECT = str(Path(sys.executable).parent / "prefect")
PICTURES = ["deployment-run-form.png", "flow-run-artifacts.png", "summary-artifact.png"]


def test_screenshots_show_a_finished_run_with_artifacts_and_the_run_form(served, tmp_path):
    env = {**serve_env(served.dir), "PREFECT_API_URL": served.api_url}
    photo = ROOT / "samples" / "harbour" / "dock-photo.jpg"
    run = subprocess.run(
        [PREFECT, "deployment", "run", "analyze-media/default", "--param", "case=screenshots",
         "--param", f'sources=["{photo}"]', "--watch", "--watch-timeout", "240"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "Completed" in run.stdout, run.stdout[-3000:] + run.stderr

    shots = subprocess.run([str(ROOT / "scripts" / "prefect-ui-screenshots"), "--out",
                            str(tmp_path / "shots")],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert shots.returncode == 0, shots.stderr
    files = [Path(line) for line in shots.stdout.split()]
    assert [path.name for path in files] == PICTURES
    for path in files:
        _assert_a_picture_with_content(path)

    with served.client() as client:
        deployment = client.read_deployment_by_name("analyze-media/default")
        [flow_run] = [r for r in client.read_flow_runs() if r.parameters["case"] == "screenshots"]
        artifacts = [a for a in client.read_artifacts() if a.flow_run_id == flow_run.id]
    assert flow_run.state.is_completed() and flow_run.deployment_id == deployment.id
    assert {a.type for a in artifacts} >= {"markdown", "table"}
    parameters = deployment.parameter_openapi_schema["properties"]
    assert {"case", "sources"} <= set(parameters)
    undescribed = [name for name, schema in parameters.items() if not schema.get("description")]
    assert undescribed == []

    form, run_page, summary = (_words(_read(path)) for path in files)
    for name, schema in parameters.items():
        assert _share(_words(schema["description"]), form) >= 0.7, (name, sorted(form))
    keys = _words(" ".join(a.key for a in artifacts))  # aima-summary-screenshots, ...
    assert {"completed", "artifacts"} <= run_page, sorted(run_page)
    assert _share(keys, run_page) >= 0.7, sorted(run_page)
    assert {"case", "screenshots", "files"} <= summary, sorted(summary)


def _assert_a_picture_with_content(path: Path) -> None:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 1400 and image.height >= 1000
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
        commonest = max(count for count, _ in colours)
        assert len(colours) > 100, path.name
        assert commonest < 0.85 * image.width * image.height, path.name  # not one flat page


def _read(path: Path) -> str:
    result = subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{4,}", text.lower()))


def _share(expected: set[str], seen: set[str]) -> float:
    return len(expected & seen) / len(expected) if expected else 1.0
