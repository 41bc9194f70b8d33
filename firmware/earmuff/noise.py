"""Masking noise: white, pink or speech-shaped, optionally modulated at speech rhythm, per-channel, no words."""

from __future__ import annotations

import numpy as np
from scipy import signal

from .config import SAMPLE_RATE

CONTROL_STEP = 160  # the envelope changes every 10 ms
_CONTROL_RATE = SAMPLE_RATE // CONTROL_STEP
KINDS = ("white", "pink", "speech")  # spectrum shapes; every kind spans the same 120 Hz - 7 kHz band

# 1/f (-3 dB/octave) filter, within about 0.5 dB of the ideal slope over three decades below Nyquist (J. O. Smith).
_PINK_B = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
_PINK_A = [1.0, -2.494956002, 2.017265875, -0.522189400]


def _band() -> tuple[np.ndarray, np.ndarray]:
    """The band every kind shares: above 120 Hz and below 7 kHz (a small speaker's useful range)."""
    highpass = signal.butter(2, 120, "highpass", fs=SAMPLE_RATE, output="sos")
    top = signal.butter(4, 7000, "lowpass", fs=SAMPLE_RATE, output="sos")
    return highpass, top


def _speech_shape() -> np.ndarray:
    """Second-order sections giving roughly the long-term average speech spectrum."""
    highpass, top = _band()
    # A first-order roll-off above 800 Hz approximates the -6 dB/octave slope of speech.
    tilt = signal.butter(1, 800, "lowpass", fs=SAMPLE_RATE, output="sos")
    return np.vstack([highpass, tilt, top])


def shape(kind: str) -> np.ndarray:
    """Second-order sections of the spectrum of noise `kind` (one of KINDS)."""
    if kind == "speech":
        return _speech_shape()
    highpass, top = _band()
    if kind == "white":
        return np.vstack([highpass, top])
    if kind == "pink":
        return np.vstack([highpass, signal.tf2sos(_PINK_B, _PINK_A), top])
    raise ValueError(f"noise kind {kind!r}: expected one of {list(KINDS)}")


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
        self.rng, self.env_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.sos = shape(kind)
        self.zi = np.zeros((self.sos.shape[0], 2, channels))
        impulse = signal.sosfilt(self.sos, np.r_[1.0, np.zeros(SAMPLE_RATE - 1)])
        self.shape_gain = 1.0 / np.sqrt(np.sum(impulse**2))
        self.env_sos = signal.butter(2, [3, 8], "bandpass", fs=_CONTROL_RATE, output="sos")
        env_impulse = signal.sosfilt(self.env_sos, np.r_[1.0, np.zeros(4 * _CONTROL_RATE - 1)])
        self.env_gain = 1.0 / np.sqrt(np.sum(env_impulse**2))
        self.env_zi = np.zeros((self.env_sos.shape[0], 2, channels))
        self.last_env = np.ones(channels)
        # Mean power of 1 + d*m with m ~ N(0,1) clipped to +-1 is close to 1 + 0.6 d^2.
        self.scale = 10 ** (level_dbfs / 20) / np.sqrt(1 + 0.6 * modulation_depth**2)

    def generate(self, n: int) -> np.ndarray:
        """Return the next n samples as float32 of shape (n, channels); n is a multiple of 160."""
        if n % CONTROL_STEP:
            raise ValueError(f"noise block of {n} samples: expected a multiple of {CONTROL_STEP}")
        white = self.rng.standard_normal((n, self.channels))
        shaped, self.zi = signal.sosfilt(self.sos, white, axis=0, zi=self.zi)
        shaped *= self.shape_gain
        return (shaped * self._envelope(n // CONTROL_STEP) * self.scale).astype(np.float32)

    def _envelope(self, steps: int) -> np.ndarray:
        """Speech-rhythm gain, interpolated from the 100 Hz control rate to audio rate."""
        control, self.env_zi = signal.sosfilt(
            self.env_sos, self.env_rng.standard_normal((steps, self.channels)), axis=0, zi=self.env_zi
        )
        env = 1.0 + self.depth * np.clip(control * self.env_gain, -1.0, 1.0)
        points = np.vstack([self.last_env, env])
        self.last_env = env[-1]
        frac = (np.arange(steps * CONTROL_STEP) + 1) / CONTROL_STEP
        return np.stack([np.interp(frac, np.arange(steps + 1), points[:, c]) for c in range(self.channels)], 1)
