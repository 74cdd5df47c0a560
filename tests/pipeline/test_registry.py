"""The stage registry: one description of the pipeline that the flow, the CLI and the tests read."""

from __future__ import annotations

import pytest

from aima.stages import Registry, registry
from aima.stages.base import CaseStage, MediaStage, Stage


def test_every_stage_comes_after_what_it_needs():
    order = registry.names()
    assert order[0] == "ingest"
    for stage in registry:
        assert all(order.index(need) < order.index(stage.name) for need in stage.needs), stage


def test_stages_by_media_type():
    assert [s.name for s in registry.media_stages("image")] == ["preprocess", "describe", "faces", "detect-restraints", "ocr"]
    assert [s.name for s in registry.media_stages("video")] == [
        "preprocess", "describe", "faces", "detect-restraints", "ocr", "transcribe",
        "diarize"]
    assert [s.name for s in registry.case_stages()] == ["link-speakers", "link-persons",
                                                        "near-duplicates", "fuse"]
    assert registry.stage_names_for("audio") == {"ingest", "preprocess", "transcribe", "diarize"}
    assert registry.stage_names_for("image") == {"ingest", "preprocess", "describe", "faces",
                                                "detect-restraints", "ocr"}


def test_a_stage_registered_before_what_it_needs_is_refused():
    class Late(MediaStage):
        name = "late"
        needs = ("early",)

    class Early(MediaStage):
        name = "early"

    with pytest.raises(ValueError, match="needs \\['early'\\]"):
        Registry([Late(), Early()])
    with pytest.raises(ValueError, match="two stages named"):
        Registry([Early(), Early()])


def test_an_unknown_stage_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="ingest, preprocess"):
        registry.get("summarise")


def test_every_stage_says_what_it_is():
    for stage in registry:
        assert isinstance(stage, Stage) and stage.description
        assert stage.scope == ("case" if isinstance(stage, CaseStage) else "media")
        assert stage.device in ("cpu", "gpu")


def test_aima_stages_lists_them(capsys):
    from typer.testing import CliRunner

    from aima.cli import app

    result = CliRunner().invoke(app, ["stages"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for stage in registry:
        assert stage.name in result.output
