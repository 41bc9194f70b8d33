"""Clock drift between playback and capture: measured from the echo itself and undone on the reference.

When the speakers and the microphone run on different clocks, the echo slides against the played
samples by a few samples a minute; an adaptive echo filter then chases a moving target and cancels
far less. This stretches the reference by the measured drift so that the echo path stands still, and delays it
by the sound card's bulk delay, so that the canceller's filter spans the echo path instead of the card's buffers.
"""

from __future__ import annotations

import numpy as np

from earmuff.config import SAMPLE_RATE

WINDOW = EVERY = SAMPLE_RATE  # measure the lag over one second of audio, every second
MAX_LAG = 8000  # lags are searched within +-0.5 s: a sound card's buffers (3 periods of 40 ms measured) and more
# Where the echo should start in the delayed reference: the canceller's filter (128 ms) then spans the first 96 ms
# of the echo path. The bulk delay moves only when the echo starts more than this far from there, so an echo within
# the first 64 ms (a card with short buffers) is left where it is.
TARGET_LAG = 512
FIT_POINTS = 40  # the drift is the slope of the last 40 s of lag measurements
# A measurement counts when it is this close to the median of the last 3 that counted, or when 3 in a row agree this
# closely (the first ones, or an echo that really moved). Drift moves the lag by a few samples a minute; single false
# peaks, hundreds of samples off the others, set the drift to -1,281 ppm in the virtual room (docs/benchmarks.md).
AGREE = 16


class ClockDrift:
    """Estimates the drift (ppm) with GCC-PHAT between microphone and reference, and resamples the reference."""

    def __init__(self, channels: int) -> None:
        self.ppm = 0.0
        self.ref = np.zeros((4, channels))  # reference samples still needed; row 0 is absolute index `base`
        self.base = -4
        self.pos = 0.0  # absolute reference position of the next output sample
        self.mic_hist: list[np.ndarray] = []
        self.ref_hist: list[np.ndarray] = []
        self.collected = 0  # samples since the last measurement
        self.seen = 0
        self.lags: list[tuple[int, float]] = []  # (sample, lag against the unstretched reference) that counted
        self.recent: list[tuple[int, float]] = []  # the last 3 measurements, counted or not
        self.bulk = 0  # samples the reference is delayed by, besides the stretch
        self.delay = 0.0  # the echo's delay behind what was played, last measured (samples)

    def align(self, mic: np.ndarray, played: np.ndarray) -> np.ndarray:
        """Return the reference resampled onto the microphone's clock (same shape as `played`)."""
        played = played.reshape(len(played), -1)
        self.ref = np.vstack([self.ref, played])
        n = len(mic)
        pos = self.pos + np.arange(n) * (1 - self.ppm * 1e-6) - self.base
        out = interpolate(self.ref, pos).astype(np.float32)
        self.pos += n * (1 - self.ppm * 1e-6)
        drop = int(np.floor(self.pos)) - self.base - 2
        if drop > 0:
            self.ref = self.ref[drop:]
            self.base += drop
        self._measure(mic, out[:, 0])
        return out

    def _measure(self, mic: np.ndarray, ref: np.ndarray) -> None:
        """Collect blocks; every second measure the lag over the last second and refit the drift."""
        self.mic_hist.append(mic)
        self.ref_hist.append(ref)
        self.seen += len(mic)
        self.collected += len(mic)
        if self.collected < EVERY:
            return
        mic_s, ref_s = np.concatenate(self.mic_hist)[-WINDOW:], np.concatenate(self.ref_hist)[-WINDOW:]
        self.mic_hist, self.ref_hist, self.collected = [], [], 0
        lag = gcc_phat_lag(mic_s, ref_s)
        if lag is not None:  # None: the reference was silent (a window open) or the echo was not clear
            self.update(lag)

    def update(self, lag: float) -> None:
        """Take one lag measurement (samples, against the reference as delayed and stretched now): refit the drift
        and move the bulk delay, unless it disagrees with those before it."""
        # Undo the stretch and the bulk delay applied so far: the raw lag grows by exactly the drift.
        point = (self.seen, lag + self.seen - self.pos)
        self.recent = self.recent[-2:] + [point]
        if self.lags and abs(point[1] - float(np.median([r for _, r in self.lags[-3:]]))) <= AGREE:
            self.lags = self.lags[-(FIT_POINTS - 1) :] + [point]
        elif len(self.recent) == 3 and np.ptp([r for _, r in self.recent]) <= AGREE:
            self.lags = list(self.recent)
        else:
            return
        if len(self.lags) >= 3:
            t, raw = np.array(self.lags).T
            self.ppm = float(np.polyfit(t, raw, 1)[0] * 1e6)
        self.delay = lag + self.bulk
        bulk = max(0, int(round(self.delay)) - TARGET_LAG)
        if abs(bulk - self.bulk) > TARGET_LAG:  # reading the reference that much earlier keeps the record above exact
            self.pos -= bulk - self.bulk
            self.bulk = bulk


def interpolate(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows of `x` (samples x channels) at fractional positions, by 4-point Lagrange interpolation; 0 outside."""
    i = np.floor(pos).astype(np.int64)
    f = (pos - i)[:, np.newaxis]
    if len(i):
        # Zeros around x wherever a neighbour falls outside it, so that every row is a plain gather. Streaming, the
        # last positions always need the two rows after the newest one, which have not been played yet.
        lo, hi = min(0, int(i.min()) - 1), max(len(x), int(i.max()) + 3)
        if lo < 0 or hi > len(x):
            padded = np.zeros((hi - lo, x.shape[1]), x.dtype)
            padded[-lo : len(x) - lo] = x
            x, i = padded, i - lo
    rows = [x[i + k] for k in range(-1, 3)]
    g, h = f + 1, f - 1
    return (
        -f * h * (f - 2) / 6 * rows[0]
        + g * h * (f - 2) / 2 * rows[1]
        - g * f * (f - 2) / 2 * rows[2]
        + g * f * h / 6 * rows[3]
    )


def gcc_phat_lag(mic: np.ndarray, ref: np.ndarray) -> float | None:
    """Delay of `mic` behind `ref` in fractional samples (negative: ahead, within MAX_LAG), or None without a clear
    peak."""
    if np.mean(ref**2) < 1e-8 or np.mean(mic**2) < 1e-12:
        return None
    size = 2 * len(mic)
    cross = np.fft.rfft(mic, size) * np.conj(np.fft.rfft(ref, size))
    corr = np.fft.irfft(cross / (np.abs(cross) + 1e-12), size)
    reach = min(MAX_LAG, len(mic) - 2)
    window = np.roll(corr, reach + 1)[: 2 * reach + 3]  # lags -reach-1 .. reach+1
    k = int(np.argmax(window[1:-1])) + 1
    if window[k] <= 6 * np.std(corr):
        return None
    a, b, c = window[k - 1], window[k], window[k + 1]
    curvature = a - 2 * b + c
    k_lag = k - reach - 1
    return float(k_lag + 0.5 * (a - c) / curvature) if curvature < 0 else float(k_lag)
