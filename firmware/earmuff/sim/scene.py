"""Scene files for the virtual room: who speaks when and where, the acoustics, injected faults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from earmuff.audio.room import Acoustics
from earmuff.config import ConfigError, build
from earmuff.runtime.faults import KINDS, Fault


class SceneError(ConfigError):
    """A scene file is malformed: the message names the file and the key."""


@dataclass(frozen=True)
class Source:
    """One talker: an audio file placed at a time, a distance and a level at 1 m."""

    file: Path
    start_s: float
    distance_m: float
    level_db_spl: float


@dataclass(frozen=True)
class Scene:
    """A whole scene as read from TOML."""

    duration_s: float
    seed: int
    wake_word: str | None
    jam: bool
    acoustics: Acoustics
    sources: tuple[Source, ...]
    faults: tuple[Fault, ...]


# The virtual room holds the whole scene in memory, about 0.85 MB per second of it (docs/virtual-room.md): an
# hour needs about 3 GB and takes about 11 min here.
MAX_DURATION_S = 3600.0
TOP_KEYS = {"duration_s", "seed", "wake_word", "device", "acoustics", "source", "fault"}


def load_scene(path: Path) -> Scene:
    """Read and validate a scene file; every error names the file and the key."""
    try:
        table = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SceneError(f"scene file {path}: does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SceneError(f"scene file {path}: not valid TOML ({exc})") from None
    try:
        return _parse(table, Path(path).parent)
    except ConfigError as exc:
        raise SceneError(f"scene file {path}: {exc}") from None


def _number(table: dict[str, Any], key: str, where: str, lo: float, hi: float, default: float | None = None) -> float:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}{key}: missing; expected a number from {lo} to {hi}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(f"{where}{key} = {value!r}: expected a number from {lo} to {hi}")
    return float(value)


def _only(table: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; expected one of {sorted(allowed)}")
    return table


def _parse(table: dict[str, Any], base: Path) -> Scene:
    _only(table, TOP_KEYS, "scene")
    duration = _number(table, "duration_s", "", 0.5, MAX_DURATION_S)
    seed = table.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed = {seed!r}: expected an integer")
    wake_word = table.get("wake_word")
    if wake_word is not None and (not isinstance(wake_word, str) or not wake_word.strip()):
        raise ConfigError(f"wake_word = {wake_word!r}: expected a wake word's phrase or a model file path")
    if wake_word and wake_word.endswith((".tflite", ".onnx")):
        wake_word = str(base / wake_word)
    device = _only(table.get("device", {}), {"jam"}, "[device]")
    jam = device.get("jam", True)
    if not isinstance(jam, bool):
        raise ConfigError(f"device.jam = {jam!r}: expected true or false")
    acoustics_table = table.get("acoustics", {})
    if not isinstance(acoustics_table, dict):
        raise ConfigError(f"acoustics = {acoustics_table!r}: expected a table [acoustics]")
    acoustics = build(Acoustics, acoustics_table, "acoustics")
    sources = []
    for i, src in enumerate(table.get("source", [])):
        where = f"source[{i}]."
        _only(src, {"file", "start_s", "distance_m", "level_db_spl"}, f"[[source]] #{i}")
        file = src.get("file")
        if not isinstance(file, str):
            raise ConfigError(f"{where}file = {file!r}: expected the path of a wav or flac file")
        if not (base / file).is_file():
            raise ConfigError(f"{where}file = {file!r}: no such file {base / file}")
        sources.append(
            Source(
                file=base / file,
                start_s=_number(src, "start_s", where, 0.0, duration),
                distance_m=_number(src, "distance_m", where, 0.1, 20.0, 1.0),
                level_db_spl=_number(src, "level_db_spl", where, 20.0, 100.0, acoustics.speech_level_db_spl),
            )
        )
    faults = []
    for i, f in enumerate(table.get("fault", [])):
        where = f"fault[{i}]."
        _only(f, {"kind", "at_s", "duration_s"}, f"[[fault]] #{i}")
        if f.get("kind") not in KINDS:
            raise ConfigError(f"{where}kind = {f.get('kind')!r}: expected one of {list(KINDS)}")
        at = _number(f, "at_s", where, 0.0, duration)
        faults.append(Fault(f["kind"], at, _number(f, "duration_s", where, 0.0, 600.0, 1.0)))
    return Scene(duration, seed, wake_word, jam, acoustics, tuple(sources), tuple(faults))
