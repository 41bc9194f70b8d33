"""Reading and writing audio files as 16 kHz mono float32."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .config import SAMPLE_RATE

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


class AudioFileError(ValueError):
    """An audio file is missing or cannot be decoded."""


def read_audio(path: Path | str) -> np.ndarray:
    """Read wav/flac at any rate, mix to mono, resample to 16 kHz float32."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"audio file {path}: does not exist")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"audio file {path}: cannot be decoded ({exc}); expected wav or flac") from exc
    return resample(data.mean(axis=1), rate)


def resample(x: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """`x` at `rate` Hz resampled to `to` Hz (polyphase), as float32."""
    if rate != to:
        g = gcd(rate, to)
        x = resample_poly(x, to // g, rate // g)
    return x.astype(np.float32)


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz 16-bit PCM, clipping at full scale."""
    sf.write(path, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")


def trigger_audio(name_or_path: str) -> np.ndarray:
    """The phrase earmuff says into the smart speaker: a built-in name or a WAV file."""
    builtin = MODELS_DIR / "triggers" / f"{name_or_path}.wav"
    return read_audio(builtin if builtin.exists() else name_or_path)
