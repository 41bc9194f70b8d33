"""What the firmware imports, a device install (`pip install .`, no test extras) provides."""

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def name(requirement: str) -> str:
    """A requirement's distribution name, normalised ('tflite-runtime==2.14.0; ...' -> 'tflite_runtime')."""
    return re.sub(r"[-_.]+", "_", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def installed_with(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, their own (non-extra) requirements included."""
    todo, seen = [name(r) for r in requirements], set()
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        for r in md.requires(dist) or []:
            if "extra ==" not in r:
                todo.append(name(r))
    return seen


def imported_by_firmware() -> set[str]:
    """Top-level modules outside the standard library that any firmware module imports, anywhere in it."""
    found = set()
    for path in (ROOT / "firmware" / "earmuff").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"earmuff"}


def test_every_module_the_firmware_imports_comes_with_its_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = installed_with(project["dependencies"])
    owners = md.packages_distributions()
    missing = {m: owners.get(m) for m in imported_by_firmware() if not {name(d) for d in owners.get(m, [])} & installed}
    # gpiozero and its pin library come with the `pi` extra, which scripts/install.sh adds on a Raspberry Pi
    missing.pop("gpiozero", None)
    assert not missing, f"imported by firmware/ but not installed by `pip install .`: {missing}"
    assert "scipy" not in installed and "openwakeword" not in installed  # test tools, not the device's
