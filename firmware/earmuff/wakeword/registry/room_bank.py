"""The room bank: embedding windows of the household's own speech, kept to refit the wake word on.

Never audio: only openWakeWord embedding windows (16 x 96, float16), in chunk files of mode 0600 under
Paths.state/room-bank (0700), each written to a temporary name and renamed. Negatives are room talk that
led to no command; positives are the windows that fired just before a command the owner went on to give.
The oldest chunks go first once a kind holds more than its limit, and any older than `room_bank_max_days`.
`earmuff wakeword forget-room` deletes it.
"""

from __future__ import annotations

import io
import queue
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from earmuff import config as config_mod
from earmuff.config import FRAME, SAMPLE_RATE
from earmuff.paths import Paths
from earmuff.wakeword.train.features import EMBED_DIM, WINDOW
from earmuff.wakeword.train.phrase import folder_name

NEGATIVE = "neg"
POSITIVE_LIMIT = 500
SAMPLE_EVERY = 25  # frames: one ordinary window every 2 s, besides every near miss


def folder(paths: Paths) -> Path:
    """The bank's folder."""
    return paths.state / "room-bank"


def _stamp(paths: Paths) -> Path:
    return paths.state / "room-bank-forgotten"


def forgotten_at(paths: Paths) -> float:
    """When the whole bank was last forgotten (epoch s), 0 if never: a training that read it before must not install."""
    try:  # the time written, not the file's mtime: the kernel's coarse clock can date it before time.time()
        return float(_stamp(paths).read_text())
    except (FileNotFoundError, ValueError):
        return 0.0


def _chunks(paths: Paths, kind: str | None) -> list[Path]:
    """The chunk files of one kind, or of all kinds (None)."""
    return sorted(folder(paths).glob(f"{kind or '*'}-*.npy")) if folder(paths).is_dir() else []


def _written_at(chunk: Path) -> float:
    """When a chunk was written (epoch s), from its name; 0 for a name that is not ours (so it expires)."""
    try:
        return int(chunk.stem.rsplit("-", 1)[1]) / 1e9
    except (IndexError, ValueError):
        return 0.0


def expire(paths: Paths, max_days: float, now: float | None = None) -> int:
    """Delete the chunks of every kind written more than `max_days` ago; return how many windows went."""
    cutoff = (time.time() if now is None else now) - max_days * 86400
    gone = 0
    for chunk in _chunks(paths, None):
        if _written_at(chunk) < cutoff:
            try:
                gone += len(np.load(chunk, mmap_mode="r"))
            except (OSError, ValueError):
                pass
            chunk.unlink(missing_ok=True)
    return gone


def _read(paths: Paths, kind: str | None, since: float, mmap: bool) -> list[np.ndarray]:
    parts = []
    for chunk in _chunks(paths, kind):
        try:
            if chunk.stat().st_mtime > since:
                parts.append(np.load(chunk, mmap_mode="r" if mmap else None))
        except (OSError, ValueError):  # deleted meanwhile, or a torn file from a power cut
            continue
    return parts


def load(paths: Paths, kind: str = NEGATIVE, since: float = 0.0) -> np.ndarray:
    """Windows of one kind (n, 16, 96) as stored (float16), oldest first, from chunks written after `since` (epoch s)."""
    parts = _read(paths, kind, since, mmap=True)
    return np.concatenate(parts, dtype=np.float16) if parts else np.zeros((0, WINDOW, EMBED_DIM), np.float16)


def chunks(paths: Paths, kind: str = NEGATIVE) -> tuple[np.ndarray, ...]:
    """Windows of one kind as its chunk files mapped read-only (float16, oldest first): nothing is copied into memory,
    the kernel reads pages as they are used and can drop them again; a chunk deleted meanwhile stays readable."""
    return tuple(_read(paths, kind, 0.0, mmap=True))


def count(paths: Paths, kind: str | None = NEGATIVE, since: float = 0.0) -> int:
    """How many windows of one kind (None: all kinds) were written after `since`, without reading them."""
    return sum(len(p) for p in _read(paths, kind, since, mmap=True))


def add(paths: Paths, windows: np.ndarray, limit: int, kind: str = NEGATIVE) -> int:
    """Write windows as a new chunk, drop the oldest chunks beyond `limit` windows; return the kind's size."""
    if windows.ndim != 3 or windows.shape[1:] != (WINDOW, EMBED_DIM):
        raise ValueError(f"room bank windows of shape {windows.shape}: expected (n, {WINDOW}, {EMBED_DIM})")
    base = folder(paths)
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = io.BytesIO()
    np.save(data, windows.astype(np.float16))
    config_mod.atomic_write(base / f"{kind}-{time.time_ns():020d}.npy", data.getvalue(), 0o600)
    sizes = []
    for chunk in _chunks(paths, kind):
        try:
            sizes.append((chunk, len(np.load(chunk, mmap_mode="r"))))
        except ValueError:  # unreadable: worth nothing, and would be skipped by load() forever
            chunk.unlink(missing_ok=True)
    total = sum(n for _, n in sizes)
    for chunk, n in sizes[:-1]:  # never the chunk just written
        if total <= limit:
            break
        chunk.unlink(missing_ok=True)
        total -= n
    return total


