"""Where earmuff keeps its files: the system's locations, or one folder given by EARMUFF_HOME."""

from pathlib import Path

import pytest

from earmuff.paths import Paths

pytestmark = pytest.mark.unit


def test_system_locations():
    p = Paths.from_env({})
    assert (p.home, p.config, p.state, p.runtime) == (
        None,
        Path("/etc/earmuff/config.toml"),
        Path("/var/lib/earmuff"),
        Path("/run/earmuff"),
    )
    assert p.last_good == Path("/var/lib/earmuff/config.last-good.toml")


def test_one_folder_and_systemds_runtime_directory(tmp_path):
    p = Paths.from_env({"EARMUFF_HOME": str(tmp_path)})
    assert (p.home, p.config, p.state, p.runtime) == (tmp_path, tmp_path / "config.toml", tmp_path, tmp_path)
    assert Paths.from_env({"EARMUFF_HOME": str(tmp_path), "RUNTIME_DIRECTORY": "/run/a:/run/b"}).runtime == Path(
        "/run/a"
    )


def test_built_once_per_environment(earmuff_home, monkeypatch, tmp_path):
    p = Paths.from_env()
    assert (p.config, p.state, p.runtime) == (earmuff_home / "config.toml", earmuff_home, earmuff_home)
    assert Paths.from_env() is p  # cached: built once from the environment
    monkeypatch.setenv("EARMUFF_HOME", str(tmp_path))
    assert Paths.from_env().home == tmp_path and Paths.from_env().last_good == tmp_path / "config.last-good.toml"
