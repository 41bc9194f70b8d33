"""The masking noise: level, spectrum shape, rhythm, channel independence, continuity."""

import numpy as np
from scipy import signal

from earmuff.noise import NoiseGenerator


def test_level_matches_setting():
    gen = NoiseGenerator(2, -20.0, 0.5, seed=3)
    x = np.concatenate([gen.generate(1600) for _ in range(100)])
    level = 10 * np.log10(np.mean(x**2, axis=0))
    assert np.all(np.abs(level - (-20.0)) < 1.0), level


def test_channels_are_independent():
    x = NoiseGenerator(2, -20.0, 0.5, seed=1).generate(16000 * 5)
    assert abs(np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.05


def test_spectrum_is_speech_shaped():
    x = NoiseGenerator(1, -20.0, 0.0, seed=2).generate(16000 * 10)[:, 0]
    f, p = signal.welch(x, 16000, nperseg=2048)
    band = lambda lo, hi: 10 * np.log10(p[(f >= lo) & (f < hi)].mean())
    assert band(300, 600) - band(3000, 4000) > 10  # speech falls off above ~1 kHz
    assert band(300, 600) - band(20, 60) > 10  # and has little below 100 Hz
    assert band(300, 600) - band(7600, 8000) > 20


def test_envelope_moves_at_speech_rhythm():
    x = NoiseGenerator(1, -20.0, 0.5, seed=4).generate(16000 * 20)[:, 0]
    env = np.sqrt(np.mean(x.reshape(-1, 160) ** 2, axis=1))  # 100 Hz envelope
    f, p = signal.welch(env - env.mean(), 100, nperseg=512)
    assert 2.5 < f[np.argmax(p)] < 9


def test_blocks_join_without_steps():
    a = NoiseGenerator(1, -20.0, 0.5, seed=5)
    b = NoiseGenerator(1, -20.0, 0.5, seed=5)
    whole = a.generate(3200)
    parts = np.concatenate([b.generate(1600), b.generate(1600)])
    np.testing.assert_allclose(whole, parts, atol=1e-6)
