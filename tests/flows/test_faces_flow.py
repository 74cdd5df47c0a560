"""Faces through the whole flow: the registry runs faces and link-persons, the report shows them,
and a reviewer's correction made with ``aima persons`` survives a rerun."""

from __future__ import annotations

from typer.testing import CliRunner

from aima.cli import app
from aima.flows.analyze import analyze_media
from tests.vision import facegen

A, B = "astronaut", 1


def test_faces_become_case_persons_and_a_rename_survives_a_rerun(aima_env, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    facegen.write_photo(folder / "both.jpg", [(A, 130, (60, 80)), (B, 120, (400, 160))])
    facegen.write_photo(folder / "a-again.jpg", [(A, 140, (250, 120))], backdrop="rocket",
                        variant=5)
    facegen.write_photo(folder / "b-again.jpg", [(B, 130, (80, 100))], backdrop="chelsea",
                        variant=3)

    result = analyze_media(case="faces", sources=[str(folder)])

    assert {row["status"] for row in result["media"]} == {"done"}
    report = _report(result)
    assert report["summary"]["faces"]["faces"] == 4
    face_persons = [p for p in report["persons"] if p["modalities"] == ["face"]]
    assert len(face_persons) == 2
    assert all(len(p["appearances"]) == 2 for p in face_persons)
    face_evidence = [e for e in report["evidence"] if e["id"].startswith("face:")]
    assert len(face_evidence) == 4
    cited = {ev for p in face_persons for a in p["appearances"] for ev in a["evidence"]}
    assert cited <= {e["id"] for e in face_evidence} and cited

    runner = CliRunner()
    listed = runner.invoke(app, ["persons", "faces"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "Person 1" in listed.output and "Person 2" in listed.output
    renamed = runner.invoke(app, ["persons", "rename", "faces", "person-1", "man in white"])
    assert renamed.exit_code == 0, renamed.output
    refused = runner.invoke(app, ["persons", "merge", "faces", "person-1", "person-9"])
    assert refused.exit_code == 2

    again = analyze_media(case="faces", sources=[str(folder)])

    labels = sorted(p["label"] for p in _report(again)["persons"] if p["modalities"] == ["face"])
    assert labels == ["Person 2", "man in white"]


def _report(result) -> dict:
    import json

    from aima.settings import load_settings
    from aima.storage import open_stores

    with open_stores(load_settings()) as stores, stores.objects.open(result["report_key"]) as f:
        return json.load(f)
