"""Real people's speech every wake name is trained against and checked on: embedding frames shipped in models/.

Synthetic talk held back from a training run is a few minutes long and says nothing a real person would: a
threshold picked on it alone let "computer" fire 3-57 times an hour on real talk (docs/benchmarks.md). The bank
holds about 3 h of recorded prompts by five speakers in five languages (Debian's asterisk-core-sounds, made
into frames by scripts/make_speech_bank.py, in the virtual room with the jamming residual). Its streams are
split in two: one half gives the classifier's second fit its hardest negatives, the other half is held back
and decides the threshold with the training's own held-back streams.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from earmuff.audio.files import models_dir
from earmuff.config import SAMPLE_RATE, Config, atomic_write
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.train import augment, features


class SpeechBankError(WakeWordError):
    """The shipped speech bank is missing or unreadable."""


class Streams(Sequence[np.ndarray]):
    """Streams of embedding frames kept at 8 bits (a training holds them throughout), each read as float16;
    `first` are streams of float frames that come before them."""

    def __init__(self, q: list[np.ndarray], lo: np.ndarray, scale: np.ndarray, first: Sequence[np.ndarray] = ()):
        self._q, self._lo, self._scale, self._first = q, lo, scale, list(first)

    def __len__(self) -> int:
        return len(self._first) + len(self._q)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[np.ndarray]: ...
    def __getitem__(self, i: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        if i < len(self._first):
            return self._first[i]
        return (self._q[i - len(self._first)] * self._scale + self._lo).astype(np.float16)

    def after(self, first: Sequence[np.ndarray]) -> Streams:
        """These streams with `first` before them."""
        return Streams(self._q, self._lo, self._scale, first)


@dataclass(frozen=True)
class SpeechBank:
    """Streams of embedding frames: `fit` for hard negatives, `held` (`held_hours` long) for the threshold."""

    fit: Streams
    held: Streams
    held_hours: float


NONE = SpeechBank(Streams([], np.zeros(0), np.ones(0)), Streams([], np.zeros(0), np.ones(0)), 0.0)


def default_path() -> Path:
    """The bank scripts/make_speech_bank.py writes and scripts/install.sh copies with models/."""
    return models_dir() / "speech_bank.npz"


def build(clips: list[np.ndarray], cfg: Config, seed: int = 0, per_stream: int = 16) -> list[np.ndarray]:
    """Embedding frames of the clips said one after another in the jammed virtual room, `per_stream` a stream."""
    rng = np.random.default_rng(seed)
    residual = augment.jamming_residual(cfg, 30.0, seed=seed)
    order = rng.permutation(len(clips))
    streams = []
    for k in range(0, len(order), per_stream):
        audio = augment.stream([clips[i] for i in order[k : k + per_stream]], rng, residual, pause_s=(0.1, 1.6))
        streams.append(features.embed(audio).astype(np.float16))
    return streams


def save(path: Path, streams: list[np.ndarray]) -> None:
    """Frames as 8 bits per value, scaled per dimension (0.1 rms error on values of spread 16), written atomically."""
    allf = np.concatenate(streams).astype(np.float32)
    lo, hi = allf.min(axis=0), allf.max(axis=0)
    scale = np.maximum(hi - lo, 1e-6) / 255
    q = {f"s{i:04d}": np.round((s.astype(np.float32) - lo) / scale).astype(np.uint8) for i, s in enumerate(streams)}
    buf = io.BytesIO()
    np.savez_compressed(buf, lo=lo, scale=scale, **q)
    atomic_write(path, buf.getvalue())


def load(path: Path) -> SpeechBank:
    """The bank at `path`, split into its fitting and its held-back halves (alternate streams)."""
    try:
        with np.load(path) as z:
            lo, scale = z["lo"], z["scale"]
            q = [z[k] for k in sorted(z.files) if k[1:].isdigit()]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise SpeechBankError(
            f"speech bank {path}: cannot be read ({e}); expected the file scripts/make_speech_bank.py writes, "
            "shipped in models/ (reinstall with scripts/install.sh, or set speech_bank = false in [wakeword])"
        ) from e
    if not q or any(s.ndim != 2 or s.shape[1] != features.EMBED_DIM for s in q) or lo.shape != (features.EMBED_DIM,):
        raise SpeechBankError(f"speech bank {path}: no streams of {features.EMBED_DIM}-value embedding frames in it")
    hours = sum(len(s) for s in q[1::2]) * features.HOP / SAMPLE_RATE / 3600
    return SpeechBank(Streams(q[0::2], lo, scale), Streams(q[1::2], lo, scale), hours)
