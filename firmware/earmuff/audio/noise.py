"""Masking noise: white, pink or speech-shaped, optionally modulated at speech rhythm, per-channel, no words.

numpy only (the audio process imports this): each kind is shaped in the frequency domain on overlapping
segments crossfaded with power-complementary sine windows, so the level stays constant across segments.
The shapes are the magnitude responses of Butterworth filters through the bilinear transform.
"""

from __future__ import annotations

import numpy as np

from earmuff.config import SAMPLE_RATE

CONTROL_STEP = 160  # the envelope changes every 10 ms
_CONTROL_RATE = SAMPLE_RATE // CONTROL_STEP
KINDS = ("white", "pink", "speech")  # spectrum shapes; every kind spans the same 120 Hz - 7 kHz band
HOP = 1600  # samples per shaped segment step (100 ms); segments are twice as long
ENV_HOP = 64  # control steps per envelope segment step: fine enough to resolve 3-8 Hz


def _warp(f: np.ndarray | np.float64, rate: float) -> np.ndarray:
    return np.tan(np.pi * np.minimum(f, rate / 2 * 0.999999) / rate)


def _lowpass(f: np.ndarray, order: int, cut: float, rate: float = SAMPLE_RATE) -> np.ndarray:
    return 1 / np.sqrt(1 + (_warp(f, rate) / _warp(np.float64(cut), rate)) ** (2 * order))


def _highpass(f: np.ndarray, order: int, cut: float, rate: float = SAMPLE_RATE) -> np.ndarray:
    ratio = _warp(np.float64(cut), rate) / np.maximum(_warp(f, rate), 1e-12)
    return 1 / np.sqrt(1 + ratio ** (2 * order))


def _bandpass(f: np.ndarray, order: int, lo: float, hi: float, rate: float) -> np.ndarray:
    w, a, b = _warp(f, rate), _warp(np.float64(lo), rate), _warp(np.float64(hi), rate)
    x = (w**2 - a * b) / np.maximum(w * (b - a), 1e-12)
    return 1 / np.sqrt(1 + x ** (2 * order))


def magnitude(kind: str, f: np.ndarray) -> np.ndarray:
    """Magnitude response of noise `kind` (one of KINDS) at frequencies `f` in Hz."""
    band = _highpass(f, 2, 120) * _lowpass(f, 4, 7000)  # a small speaker's useful range
    if kind == "white":
        return band
    if kind == "pink":
        return band / np.sqrt(np.maximum(f, 1.0))  # -3 dB per octave
    if kind == "speech":
        return band * _lowpass(f, 1, 800)  # speech's long-term spectrum falls about 6 dB/octave above 800 Hz
    raise ValueError(f"noise kind {kind!r}: expected one of {list(KINDS)}")


class ShapedNoise:
    """Endless unit-variance noise with a given magnitude response, in any block sizes (same output for any split)."""

    def __init__(self, mag: np.ndarray, hop: int, channels: int, rng: np.random.Generator) -> None:
        self.hop, self.channels, self.rng = hop, channels, rng
        weights = np.full(len(mag), 2.0)
        weights[0] = weights[-1] = 1.0  # DC and Nyquist appear once in the full spectrum
        self.mag = (mag / np.sqrt(np.sum(weights * mag**2) / (2 * hop)))[:, None]
        self.window = np.sin(np.pi * (np.arange(2 * hop) + 0.5) / (2 * hop))[:, None]
        self.tail = np.zeros((hop, channels))
        self.buffer = np.zeros((0, channels))

    def take(self, n: int) -> np.ndarray:
        """The next n samples, shape (n, channels)."""
        parts, have = [self.buffer], len(self.buffer)
        while have < n:
            segment = (
                np.fft.irfft(
                    np.fft.rfft(self.rng.standard_normal((2 * self.hop, self.channels)), axis=0) * self.mag,
                    2 * self.hop,
                    axis=0,
                )
                * self.window
            )
            parts.append(self.tail + segment[: self.hop])
            self.tail = segment[self.hop :]
            have += self.hop
        out = np.concatenate(parts) if len(parts) > 1 else self.buffer
        self.buffer = out[n:]
        return out[:n]


class NoiseGenerator:
    """Generates continuous multichannel masking noise of one kind, block by block, at a set RMS level.

    Every kind is normalised to the same RMS level (equal power); modulation_depth > 0 modulates any kind.
    """

    def __init__(
        self, channels: int, level_dbfs: float, modulation_depth: float, seed: int = 0, kind: str = "speech"
    ) -> None:
        self.channels = channels
        self.depth = modulation_depth
        self.kind = kind
        # Separate streams for the waveform and the envelope: the output is the same for any block split.
        rng, env_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        freqs = np.fft.rfftfreq(2 * HOP, 1 / SAMPLE_RATE)
        self.shaped = ShapedNoise(magnitude(kind, freqs), HOP, channels, rng)
        env_freqs = np.fft.rfftfreq(2 * ENV_HOP, 1 / _CONTROL_RATE)
        self.envelope = ShapedNoise(_bandpass(env_freqs, 2, 3, 8, _CONTROL_RATE), ENV_HOP, channels, env_rng)
        self.last_env = np.ones(channels)
        # Mean power of 1 + d*m with m ~ N(0,1) clipped to +-1 is close to 1 + 0.6 d^2.
        self.scale = 10 ** (level_dbfs / 20) / np.sqrt(1 + 0.6 * modulation_depth**2)

    def generate(self, n: int) -> np.ndarray:
        """Return the next n samples as float32 of shape (n, channels); n is a multiple of 160."""
        if n % CONTROL_STEP:
            raise ValueError(f"noise block of {n} samples: expected a multiple of {CONTROL_STEP}")
        return (self.shaped.take(n) * self._envelope(n // CONTROL_STEP) * self.scale).astype(np.float32)

    def _envelope(self, steps: int) -> np.ndarray:
        """Speech-rhythm gain, interpolated from the 100 Hz control rate to audio rate."""
        env = 1.0 + self.depth * np.clip(self.envelope.take(steps), -1.0, 1.0)
        points = np.vstack([self.last_env, env])
        self.last_env = env[-1]
        frac = (np.arange(steps * CONTROL_STEP) + 1) / CONTROL_STEP
        return np.stack([np.interp(frac, np.arange(steps + 1), points[:, c]) for c in range(self.channels)], 1)
