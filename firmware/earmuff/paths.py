"""Where earmuff keeps its files: one frozen Paths, built from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The files and folders of one earmuff: the system's, or all under one development folder."""

    home: Path | None  # the single folder that holds everything, or None for the system locations
    config: Path  # config.toml
    state: Path  # trained wake words, calibration, the owner's recordings
    runtime: Path  # where the running processes meet: sockets, locks, shared memory

    @property
    def last_good(self) -> Path:
        """The copy of the last config.toml that loaded, used when the file later goes bad."""
        return self.state / "config.last-good.toml"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Paths:
        """From the environment: everything in one folder if it names one; systemd's runtime folder if given."""
        return _build(env.get("EARMUFF_HOME") or "", env.get("RUNTIME_DIRECTORY") or "")


@lru_cache(maxsize=4)
def _build(home: str, runtime: str) -> Paths:
    """One Paths per environment: built once, again only when the environment changes (tests change it)."""
    base = Path(home) if home else None
    return Paths(
        home=base,
        config=base / "config.toml" if base else Path("/etc/earmuff/config.toml"),
        state=base or Path("/var/lib/earmuff"),
        runtime=Path(runtime.split(":")[0]) if runtime else base or Path("/run/earmuff"),
    )


def user_name() -> str:
    """This process's user, for messages about files it may not read or write."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
