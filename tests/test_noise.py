"""The masking noise: level, spectrum shape, rhythm, channel independence, continuity."""

from collections.abc import Callable

import numpy as np
import pytest
from scipy import signal

from earmuff.audio.noise import NoiseGenerator
from earmuff.config import Config, ConfigError, load

pytestmark = pytest.mark.unit


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


def _band_db(x: np.ndarray) -> Callable[[float, float], float]:
    """Welch power of x in dB averaged over a band [lo, hi) Hz."""
    f, p = signal.welch(x, 16000, nperseg=4096)
    return lambda lo, hi: 10 * np.log10(p[(f >= lo) & (f < hi)].mean())


@pytest.mark.parametrize("kind,depth", [("white", 0.0), ("pink", 0.0), ("speech", 0.0), ("speech", 0.8), ("pink", 0.5)])
def test_every_kind_hits_its_level(kind, depth):
    for level in (-35.0, -15.0):
        x = NoiseGenerator(2, level, depth, seed=6, kind=kind).generate(16000 * 10)
        measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2, axis=0))
        assert np.all(np.abs(measured - level) < 1.0), (kind, depth, level, measured)


def test_white_is_flat():
    band = _band_db(NoiseGenerator(1, -20.0, 0.0, seed=7, kind="white").generate(16000 * 10)[:, 0])
    levels = [band(lo, 2 * lo) for lo in (250, 500, 1000, 2000, 4000)]
    assert max(levels) - min(levels) < 1.5, levels  # within the shared 120 Hz - 7 kHz band
    assert band(300, 600) - band(7700, 8000) > 15  # and nothing above it


def test_pink_falls_3_db_per_octave():
    band = _band_db(NoiseGenerator(1, -20.0, 0.0, seed=8, kind="pink").generate(16000 * 20)[:, 0])
    octaves = np.arange(5)  # 250-500 Hz ... 4-8 kHz is cut by the band edge, so stop at 4 kHz
    levels = np.array([band(250 * 2**k, 250 * 2 ** (k + 0.5)) for k in octaves])
    slope = np.polyfit(octaves, levels, 1)[0]
    assert -3.6 < slope < -2.4, (slope, levels)


def test_speech_kind_is_the_default_and_unchanged():
    a = NoiseGenerator(2, -20.0, 0.5, seed=9).generate(3200)
    b = NoiseGenerator(2, -20.0, 0.5, seed=9, kind="speech").generate(3200)
    np.testing.assert_array_equal(a, b)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'brown'"):
        NoiseGenerator(1, -20.0, 0.0, kind="brown")


def test_bad_kind_in_config_names_the_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[noise]\nkind = "brown"\n')
    with pytest.raises(ConfigError, match=r"noise\.kind = 'brown'.*white.*pink.*speech"):
        load(path)
    path.write_text('[noise]\nkind = "pink"\nlevel_dbfs = -25\n')
    assert load(path).noise.kind == "pink"
    assert Config().noise.kind == "speech"
