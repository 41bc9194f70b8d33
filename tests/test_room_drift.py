"""The virtual room's clock drift: a band-limited resampler of its own, not the firmware's compensator."""

import numpy as np
import pytest

from earmuff.audio import room
from earmuff.audio.clock_drift import interpolate

pytestmark = pytest.mark.unit


def test_integer_positions_give_the_samples_and_zero_outside():
    x = np.random.default_rng(1).standard_normal((500, 2))
    got = room.resample_at(x, np.arange(-40.0, 540.0))
    np.testing.assert_allclose(got[40:540], x, atol=1e-12)
    assert np.abs(got[:40]).max() < 1e-12 and np.abs(got[540:]).max() < 1e-12


@pytest.mark.parametrize("hz", [300.0, 3000.0, 6500.0])
def test_a_sine_is_read_between_its_samples_within_60_db(hz):
    t = np.arange(8000.0)
    x = np.stack([np.sin(2 * np.pi * hz / 16000 * t), np.cos(2 * np.pi * hz / 16000 * t)], axis=1)
    pos = 1000 + np.arange(4000) * (1 - 300e-6) + 0.37  # 300 ppm: every fractional offset is visited
    want = np.stack([np.sin(2 * np.pi * hz / 16000 * pos), np.cos(2 * np.pi * hz / 16000 * pos)], axis=1)
    err_db = 10 * np.log10(np.mean((room.resample_at(x, pos) - want) ** 2) / np.mean(want**2))
    assert err_db < -60, f"{hz} Hz: {err_db:.1f} dB"
    if hz > 3000:  # the firmware's 4-point interpolation is far coarser there: the two are not the same function
        lagrange_db = 10 * np.log10(np.mean((interpolate(x, pos) - want) ** 2) / np.mean(want**2))
        assert lagrange_db > err_db + 20
