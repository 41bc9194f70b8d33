"""Reading and writing audio files as 16 kHz mono float32."""

from __future__ import annotations

import io
import os
import sys
import wave
from pathlib import Path

import numpy as np

from earmuff.audio.dsp import resample_poly
from earmuff.config import SAMPLE_RATE
from earmuff.paths import user_name


def models_dir() -> Path:
    """The repository's models/ (a checkout), else the one scripts/install.sh copies beside the venv."""
    checkout = Path(__file__).resolve().parents[3] / "models"  # firmware/earmuff/audio/files.py
    return checkout if checkout.is_dir() else Path(sys.prefix).parent / "models"


class AudioFileError(ValueError):
    """An audio file is missing or cannot be decoded."""


def read_audio(path: Path | str, max_s: float | None = None) -> np.ndarray:
    """Read wav/flac at any rate, mix to mono, resample to 16 kHz float32; longer than `max_s` is refused unread."""
    import soundfile as sf

    path = Path(path)
    check_readable(path, "audio file", "a wav or flac file")
    try:
        if max_s is not None and (info := sf.info(path)).duration > max_s:
            raise AudioFileError(f"audio file {path}: {info.duration:.1f} s long; expected at most {max_s:g} s")
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"audio file {path}: cannot be decoded ({exc}); expected wav or flac") from exc
    return resample(data.mean(axis=1), rate)


def check_readable(path: Path, what: str, expected: str) -> None:
    """Raise AudioFileError naming `path` unless it is a regular file this process may read."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioFileError(f"{what} {path}: does not exist; expected {expected}") from None
    except OSError as exc:
        raise AudioFileError(
            f"{what} {path}: cannot be reached by user {user_name()} ({exc.strerror}); expected {expected} it may read"
        ) from None
    if stat.S_ISDIR(mode):
        raise AudioFileError(f"{what} {path}: is a folder; expected {expected}")
    if not stat.S_ISREG(mode):
        raise AudioFileError(f"{what} {path}: is not a regular file (a device, pipe or socket); expected {expected}")
    if not os.access(path, os.R_OK):
        raise AudioFileError(
            f"{what} {path}: cannot be read by user {user_name()} (permission denied); expected {expected} it may read"
        )


def resample(x: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """`x` at `rate` Hz resampled to `to` Hz (polyphase, scipy's filter; the ratio is reduced), as float32."""
    return (resample_poly(x, to, rate) if rate != to else x).astype(np.float32)


def wav_bytes(audio: np.ndarray) -> bytes:
    """A 16 kHz 16-bit PCM WAV file's contents, clipping at full scale."""
    import soundfile as sf

    out = io.BytesIO()
    sf.write(out, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return out.getvalue()


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz 16-bit PCM, clipping at full scale."""
    Path(path).write_bytes(wav_bytes(audio))


def _read_pcm16(path: Path) -> np.ndarray | None:
    """A 16 kHz 16-bit PCM WAV with the standard library (the audio process imports no more); None if it is not one."""
    try:
        with wave.open(str(path)) as w:
            if w.getsampwidth() != 2 or w.getframerate() != SAMPLE_RATE:
                return None
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
    except (wave.Error, EOFError):
        return None
    return (x.mean(axis=1) / 32768.0).astype(np.float32)


def trigger_audio(name_or_path: str) -> np.ndarray:
    """The phrase earmuff says into the smart speaker: a built-in name or a WAV file."""
    builtin = models_dir() / "triggers" / f"{name_or_path}.wav"
    path = builtin if builtin.exists() else Path(name_or_path)
    if not path.is_file():
        raise AudioFileError(f"audio file {path}: does not exist")
    audio = _read_pcm16(path)
    return audio if audio is not None else read_audio(path)
