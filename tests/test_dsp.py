"""The numpy convolution and resampler give scipy.signal's results (the training imports no scipy)."""

import numpy as np
import pytest
from scipy.fft import next_fast_len
from scipy.signal import fftconvolve, resample_poly

from earmuff.audio import dsp
from earmuff.audio.files import resample
from earmuff.audio.room import room_response
from earmuff.wakeword.train import augment

pytestmark = pytest.mark.unit

# The ratios the firmware resamples by: augment.speed (18-22 / 20), the voices' and audio files' rates to 16 kHz.
RATIOS = [(up, 20) for up in range(18, 23)] + [(16000, r) for r in (8000, 11025, 22050, 24000, 44100, 48000)]


def test_fast_lengths_are_scipys():
    assert [dsp.fast_len(n) for n in range(1, 20000)] == [next_fast_len(n, real=True) for n in range(1, 20000)]
    big = [46817, 2**20 + 1, 3**11 - 1, 5**8 + 7]
    assert [dsp.fast_len(n) for n in big] == [next_fast_len(n, real=True) for n in big]


@pytest.mark.parametrize("na, nb", [(1, 1), (5, 3), (320, 6400), (32000, 11201), (48001, 1)])
def test_convolution_is_scipys(na, nb):
    rng = np.random.default_rng(na + nb)
    a, b = rng.standard_normal(na), rng.standard_normal(nb)
    ours = dsp.fftconvolve(a, b)
    assert ours.shape == (na + nb - 1,)
    np.testing.assert_allclose(ours, fftconvolve(a, b), rtol=0, atol=1e-10 * np.sqrt(nb))


@pytest.mark.parametrize("up, down", RATIOS)
@pytest.mark.parametrize("n", [1, 7, 1001, 32000])
def test_resampling_is_scipys(up, down, n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    ours = dsp.resample_poly(x, up, down)
    np.testing.assert_allclose(ours, resample_poly(x.astype(np.float64), up, down), rtol=0, atol=1e-12)
    # scipy filters float32 audio in float32: equal to its rounding
    np.testing.assert_allclose(resample(x, down, up), resample_poly(x, up, down), rtol=0, atol=1e-5)
    assert resample(x, down, up).dtype == np.float32


def test_resampling_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold():
    t = np.arange(22050) / 22050
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 10000 * t)  # above 16 kHz's Nyquist
    mid = slice(2000, 14000)
    assert np.sqrt(2 * np.mean(resample(low, 22050)[mid] ** 2)) == pytest.approx(1.0, abs=0.01)
    assert np.sqrt(np.mean(resample(high, 22050)[mid] ** 2)) < 0.01
    assert len(resample(low, 22050)) == 16000 and len(resample(low[:0], 22050)) == 0


def test_reverberation_and_noise_are_what_scipy_made():
    """The training's augmentations draw the same random numbers and give the same audio as with scipy."""
    x = np.random.default_rng(1).standard_normal(24000).astype(np.float32)
    rng = np.random.default_rng(5)
    ours = augment.reverberate(x, rng)
    rng = np.random.default_rng(5)
    ir = room_response(rng.uniform(0.5, 3.5), rng.uniform(0.15, 0.7), rng)
    ir = ir[np.flatnonzero(ir)[0] :]
    np.testing.assert_allclose(ours, fftconvolve(x, ir)[: len(x) + 4000], rtol=0, atol=1e-6)
    assert len(augment.colored_noise(46817, np.random.default_rng(0))) == 46817


def test_the_jamming_residual_is_what_scipy_made(monkeypatch):
    from earmuff import config
    from earmuff.audio import room

    ours = augment.jamming_residual(config.Config(), 2.0)
    monkeypatch.setattr(room, "fftconvolve", fftconvolve)
    np.testing.assert_allclose(ours, augment.jamming_residual(config.Config(), 2.0), rtol=0, atol=1e-7)
