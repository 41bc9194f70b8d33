"""A training in a child process of the command: if the kernel ends it for memory, the command lives on to say so."""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from earmuff.wake_name import WakeWordError
from earmuff.wakeword.train import heap

PR_SET_PDEATHSIG = 1


class OutOfMemory(WakeWordError):
    """The training ran out of memory (the kernel killed it, or Python could not allocate)."""


def offer_to_oom_killer() -> None:
    """If memory runs out, the kernel should end this training, never the daemon that plays the noise."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


def one_blas_thread() -> None:
    """numpy's matrix products on the calling thread alone: a training's are small, and BLAS's own threads spin while
    they wait, which doubled the fit's CPU time on a busy machine and takes it from the service (docs/benchmarks.md).
    Called before the fork: in a forked child, OpenBLAS would start a thread to apply it."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def run(fn: Callable[..., object], *args, **kw) -> object:
    """`fn(*args, **kw)` in a forked child: its result or its exception; OutOfMemory if it was killed (SIGKILL).
    From here on this process, too, runs BLAS on one thread (`one_blas_thread`)."""
    parent = os.getpid()
    one_blas_thread()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(r)
            _die_with(parent)
            offer_to_oom_killer()
            heap.map_large_arrays()
            try:
                out, code = ("ok", fn(*args, **kw)), 0
            except MemoryError as exc:  # numpy's own subclass does not pickle
                out = ("error", MemoryError(str(exc)))
            except BaseException as exc:
                out = ("error", exc)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not lose the outcome
            try:
                data = pickle.dumps(out)
            except Exception:
                data = pickle.dumps(("error", RuntimeError(f"{type(out[1]).__name__}: {out[1]}")))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            for stream in (sys.stdout, sys.stderr):  # os._exit flushes nothing: what the training printed must show
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:  # Ctrl-C or an error here: the child stops too, before this command ends
        os.kill(pid, signal.SIGINT)
        os.waitpid(pid, 0)
        raise
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if sig == signal.SIGKILL:
            raise OutOfMemory("the kernel ended it (SIGKILL), almost certainly because memory ran out")
        raise RuntimeError(f"the training process ended without a result (status {status})")
    kind, value = pickle.loads(data)
    if kind == "error":
        if isinstance(value, MemoryError):
            raise OutOfMemory(f"it could not allocate memory ({value or 'MemoryError'})") from value
        raise value
    return value


def _die_with(parent: int) -> None:
    """The child ends when the command does (SIGTERM from the daemon, a kill): no training left behind."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)
