"""aima.speech is plain domain code: it imports no model adapter (aima.models imports it)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import aima.speech

SPEECH_DIR = Path(aima.speech.__file__).parent
MODULES = sorted(f"aima.speech.{m.name}" for m in pkgutil.iter_modules([str(SPEECH_DIR)]))


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_speech_module_imports_a_model_not_even_inside_a_function():
    offenders = {
        path.name: sorted(n for n in _imported(path) if n.split(".")[:2] == ["aima", "models"])
        for path in SPEECH_DIR.glob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_importing_every_speech_module_loads_no_model_module():
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {MODULES!r}]; "
        "print(sorted(m for m in sys.modules if m.startswith('aima.models')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "aima.speech.diarization" in MODULES
