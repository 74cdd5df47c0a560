"""The ``aima`` command as a user runs it, on the embedded stores."""

from __future__ import annotations

import io
import os
import subprocess
import sys


from aima import __version__
from aima.settings import Settings
from aima.storage import audit, open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.objects import media_key


def aima(*args: str, cwd) -> subprocess.CompletedProcess:
    """``aima ARGS`` with no AIMA_ setting: the data directory is the default one, under
    ``cwd/share`` through XDG_DATA_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMA_")}
    env["XDG_DATA_HOME"] = str(cwd / "share")
    return subprocess.run([sys.executable, "-m", "aima.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def test_help_lists_the_commands(tmp_path):
    result = aima("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("version", "db", "purge"):
        assert command in result.stdout


def test_version(tmp_path):
    assert aima("version", cwd=tmp_path).stdout.strip() == f"aima {__version__}"


def test_db_upgrade_creates_the_embedded_database(tmp_path):
    result = aima("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "revision 0005" in result.stdout
    assert (tmp_path / "share" / "aima" / "aima.db").is_file()


def test_purge_needs_yes_and_then_removes_the_case(tmp_path):
    settings = Settings(data_dir=tmp_path / "share" / "aima")
    with open_stores(settings) as stores:
        case = get_or_create_case(stores.metadata, "cli-case")
        stores.objects.put_stream(media_key(str(case.id), "0" * 64), io.BytesIO(b"x"))

    refused = aima("purge", "cli-case", cwd=tmp_path)
    assert refused.returncode == 2 and "without --yes" in refused.stderr

    done = aima("purge", "cli-case", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "purged case cli-case" in done.stdout and "1 objects" in done.stdout

    again = aima("purge", "cli-case", "--yes", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to purge" in again.stdout

    with open_stores(settings) as stores:
        actions = [e.action for e in audit.events(stores.metadata)]
        assert actions == ["case.purge", "case.purge"]
        assert not list(stores.objects.list())
