"""Convolution and polyphase resampling in numpy: scipy.signal's results without its import (50 MB resident)."""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: an FFT length numpy transforms fast (a large prime factor costs far more memory)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            best = min(best, p35 << (-(-n // p35) - 1).bit_length())  # p35 times the least power of 2 reaching n
            p35 *= 3
        p5 *= 5
    return best


def fftconvolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution of two real 1-D arrays (len(a) + len(b) - 1 samples, float64), as scipy.signal's."""
    n = len(a) + len(b) - 1
    m = fast_len(n)
    return np.fft.irfft(np.fft.rfft(a, m) * np.fft.rfft(b, m), m)[:n]


@functools.lru_cache(maxsize=16)
def _polyphase(up: int, down: int) -> tuple[np.ndarray, int]:
    """scipy's default resample_poly filter (Kaiser beta 5, 10 zero crossings a side), split into `up` phases.

    Returns (bank, half): bank[p] holds taps p, p + up, p + 2 up, ... of the filter, last tap first.
    """
    rate = max(up, down)
    half = 10 * rate
    h = np.sinc(np.arange(-half, half + 1) / rate) * np.kaiser(2 * half + 1, 5.0)
    h *= up / h.sum()  # unit gain at DC, times `up` for the zeros that upsampling puts between samples
    taps = -(-len(h) // up)
    bank = np.zeros(taps * up)
    bank[: len(h)] = h
    return bank.reshape(taps, up).T[:, ::-1].copy(), half


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """`x` (1-D) resampled by up / down with scipy.signal.resample_poly's filter and alignment, as float64."""
    g = math.gcd(up, down)
    up, down = up // g, down // g
    x = np.asarray(x, np.float64)
    if up == down == 1 or not len(x):
        return x.copy()
    bank, half = _polyphase(up, down)
    taps = bank.shape[1]
    n_out = -(-len(x) * up // down)
    # Output k sits at upsampled position k * down + half of the filter, where x[j] meets tap k * down + half - j * up:
    # outputs k, k + up, k + 2 up, ... use the same phase of the filter, on inputs `down` apart.
    centre = np.arange(min(up, n_out), dtype=np.int64) * down + half
    first, phase = centre // up, centre % up
    last = ((n_out - 1) * down + half) // up
    padded = np.concatenate([np.zeros(taps - 1), x, np.zeros(max(0, last + 1 - len(x)))])
    view = sliding_window_view(padded, taps)  # view[j] = x[j - taps + 1 .. j], zero outside
    out = np.empty(n_out)
    for r in range(len(centre)):
        out[r::up] = view[first[r] :: down][: len(range(r, n_out, up))] @ bank[phase[r]]
    return out
