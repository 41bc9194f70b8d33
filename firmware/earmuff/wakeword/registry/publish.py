"""Writing a trained model and its sidecar into a new version folder, checking it, then installing it."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.train.trainer import TrainResult


def publish(paths: Paths, result: TrainResult, activate: bool = True) -> Path:
    """Install a trained wake word atomically, then select it if asked; on any failure the previous one stays.
    Returns the installed folder; a running daemon is not told (`earmuff.service.control.ask_reload`)."""
    name = result.meta["phrase"]
    version = store.new_version(paths, name)
    try:
        to_onnx(result.model, version / store.MODEL, name)
        (version / store.SIDECAR).write_text(json.dumps(result.meta, indent=2) + "\n")
        store.check_model(version / store.MODEL)
        link = store.install(paths, version, name)
    except OSError as exc:
        store.discard(version)
        raise WakeWordError(
            f"wake word '{name}': could not be saved under {store.root(paths)} ({_why(exc)}); "
            "the previous wake word stays active"
        ) from exc
    except BaseException:
        store.discard(version)
        raise
    if not activate:
        return link
    try:  # installed: from here on a failure keeps the new model and leaves config.toml as it was
        store.activate(paths, name)
        return link
    except OSError as exc:
        raise WakeWordError(
            f"wake word '{name}': installed, but config.toml could not be updated ({_why(exc)}); "
            f'the previous wake word stays active; `earmuff wakeword use "{name}"` later'
        ) from exc


def _why(exc: OSError) -> str:
    return "the disk is full" if exc.errno == errno.ENOSPC else str(exc)
