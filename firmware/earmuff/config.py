"""Device configuration: frozen dataclasses loaded from TOML with errors that name the key."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_RATE = 16000
FRAME = 1280  # openWakeWord's 80 ms step


class ConfigError(ValueError):
    """A config or scene value is missing, unknown or out of range."""


def _range(lo: float, hi: float) -> dict[str, Any]:
    return {"range": (lo, hi)}


def _choices(*names: str) -> dict[str, Any]:
    return {"choices": names}


@dataclass(frozen=True)
class NoiseConfig:
    """The masking noise played into the smart speaker's microphones."""

    level_dbfs: float = field(default=-20.0, metadata=_range(-60.0, -3.0))
    modulation_depth: float = field(default=0.5, metadata=_range(0.0, 0.9))
    ramp_ms: float = field(default=20.0, metadata=_range(1.0, 200.0))


@dataclass(frozen=True)
class WakeConfig:
    """The owner's wake name and how sure the detector must be."""

    wake_word: str = "hey jarvis"
    threshold: float = field(default=0.5, metadata=_range(0.01, 0.99))
    consecutive_frames: int = field(default=1, metadata=_range(1, 10))
    refractory_s: float = field(default=2.0, metadata=_range(0.0, 30.0))


@dataclass(frozen=True)
class WindowConfig:
    """The pass-through window that opens after the wake name."""

    trigger: str = "alexa"  # alexa | hey_google | ok_google | path to a WAV file
    trigger_level_dbfs: float = field(default=-45.0, metadata=_range(-80.0, -6.0))  # RMS; 65 dB SPL in the cup
    pre_roll_s: float = field(default=0.5, metadata=_range(0.0, 2.0))
    quiet_s: float = field(default=1.5, metadata=_range(0.3, 10.0))
    max_s: float = field(default=20.0, metadata=_range(3.0, 60.0))
    lease_s: float = field(default=0.4, metadata=_range(0.2, 2.0))
    voice_threshold_dbfs: float = field(default=-72.0, metadata=_range(-100.0, -20.0))


@dataclass(frozen=True)
class AudioConfig:
    """Sound devices and the real-time block size."""

    input: str = ""  # device name or index; empty: the system default
    output: str = ""
    block: int = field(default=320, metadata=_range(64, 4096))
    channels: int = field(default=2, metadata=_range(1, 8))
    echo_cancel: str = field(default="fdaf", metadata=_choices("none", "fdaf"))


@dataclass(frozen=True)
class Config:
    """Everything the device reads from config.toml."""

    noise: NoiseConfig = NoiseConfig()
    wake: WakeConfig = WakeConfig()
    window: WindowConfig = WindowConfig()
    audio: AudioConfig = AudioConfig()


def home() -> Path | None:
    """The single state directory given by EARMUFF_HOME, or None for the system locations."""
    value = os.environ.get("EARMUFF_HOME")
    return Path(value) if value else None


def config_path() -> Path:
    """Where config.toml lives."""
    base = home()
    return base / "config.toml" if base else Path("/etc/earmuff/config.toml")


def state_dir() -> Path:
    """Where trained wake words and calibration live."""
    base = home()
    return base if base else Path("/var/lib/earmuff")


def build(cls: type, table: dict[str, Any], where: str) -> Any:
    """Build dataclass `cls` from a TOML table, checking names, types and ranges."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; expected one of {sorted(fields)}")
    values = {}
    for name, value in table.items():
        f = fields[name]
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(f.default):
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table [{name}], got {value!r}")
            values[name] = build(type(f.default), value, key)
            continue
        values[name] = _check(key, value, type(f.default), f.metadata)
    return cls(**values)


def _check(key: str, value: Any, kind: type, meta: Any) -> Any:
    """Return `value` converted to `kind`, or raise ConfigError naming key, value and expectation."""
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
    if kind is str and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ConfigError(f"{key} = {value!r}: expected a {kind.__name__}")
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= value <= hi:
            raise ConfigError(f"{key} = {value!r}: expected a value from {lo} to {hi}")
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r}: expected one of {list(meta['choices'])}")
    return value


def load(path: Path | None = None) -> Config:
    """Load config.toml; a missing file gives the defaults."""
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        table = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return build(Config, table, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
