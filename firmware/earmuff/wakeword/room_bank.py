"""The room bank: a bounded store of embedding windows of household speech that led to no command.

Windows are kept as float16 in one .npy file (mode 0600), replaced atomically; the oldest are dropped
first once it is full. They are negatives for the next refit, so the model learns this household.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import config as config_mod
from .features import EMBED_DIM, WINDOW


def path() -> Path:
    """The bank's file."""
    return config_mod.state_dir() / "room-bank.npy"


def load() -> np.ndarray:
    """All windows in the bank (n, 16, 96) float32; empty if there is none."""
    try:
        return np.load(path()).astype(np.float32)
    except FileNotFoundError:
        return np.zeros((0, WINDOW, EMBED_DIM), np.float32)


def add(windows: np.ndarray, limit: int) -> int:
    """Append windows, keep the newest `limit`, write atomically with mode 0600; return the bank's size."""
    if windows.ndim != 3 or windows.shape[1:] != (WINDOW, EMBED_DIM):
        raise ValueError(f"room bank windows of shape {windows.shape}: expected (n, {WINDOW}, {EMBED_DIM})")
    bank = np.concatenate([load(), windows.astype(np.float32)])[-limit:].astype(np.float16)
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, bank)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(bank)


def forget() -> int:
    """Delete the bank; return how many windows it held."""
    n = len(load())
    path().unlink(missing_ok=True)
    return n


class Collector:
    """Gathers near misses from the running detector; keeps those not followed by a command.

    Hook (device.py, after each detector step): collector.observe(features, score, end_sample) where
    features = detector.model.preprocessor.get_features(16); and collector.command(end_sample) when an
    opened window carried speech (a confirmed command). Pending windows older than `confirm_s` that no
    command followed are written to the bank by flush(), which the worker calls when idle.
    """

    def __init__(self, limit: int, min_score: float = 0.1, confirm_s: float = 30.0, sample_rate: int = 16000) -> None:
        self.limit, self.min_score = limit, min_score
        self.confirm = int(confirm_s * sample_rate)
        self.pending: list[tuple[int, np.ndarray]] = []

    def observe(self, window: np.ndarray, score: float, end_sample: int) -> None:
        """Keep a window the model scored at least `min_score`, and one every 2 s of anything else."""
        if score >= self.min_score or (end_sample // 1280) % 25 == 0:
            self.pending.append((end_sample, np.asarray(window, np.float32).reshape(WINDOW, EMBED_DIM)))

    def command(self, end_sample: int) -> None:
        """A command followed a detection: the windows just before it were the real name, not room talk."""
        self.pending = [(t, w) for t, w in self.pending if t < end_sample - self.confirm]

    def flush(self, now_sample: int) -> int:
        """Write windows old enough to be sure no command followed; return how many were written."""
        ready = [w for t, w in self.pending if t < now_sample - self.confirm]
        self.pending = [(t, w) for t, w in self.pending if t >= now_sample - self.confirm]
        if ready:
            add(np.stack(ready), self.limit)
        return len(ready)
