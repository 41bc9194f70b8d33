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

from earmuff.config import atomic_write
from earmuff.wake_name import WakeWordError, normalise
from earmuff.wakeword.registry import store

STATE = "background.json"
QUICK, FULL = "quick", "full"


def _path():
    return store.root() / STATE


def read() -> dict:
    """The state file, or {} when there is none or it cannot be read."""
    try:
        return json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}


def write(**fields) -> None:
    """Merge `fields` into the state file (atomically); errors are the caller's (a full disk ends the training)."""
    atomic_write(_path(), (json.dumps({**read(), **fields, "updated": time.time()}) + "\n").encode(), 0o640)


def started(phrase: str, model_created: str) -> None:
    """A better model for `phrase`, whose quick model was created at `model_created`, is being trained."""
    atomic_write(
        _path(),
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


def progress(stage: str, done: int, total: int) -> None:
    """Called by the progress bars of a background training: its stage and how far (lost if the disk is full)."""
    try:
        write(stage=stage, done=done, total=total)
    except OSError:
        pass


def finished(outcome: str) -> None:
    """The training ended: 'installed ...', 'kept the quick model ...' or 'failed ...'."""
    write(outcome=outcome, pid=None)


def quick_model(phrase: str) -> str | None:
    """The creation time of `phrase`'s installed model if it is a quick one, else None."""
    try:
        meta = store.info(phrase)
    except (WakeWordError, OSError):
        return None
    return meta.get("created") if meta.get("recipe") == QUICK else None


def pending(phrase: str) -> bool:
    """`phrase` runs on a quick model that no background training has finished with (installed or kept)."""
    created = quick_model(phrase)
    if created is None:
        return False
    s = read()
    done = (
        s.get("phrase") == normalise(phrase)
        and s.get("for") == created
        and str(s.get("outcome", "")).startswith(("installed", "kept"))
    )
    return not done


def describe(phrase: str) -> str | None:
    """One line on the background training of `phrase`, or None when there is nothing to say."""
    s = read()
    if s.get("phrase") != normalise(phrase):
        return "a better model is waiting to be trained" if pending(phrase) else None
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
