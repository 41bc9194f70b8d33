"""The house rules CI enforces: ruff (lint and format), mypy, and imports that only point down (import-linter)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lint

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"], ["lint-imports"]],
    ids=["ruff-check", "ruff-format", "mypy", "import-linter"],
)
def test_clean(command):
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]}: not installed in {BIN}; scripts/setup.sh --test installs it"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "firmware"))
    proc = subprocess.run([str(tool), *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
