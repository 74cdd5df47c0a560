"""``aima hashsets import|list|remove`` as a user runs them (the sub-app mounted like aima's)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from aima.hashsets.cli import hashsets_app
from aima.storage import audit
from aima.storage.database import Database
from tests.hashsets.samples import nsrl_list, text_list, vic_cases

app = typer.Typer()
app.add_typer(hashsets_app, name="hashsets")
runner = CliRunner()


def aima(*args: str, data_dir):
    return runner.invoke(app, ["hashsets", *map(str, args)],
                         env={"AIMA_DATA_DIR": str(data_dir), "AIMA_ACTOR": "analyst-7",
                              "COLUMNS": "200"})


def test_import_list_remove(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    data = tmp_path / "data"

    imported = aima("import", "nsrl-test", nsrl_list(tmp_path / "NSRLFile.txt"),
                    "--category", "known-benign", data_dir=data)
    vic = aima("import", "vic-cat1", vic_cases(tmp_path / "case.json", categories=(1, 0, 2)),
               "--category", "known-relevant", "--format", "vic", "--vic-category", "1",
               data_dir=data)
    listed = aima("list", data_dir=data)

    assert imported.exit_code == 0, imported.output
    assert imported.stdout.strip() == ("imported hash set nsrl-test (known-benign): 6 hashes from "
                                       "NSRLFile.txt (nsrl)")
    assert vic.exit_code == 0 and "2 hashes from case.json (vic)" in vic.stdout
    lines = listed.stdout.splitlines()
    assert "2 hash sets" in lines[0]
    rows = {cells[0]: cells for cells in (
        [cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line)}
    assert rows["nsrl-test"][:3] == ["nsrl-test", "known-benign", "6"]
    assert rows["nsrl-test"][4:] == ["analyst-7", "NSRLFile.txt", "nsrl"]
    assert rows["vic-cat1"][:3] == ["vic-cat1", "known-relevant", "2"]

    removed = aima("remove", "nsrl-test", data_dir=data)

    assert removed.exit_code == 0 and "removed hash set nsrl-test (6 hashes)" in removed.stdout
    listed = aima("list", data_dir=data)
    assert "1 hash sets" in listed.stdout and "nsrl-test" not in listed.stdout
    database = Database(f"sqlite:///{data / 'aima.db'}")
    try:
        assert [(e.action, e.actor) for e in audit.events(database)] == [
            ("hashset.import", "analyst-7"), ("hashset.import", "analyst-7"),
            ("hashset.remove", "analyst-7")]
    finally:
        database.dispose()


def test_errors_are_one_line_and_import_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    bad = text_list(tmp_path / "bad.txt")
    bad.write_text(bad.read_text() + "not-a-hash\n")

    failed = aima("import", "bad", bad, "--category", "known-benign", data_dir=data)
    missing = aima("remove", "nothing", data_dir=data)
    unknown = aima("import", "x", bad, "--category", "known-benign", "--format", "xml",
                   data_dir=data)

    assert failed.exit_code == 2
    assert failed.stderr.strip() == ("error: line 7: 'not-a-hash' is not a sha256, sha1, md5 or "
                                     "phash hash")
    assert "0 hash sets" in aima("list", data_dir=data).stdout
    assert missing.exit_code == 2 and "no hash set named 'nothing'" in missing.stderr
    assert unknown.exit_code == 2 and "unknown format 'xml'" in unknown.stderr


def test_import_with_algorithm_phash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    pictures = tmp_path / "pictures.txt"
    pictures.write_text("d5c53a3ac5c52a3a\nf0e0d0c0b0a09080  b.jpg\n")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("d5c53a3ac5c52a3a\n" + "ab" * 16 + "\n")

    imported = aima("import", "seen", pictures, "--category", "known-relevant", "--algorithm",
                    "phash", data_dir=data)
    refused = aima("import", "wrong", wrong, "--category", "known-relevant", "--algorithm",
                   "phash", data_dir=data)

    assert imported.exit_code == 0, imported.output
    assert "2 hashes from pictures.txt (text)" in imported.stdout
    assert refused.exit_code == 2
    assert refused.stderr.strip() == f"error: line 2: '{'ab' * 16}' is not a phash hash"
    assert "wrong" not in aima("list", data_dir=data).stdout
