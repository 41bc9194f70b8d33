"""Augmentation: room reverberation, levels as earmuff's microphone hears them, noise, and its own jamming residual."""

from __future__ import annotations

import numpy as np

from earmuff.audio.dsp import fast_len, fftconvolve
from earmuff.audio.files import resample
from earmuff.audio.room import Acoustics, Room, active_rms, room_response
from earmuff.config import SAMPLE_RATE, Config

MIC_NOISE_DBFS = -90.0  # 30 dB SPL of microphone self-noise (0 dBFS = 120 dB SPL)


def jamming_residual(cfg: Config, seconds: float, seed: int = 0) -> np.ndarray:
    """What earmuff's detector hears of its own noise after the device's echo path (clock drift undone, then the
    canceller), in an empty virtual room."""
    from earmuff.audio.echo_path import EchoPath
    from earmuff.audio.noise import NoiseGenerator

    block = cfg.audio.block // 160 * 160 or 320
    channels = cfg.audio.channels
    warm = 10 * SAMPLE_RATE  # the drift corrector and the canceller settle first, as on a running device
    n = warm + int(seconds * SAMPLE_RATE) // block * block
    room = Room(Acoustics(), n, channels, latency=2 * block, seed=seed)
    gen = NoiseGenerator(channels, cfg.noise.level_dbfs, cfg.noise.modulation_depth, seed)
    canceller = EchoPath(cfg.audio.echo_cancel, channels)
    out = np.zeros(n, np.float32)
    for n0 in range(0, n - block + 1, block):
        mic = room.device_mic(n0, block)
        played = gen.generate(block)
        out[n0 : n0 + block] = canceller.process(mic, played)
        room.play(n0, played)
    return out[warm:]


def colored_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise with unit RMS."""
    m = fast_len(n)  # an FFT at a length with a large prime factor needs far more memory
    spectrum = np.fft.rfft(rng.standard_normal(m))
    f = np.maximum(np.fft.rfftfreq(m, 1 / SAMPLE_RATE), 20.0)
    spectrum /= f ** (rng.choice([0.0, 0.5, 1.0]))
    x = np.fft.irfft(spectrum, m)[:n]
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def speed(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Play 0.9-1.1 times as fast (pitch moves with it)."""
    up = int(rng.integers(18, 23))
    return resample(x, up, 20)  # read as `up` Hz, played at 20 Hz


def reverberate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Speech from 0.5-3.5 m away in a room with RT60 0.15-0.7 s (the virtual room's own model)."""
    ir = room_response(rng.uniform(0.5, 3.5), rng.uniform(0.15, 0.7), rng)
    ir = ir[np.flatnonzero(ir)[0] :]  # keep the word's timing: drop the propagation delay
    return fftconvolve(x, ir)[: len(x) + SAMPLE_RATE // 4].astype(np.float32)


def place(x: np.ndarray, length: int, end: int) -> np.ndarray:
    """A `length`-sample window with clip `x` ending at sample `end` (cut at the start if it does not fit)."""
    out = np.zeros(length, np.float32)
    start = end - len(x)
    src = x[max(0, -start) :]
    out[max(0, start) : max(0, start) + len(src)] = src[: length - max(0, start)]
    return out


def scene_mix(
    speech: np.ndarray, rng: np.random.Generator, residual: np.ndarray | None, speech_db: tuple[float, float]
) -> np.ndarray:
    """Speech at a random level, on top of the jamming residual or other noise, plus microphone self-noise."""
    level = rng.uniform(*speech_db)
    rms = active_rms(speech)
    x = speech * (10 ** (level / 20) / rms) if rms > 0 else speech.copy()
    n = len(x)
    kind = rng.random()
    if residual is not None and len(residual) > n and kind < 0.6:
        start = int(rng.integers(0, len(residual) - n))
        x = x + residual[start : start + n] * 10 ** (rng.uniform(-6, 4) / 20)
    elif kind < 0.85:
        x = x + colored_noise(n, rng) * 10 ** ((level - rng.uniform(0, 25)) / 20)
    x = x + rng.standard_normal(n) * 10 ** (MIC_NOISE_DBFS / 20)
    return x.astype(np.float32)


def augment(
    clean: np.ndarray,
    length: int,
    end: int,
    rng: np.random.Generator,
    residual: np.ndarray | None,
    speech_db: tuple[float, float] = (-78.0, -30.0),
) -> np.ndarray:
    """One augmented training window: maybe faster or slower, reverberant, placed, at a level, in noise."""
    x = speed(clean, rng) if rng.random() < 0.5 else clean
    if rng.random() < 0.8:
        x = reverberate(x, rng)
        end = min(length, end + int(rng.integers(0, SAMPLE_RATE // 8)))
    return scene_mix(place(x, length, end), rng, residual, speech_db)


def stream(
    clips: list[np.ndarray],
    rng: np.random.Generator,
    residual: np.ndarray | None,
    speech_db: tuple[float, float] = (-78.0, -30.0),
    pause_s: tuple[float, float] = (0.05, 0.8),
) -> np.ndarray:
    """Clips one after another with pauses, each reverberant at its own level, over one background."""
    parts = []
    for clip in clips:
        x = reverberate(clip, rng) if rng.random() < 0.8 else clip
        rms = active_rms(x)
        parts.append(x * (10 ** (rng.uniform(*speech_db) / 20) / rms) if rms > 0 else x)
        parts.append(np.zeros(int(rng.uniform(*pause_s) * SAMPLE_RATE), np.float32))
    speech = np.concatenate(parts) if parts else np.zeros(SAMPLE_RATE, np.float32)
    n = len(speech)
    bg = np.zeros(n, np.float32)
    if residual is not None and len(residual) > 0:
        reps = int(np.ceil(n / len(residual)))
        start = int(rng.integers(0, len(residual)))
        bg = np.tile(np.roll(residual, -start), reps)[:n] * 10 ** (rng.uniform(-6, 4) / 20)
    if rng.random() < 0.5:
        bg = bg + colored_noise(n, rng) * 10 ** (rng.uniform(-85, -60) / 20)
    return (speech + bg + rng.standard_normal(n) * 10 ** (MIC_NOISE_DBFS / 20)).astype(np.float32)
