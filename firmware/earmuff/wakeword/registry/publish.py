"""Writing a trained model and its sidecar into a new version folder, checking it, then installing it."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np

from earmuff.paths import Paths
from earmuff.runtime.detector import load_model
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.train import scoring
from earmuff.wakeword.train.classifier import Mlp
from earmuff.wakeword.train.features import EMBED_DIM, WINDOW
from earmuff.wakeword.train.trainer import TrainResult


def publish(paths: Paths, result: TrainResult, activate: bool = True) -> Path:
    """Install a trained wake word atomically, then select it if asked; on any failure the previous one stays.
    Returns the installed folder; a running daemon is not told (`earmuff.service.control.ask_reload`)."""
    name = result.meta["phrase"]
    version = store.new_version(paths, name)
    try:
        to_onnx(result.model, version / store.MODEL, name)
        (version / store.SIDECAR).write_text(json.dumps(result.meta, indent=2) + "\n")
        check_export(version / store.MODEL, result.model)
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


def file_scores(path: Path) -> scoring.Scores:
    """The window scores of a model file (ours, or an openWakeWord model made elsewhere), run as the detector runs it."""
    score = load_model(path)[0]
    return lambda windows: np.array([score(w[None].astype(np.float32)) for w in windows])


def check_export(path: Path, model: Mlp) -> None:
    """Raise WakeWordError unless the written file scores windows as the trained network does.

    As the detector runs it: loading openWakeWord here would import scipy and scikit-learn (80 MB resident) into the
    training process at its end (docs/benchmarks.md, issue 21).
    """
    windows = np.random.default_rng(0).standard_normal((4, WINDOW, EMBED_DIM)).astype(np.float32)
    try:
        got = file_scores(path)(windows)
    except WakeWordError:  # the detector's loader already names the file and why
        raise
    except Exception as exc:  # onnxruntime's own errors while running it
        raise WakeWordError(f"model file {path}: onnxruntime cannot run it ({exc})") from exc
    if not np.allclose(got, model.scores(windows), atol=1e-4):
        raise WakeWordError(f"model file {path}: scores {got} differ from the trained network's")


def _why(exc: OSError) -> str:
    return "the disk is full" if exc.errno == errno.ENOSPC else str(exc)