def positive_kind(wake_word: str) -> str:
    """The kind under which the owner's windows of one wake word are kept."""
    return "pos_" + folder_name(wake_word)


def forget(paths: Paths, kind: str | None = None) -> int:
    """Delete the bank, or only the windows of one kind; return how many windows went."""
    if kind is not None:
        n = count(paths, kind)
        for chunk in _chunks(paths, kind):
            chunk.unlink(missing_ok=True)
        return n
    n = count(paths, None)
    config_mod.atomic_write(_stamp(paths), repr(time.time()).encode(), 0o600)
    try:
        if folder(paths).exists():
            shutil.rmtree(folder(paths))
    except OSError as exc:  # never a silent "forgot": say what is still there
        raise OSError(
            f"room bank {folder(paths)}: could not delete {folder(paths) / (exc.filename or '')} ({exc.strerror}); "
            f"what could be deleted is gone, the rest is still there"
        ) from None
    return n


def collector(cfg: config_mod.Config, paths: Paths) -> Collector | None:
    """A collector for the device, or None when the config turns the room bank off."""
    return Collector(paths, positive_kind(cfg.wake.wake_word)) if cfg.wakeword.room_bank else None


class Collector:
    """Sorts what the running detector saw into room talk and the owner's name; the worker thread owns it.

    The worker calls observe() after each detector step, detected() when the wake word opens a window and
    window_closed() when it ends. Windows settle once `settle_s` has passed with no command after them;
    settled ones wait in `ready` (a thread-safe queue) until write(), which the supervisor calls.
    """

    def __init__(self, paths: Paths, positive_kind: str, min_score: float = 0.1, settle_s: float = 30.0) -> None:
        self.paths = paths
        self.positive_kind, self.min_score = positive_kind, min_score
        self.settle = int(settle_s * SAMPLE_RATE)
        self.pending: list[tuple[int, np.ndarray, float]] = []
        self.candidate: tuple[int, np.ndarray] | None = None  # the best window of the last detection
        self.ready: queue.SimpleQueue = queue.SimpleQueue()  # (kind, window)

    def observe(self, score: float, end: int, voice: bool, window: Callable[[], np.ndarray]) -> None:
        """Keep the window ending at sample `end` if it nearly fired, and one every 2 s of other voice."""
        if score >= self.min_score or (voice and (end // FRAME) % SAMPLE_EVERY == 0):
            self.pending.append((end, np.asarray(window(), np.float32).reshape(WINDOW, EMBED_DIM), score))
        self._settle(end)

    def detected(self, end: int) -> None:
        """The wake word fired at `end`: its best window is the name if a command follows."""
        recent = [(s, t, w) for t, w, s in self.pending if t > end - SAMPLE_RATE]
        if recent:
            _, t, w = max(recent, key=lambda r: r[0])
            self.candidate = (t, w)

    def window_closed(self, end: int, command: bool) -> None:
        """A wake-word window ended; with a command in it the detection was the owner, else a false accept."""
        if command and self.candidate is not None:
            t, w = self.candidate
            self.ready.put((self.positive_kind, w))
            # The windows around the name hold parts of it: neither room talk nor clean positives.
            self.pending = [p for p in self.pending if not t - self.settle <= p[0] <= t + SAMPLE_RATE]
        self.candidate = None  # without a command, the windows that fired stay as negatives: the best ones

    def _settle(self, now: int) -> None:
        if self.candidate is not None:
            return  # a wake-word window is open: wait until it is known whether the owner fired it
        keep_from = now - self.settle
        while self.pending and self.pending[0][0] < keep_from:
            self.ready.put((NEGATIVE, self.pending.pop(0)[1]))

    def write(self, limit: int, max_days: float) -> dict[str, int]:
        """Move settled windows into the bank, deleting those older than `max_days` (supervisor thread);
        return how many of each kind were written."""
        expire(self.paths, max_days)
        got: dict[str, list[np.ndarray]] = {NEGATIVE: [], self.positive_kind: []}
        while True:
            try:
                kind, w = self.ready.get_nowait()
            except queue.Empty:
                break
            got[kind].append(w)
        for kind, ws in got.items():
            if ws:
                add(self.paths, np.stack(ws), limit if kind == NEGATIVE else POSITIVE_LIMIT, kind)
        return {k: len(v) for k, v in got.items()}
