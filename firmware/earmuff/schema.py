"""Frozen dataclasses built from TOML tables, with errors that name the key, the value and what was expected."""

from __future__ import annotations

import dataclasses
from typing import Any


class ConfigError(ValueError):
    """A config or scene value is missing, unknown or out of range."""


def _range(lo: float, hi: float) -> dict[str, Any]:
    return {"range": (lo, hi)}


def _choices(*names: str) -> dict[str, Any]:
    return {"choices": names}


def build(cls: type, table: dict[str, Any], where: str) -> Any:
    """Build dataclass `cls` from a TOML table, checking names, types and ranges."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{where or 'top level'}: unknown key '{unknown[0]}'; expected one of {sorted(fields)}")
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
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} = {value!r}: expected a list of names, e.g. {list(meta.get('choices', ()))}")
        bad = [v for v in value if v not in meta.get("choices", value)]
        if bad:
            raise ConfigError(f"{key} = {value!r}: '{bad[0]}' is unknown; expected names from {list(meta['choices'])}")
        return tuple(value)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ConfigError(f"{key} = {value!r}: expected a {kind.__name__}")
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= value <= hi:
            raise ConfigError(f"{key} = {value!r}: expected a value from {lo} to {hi}")
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r}: expected one of {list(meta['choices'])}")
    return value
