"""The owner's own takes of the wake word: checks with a clear reason, and where they are kept."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earmuff import config as config_mod
from earmuff.audio.files import read_audio, wav_bytes
from earmuff.config import SAMPLE_RATE
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.store import samples_dir

MAX_FILE_S = 10.0
MIN_SNR_DB = 10.0
MIN_LEVEL_DBFS = -80.0
CLIP_FRACTION = 0.001
EDGE_S = 0.03


class SampleError(WakeWordError):
    """An owner's take cannot be used; the message says why."""


@dataclass(frozen=True)
class TakeCheck:
    """What was measured on one take."""

    speech_s: float
    level_dbfs: float
    snr_db: float
    score: float | None


def _frames_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // 160 * 160
    return 10 * np.log10(np.mean(x[:n].reshape(-1, 160).astype(np.float64) ** 2, axis=1) + 1e-20)


def check_take(x: np.ndarray, where: str, expected_s: float, scorer=None) -> TakeCheck:
    """Raise SampleError naming `where` if a take is too long, quiet, clipped, cut off or unlike the name."""
    if len(x) > MAX_FILE_S * SAMPLE_RATE:
        raise SampleError(
            f"{where}: too long ({len(x) / SAMPLE_RATE:.1f} s); expected one saying of the name, at most {MAX_FILE_S:.0f} s"
        )
    if len(x) < 0.3 * SAMPLE_RATE:
        raise SampleError(
            f"{where}: too short ({len(x) / SAMPLE_RATE:.2f} s); expected the whole name with a little silence around it"
        )
    clipped = float(np.mean(np.abs(x) >= 0.99))
    if clipped > CLIP_FRACTION:
        raise SampleError(f"{where}: clipped ({clipped:.1%} of samples at full scale); expected a quieter recording")
    db = _frames_db(x)
    floor, peak = float(np.percentile(db, 10)), float(db.max())
    speech = db > max(floor + 6.0, peak - 35.0)
    level = float(10 * np.log10(np.mean(10 ** (db[speech] / 10)))) if speech.any() else peak
    if level < MIN_LEVEL_DBFS or peak - floor < MIN_SNR_DB:
        raise SampleError(
            f"{where}: too quiet (speech {level:.0f} dBFS, {peak - floor:.0f} dB above the background); "
            f"expected at least {MIN_SNR_DB:.0f} dB above the background"
        )
    idx = np.flatnonzero(speech)
    edge = int(EDGE_S * 100)
    if idx[0] < edge or idx[-1] >= len(db) - edge:
        side = "start" if idx[0] < edge else "end"
        raise SampleError(
            f"{where}: cut off at the {side} (speech touches the edge); expected silence before and after the name"
        )
    speech_s = (idx[-1] - idx[0] + 1) / 100
    if not 0.4 * expected_s <= speech_s <= 2.5 * expected_s:
        raise SampleError(
            f"{where}: does not sound like the name ({speech_s:.1f} s of sound; the name takes about {expected_s:.1f} s)"
        )
    score = scorer(x) if scorer else None
    if score is not None and score < 0.02:
        raise SampleError(
            f"{where}: does not sound like the name (the current model scores it {score:.3f}; expected a saying of the name)"
        )
    return TakeCheck(speech_s, level, peak - floor, score)


def expected_duration(phrase: str, lang: str) -> float:
    """How long the phrase takes to say at an ordinary rate, from espeak-ng."""
    from earmuff.wakeword.train.synth import Utterance, speak

    return len(speak(Utterance(phrase, "espeak-ng", lang, 160, 50))) / SAMPLE_RATE


def save(paths: Paths, phrase: str, x: np.ndarray) -> Path:
    """Keep an accepted take as a private 16 kHz WAV (temp file, fsync, rename); the newest `recordings_max` stay."""
    folder = samples_dir(paths, phrase)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time_ns()  # names sort oldest first: the retention limit deletes from the front
    path = folder / f"take-{time.strftime('%Y%m%dT%H%M%S', time.localtime(now // 10**9))}-{now % 10**9:09d}.wav"
    config_mod.atomic_write(path, wav_bytes(x), 0o600)  # created private: the recording is never world-readable
    for old in _takes(paths, phrase)[: -config_mod.load(paths.config).wakeword.recordings_max]:
        old.unlink()
    store.fsync(folder)
    return path


def _takes(paths: Paths, phrase: str) -> list[Path]:
    return sorted(samples_dir(paths, phrase).glob("take-*.wav"))


def count(paths: Paths, phrase: str) -> int:
    """How many takes of a wake word are kept."""
    return len(_takes(paths, phrase))


def load_all(paths: Paths, phrase: str) -> list[np.ndarray]:
    """All accepted takes of a wake word."""
    return [read_audio(p) for p in _takes(paths, phrase)]


def forget(paths: Paths, phrase: str) -> int:
    """Delete the owner's takes of a wake word; return how many there were."""
    folder = samples_dir(paths, phrase)
    n = count(paths, phrase)
    if folder.exists():
        shutil.rmtree(folder)  # a failure is an error the CLI reports, never a silent "deleted"
    return n
