"""Fixtures of every test, the suite markers every test must carry, and tools that fail a test when missing."""

from __future__ import annotations

import shutil

import pytest

import pulselib
from earmuff.paths import Paths

# Every test carries one of these (pyproject.toml describes them): `pytest -m unit` is the day-to-day loop.
SUITES = ("unit", "sim", "realtime", "training", "enclosure", "lint")

# Tools the tests run, and the Debian package that provides each (scripts/setup.sh --test installs them all).
PACKAGES = {
    "pulseaudio": "pulseaudio",
    "parec": "pulseaudio-utils",
    "pactl": "pulseaudio-utils",
    "strace": "strace",
    "systemd-analyze": "systemd",
}


def require(tool: str) -> None:
    """Fail the test (never skip it: CI has every tool) when `tool` is not on PATH."""
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} is not installed: the test needs it (Debian package "
            f"{PACKAGES.get(tool, '? (name it in PACKAGES, tests/conftest.py)')}; "
            "scripts/setup.sh --test installs it)",
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run when a test has none, or more than one, of the SUITES markers (before `-m` deselects any)."""
    wrong: dict[str, list[str]] = {}
    for item in items:
        suites = {mark.name for mark in item.iter_markers() if mark.name in SUITES}
        if len(suites) != 1:
            wrong.setdefault(item.location[0], []).append(f"{item.name} ({', '.join(sorted(suites)) or 'none'})")
    if wrong:
        lines = [f"  {module}: {', '.join(names)}" for module, names in sorted(wrong.items())]
        raise pytest.UsageError(
            f"every test needs exactly one suite marker of {', '.join(SUITES)} "
            "(`pytestmark = pytest.mark.unit` in the module, or `@pytest.mark.unit` on each test); these have not:\n"
            + "\n".join(lines)
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `tools("x", ...)` fails before its fixtures run when x is missing."""
    for mark in item.iter_markers("tools"):
        for tool in mark.args:
            require(tool)


@pytest.fixture(autouse=True)
def earmuff_home(tmp_path, monkeypatch):
    """Every test gets its own empty EARMUFF_HOME, so no system config leaks in."""
    home = tmp_path / "earmuff-home"
    home.mkdir()
    monkeypatch.setenv("EARMUFF_HOME", str(home))
    return home


@pytest.fixture
def paths(earmuff_home):
    """The test's Paths, built from its environment: everything under its EARMUFF_HOME."""
    return Paths.from_env()


@pytest.fixture
def pulse(tmp_path):
    """A private PulseAudio daemon whose null sink 'jam' plays back into its monitor source, in real time."""
    for tool in ("pulseaudio", "parec", "pactl"):
        require(tool)
    daemon, env = pulselib.start(tmp_path / "pulse")
    yield env
    pulselib.stop(daemon)
