"""The better model trained in the background after a quick one: its state file (progress, outcome) and when it is due.

`earmuff wakeword set` installs a quick model (one round, no neural voices); the service then runs
`earmuff wakeword refit`, which trains the full recipe and installs it only if it beats the quick model on the
new training's held-back synthetic data. The state file says how far that training is and how it ended, for
`earmuff status`, `earmuff wakeword list` and the service's decision to try again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from earmuff.config import atomic_write
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError, normalise
from earmuff.wakeword.registry import store

STATE = "background.json"
QUICK, FULL = "quick", "full"


def _path(paths: Paths) -> Path:
    return store.root(paths) / STATE


def read(paths: Paths) -> dict:
    """The state file, or {} when there is none or it cannot be read."""
    try:
        return json.loads(_path(paths).read_text())
    except (OSError, ValueError):
        return {}


def write(paths: Paths, **fields) -> None:
    """Merge `fields` into the state file (atomically); errors are the caller's (a full disk ends the training)."""
    atomic_write(_path(paths), (json.dumps({**read(paths), **fields, "updated": time.time()}) + "\n").encode(), 0o640)


def started(paths: Paths, phrase: str, model_created: str) -> None:
    """A better model for `phrase`, whose quick model was created at `model_created`, is being trained."""
    atomic_write(
        _path(paths),
        (
            json.dumps(
                {
                    "phrase": normalise(phrase),
                    "for": model_created,
                    "pid": os.getpid(),
                    "outcome": None,
                    "updated": time.time(),
                }
            )
            + "\n"
        ).encode(),
        0o640,
    )


def progress(paths: Paths, stage: str, done: int, total: int) -> None:
    """Called by the progress bars of a background training: its stage and how far (lost if the disk is full)."""
    try:
        write(paths, stage=stage, done=done, total=total)
    except OSError:
        pass


def finished(paths: Paths, outcome: str) -> None:
    """The training ended: 'installed ...', 'kept the quick model ...' or 'failed ...'."""
    write(paths, outcome=outcome, pid=None)


def quick_model(paths: Paths, phrase: str) -> str | None:
    """The creation time of `phrase`'s installed model if it is a quick one, else None."""
    try:
        meta = store.info(paths, phrase)
    except (WakeWordError, OSError):
        return None
    return meta.get("created") if meta.get("recipe") == QUICK else None


def pending(paths: Paths, phrase: str) -> bool:
    """`phrase` runs on a quick model that no background training has finished with (installed or kept)."""
    created = quick_model(paths, phrase)
    if created is None:
        return False
    s = read(paths)
    done = (
        s.get("phrase") == normalise(phrase)
        and s.get("for") == created
        and str(s.get("outcome", "")).startswith(("installed", "kept"))
    )
    return not done


def describe(paths: Paths, phrase: str) -> str | None:
    """One line on the background training of `phrase`, or None when there is nothing to say."""
    s = read(paths)
    if s.get("phrase") != normalise(phrase):
        return "a better model is waiting to be trained" if pending(paths, phrase) else None
    if s.get("outcome"):
        return f"better model: {s['outcome']}"
    alive = s.get("pid") and _alive(int(s["pid"]))
    if not alive:
        return "better model: the last training stopped before it ended; it starts again when the room is quiet"
    stage, done, total = s.get("stage", "starting"), s.get("done", 0), max(1, s.get("total", 1))
    return f"training a better model: {stage} {100 * done // total} %"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
