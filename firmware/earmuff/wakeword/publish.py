"""Writing a trained model and its sidecar into a new version folder, checking it, then installing it."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from ..detector import WakeWordError
from . import store
from .export import to_onnx
from .train import TrainResult


def publish(result: TrainResult, activate: bool = True) -> Path:
    """Install a trained wake word atomically (and select it); on any failure the previous one stays."""
    name = result.meta["phrase"]
    version = store.new_version(name)
    try:
        to_onnx(result.model, version / store.MODEL, name)
        (version / store.SIDECAR).write_text(json.dumps(result.meta, indent=2) + "\n")
        store.check_model(version / store.MODEL)
        link = store.install(version, name)
        if activate:
            store.activate(name)
        return link
    except OSError as exc:
        store.discard(version)
        why = "the disk is full" if exc.errno == errno.ENOSPC else str(exc)
        raise WakeWordError(
            f"wake word '{name}': could not be saved under {store.root()} ({why}); the previous wake word stays active"
        ) from exc
    except BaseException:
        store.discard(version)
        raise
