"""The virtual room's acoustics: talkers at a distance, reverberation, the shield's speakers and microphones.

Levels: on every microphone 0 dBFS (RMS) is 120 dB SPL; a coupling in dB SPL is the level a
0 dBFS (RMS) output produces at that place. Defaults and their reasons: docs/acoustics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from earmuff.audio.dsp import fftconvolve
from earmuff.config import MIC_FULL_SCALE_DB_SPL, SAMPLE_RATE, _range

SPEED_OF_SOUND = 343.0
ROOM_VOLUME_M3 = 50.0  # a living room, 5 x 4 x 2.5 m
TALKER_DIRECTIVITY = 2.0  # a person speaking towards the device (directivity factor Q)
SINC_HALF = 16  # taps either side of the drift resampler's kernel: under -60 dB error on noise up to 7 kHz
SINC_PHASES = 512  # the kernel tabulated at this many fractional offsets, linear between them


@dataclass(frozen=True)
class Acoustics:
    """The scene's [acoustics] table."""

    speech_level_db_spl: float = field(default=60.0, metadata=_range(20.0, 100.0))
    rt60_s: float = field(default=0.4, metadata=_range(0.05, 2.0))
    cup_coupling_db_spl: float = field(default=110.0, metadata=_range(60.0, 130.0))
    device_mic_coupling_db_spl: float = field(default=85.0, metadata=_range(40.0, 120.0))
    room_coupling_db_spl: float = field(default=60.0, metadata=_range(20.0, 100.0))
    cup_isolation_db: float = field(default=6.0, metadata=_range(0.0, 40.0))
    speaker_thd: float = field(default=0.03, metadata=_range(0.0, 0.3))
    clock_drift_ppm: float = field(default=50.0, metadata=_range(0.0, 500.0))
    mic_noise_db_spl: float = field(default=30.0, metadata=_range(0.0, 80.0))


def db_gain(db: float) -> float:
    """Amplitude factor of a level in dB."""
    return float(10 ** (db / 20))


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest: the level of speech, not of its pauses."""
    n = len(x) // 320 * 320
    if n == 0:
        return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    power = np.mean(x[:n].reshape(-1, 320).astype(np.float64) ** 2, axis=1)
    loud = power[power >= power.max() * 1e-3]
    return float(np.sqrt(loud.mean()))


def critical_distance(rt60_s: float) -> float:
    """Distance where direct and reverberant sound are equally loud (Sabine), for the room volume."""
    return float(0.057 * np.sqrt(TALKER_DIRECTIVITY * ROOM_VOLUME_M3 / rt60_s))


# Furnished rooms absorb high frequencies more: decay time per band relative to the mid-band RT60.
_BANDS = ((0, 1000, 1.0), (1000, 4000, 0.8), (4000, 8000, 0.5))


def reverb_tail(rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying noise with unit energy, decaying faster at high frequencies: a room's diffuse tail."""
    n = int(rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    tail = np.zeros(n)
    for lo, hi, factor in _BANDS:
        band = np.fft.irfft(np.where((freqs >= lo) & (freqs < hi), spectrum, 0), n)
        tail += band * 10 ** (-3 * t / (rt60_s * factor))
    return tail / np.sqrt(np.sum(tail**2))


def room_response(distance_m: float, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """Impulse response from a talker at `distance_m` (level at 1 m is 1): direct path plus diffuse tail."""
    delay = int(distance_m / SPEED_OF_SOUND * SAMPLE_RATE)
    tail = reverb_tail(rt60_s, rng) / critical_distance(rt60_s)  # reverberant level is the same everywhere
    ir = np.zeros(delay + 80 + len(tail))
    ir[delay] = 1.0 / max(distance_m, 0.1)
    ir[delay + 80 :] += tail  # the first reflections arrive a few ms after the direct sound
    return ir


def near_field_response(rng: np.random.Generator) -> np.ndarray:
    """Speaker to earmuff's own microphone, a few cm apart inside the shield: delay and a few reflections."""
    ir = np.zeros(96)
    ir[4] = 1.0  # ~9 cm
    for tap in rng.integers(8, 90, 6):
        ir[tap] += rng.uniform(-0.3, 0.3)
    return ir / np.sqrt(np.sum(ir**2))


def distort(x: np.ndarray, thd: float) -> np.ndarray:
    """Compressive cubic loudspeaker non-linearity with total harmonic distortion `thd` at full scale."""
    if thd == 0:
        return x
    a = 4 * thd / (1 - 3 * thd)  # a full-scale sine through x - a x^3 has this third-harmonic ratio
    return x - a * x**3


def _sinc_table() -> np.ndarray:
    """Kaiser-windowed (beta 8) sinc kernel at SINC_PHASES + 1 fractional offsets in [0, 1]: a row of taps each."""
    d = np.arange(SINC_PHASES + 1)[:, np.newaxis] / SINC_PHASES - np.arange(1 - SINC_HALF, SINC_HALF + 1)
    return np.sinc(d) * np.i0(8.0 * np.sqrt(np.maximum(0.0, 1 - (d / SINC_HALF) ** 2))) / np.i0(8.0)


_SINC = _sinc_table()


def resample_at(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows of `x` (samples x channels) at increasing fractional positions, band-limited (windowed sinc); 0 outside."""
    # The room's drift, made independently of the firmware's corrector (clock_drift.interpolate, 4-point
    # Lagrange): a simulation that drifts with the corrector's own approximation would undo it exactly.
    i = np.floor(pos).astype(np.int64)
    phase = (pos - i) * SINC_PHASES
    p = np.minimum(phase.astype(np.int64), SINC_PHASES - 1)
    weights = _SINC[p] + (phase - p)[:, np.newaxis] * (_SINC[p + 1] - _SINC[p])
    first = i[0] + 1 - SINC_HALF  # the samples the kernels reach, zero outside x
    span = np.zeros((i[-1] - i[0] + 2 * SINC_HALF, x.shape[1]))
    a, b = max(first, 0), min(first + len(span), len(x))
    if b > a:
        span[a - first : b - first] = x[a:b]
    out = np.empty((len(pos), x.shape[1]))
    for c in range(x.shape[1]):
        out[:, c] = np.einsum("nk,nk->n", weights, sliding_window_view(span[:, c], 2 * SINC_HALF)[i - i[0]])
    return out


class Room:
    """Renders what both microphones hear, block by block, from talkers and the device's own output."""

    def __init__(self, ac: Acoustics, n: int, channels: int, latency: int, seed: int) -> None:
        self.ac = ac
        self.rng = np.random.default_rng(seed)
        self.latency = latency  # playback-to-capture delay of the sound card, in samples
        self.talk_echo = np.zeros(n)  # talkers at the smart speaker's microphone
        self.talk_device = np.zeros(n)  # talkers at earmuff's microphone
        self.played = np.zeros((n, channels))  # what the speakers emitted, after distortion, by output sample
        self.own = np.zeros(n + 8 * SAMPLE_RATE)  # earmuff's own sound at its microphone (overlap-add)
        self.cup = db_gain(ac.cup_coupling_db_spl - MIC_FULL_SCALE_DB_SPL)
        self.near = db_gain(ac.device_mic_coupling_db_spl - MIC_FULL_SCALE_DB_SPL)
        # Sound leaking into the room comes back as reverberation: its level is that at 1 m, diffuse.
        self.leak = db_gain(ac.room_coupling_db_spl - MIC_FULL_SCALE_DB_SPL)
        self.near_ir = [near_field_response(self.rng) for _ in range(channels)]
        self.tail_ir = [reverb_tail(ac.rt60_s, self.rng) / critical_distance(ac.rt60_s) for _ in range(channels)]
        self.noise = db_gain(ac.mic_noise_db_spl - MIC_FULL_SCALE_DB_SPL)

    def add_talker(self, clip: np.ndarray, start: int, distance_m: float, level_db_spl: float) -> None:
        """Place speech (any level) at `start`, `distance_m` away, speaking at `level_db_spl` at 1 m."""
        clip = clip * db_gain(level_db_spl - MIC_FULL_SCALE_DB_SPL) / (active_rms(clip) + 1e-12)
        isolation = db_gain(-self.ac.cup_isolation_db)
        for target, gain in ((self.talk_echo, isolation), (self.talk_device, 1.0)):
            wet = fftconvolve(clip, room_response(distance_m, self.ac.rt60_s, self.rng))[: len(target) - start]
            target[start : start + len(wet)] += gain * wet

    def device_mic(self, n0: int, frames: int) -> np.ndarray:
        """What earmuff's microphone captures for samples n0..n0+frames (needs latency >= frames + SINC_HALF)."""
        # Capture runs on its own clock: the played signal arrives stretched by the drift.
        pos = (n0 + np.arange(frames) - self.latency) * (1 - self.ac.clock_drift_ppm * 1e-6)
        both = resample_at(self.played, pos)
        for c in range(self.played.shape[1]):
            drifted = both[:, c]
            near = fftconvolve(drifted, self.near_ir[c]) * self.near
            tail = fftconvolve(drifted, self.tail_ir[c]) * self.leak
            self.own[n0 : n0 + len(near)] += near
            self.own[n0 : n0 + len(tail)] += tail
        return self._mic(self.talk_device[n0 : n0 + frames] + self.own[n0 : n0 + frames])

    def echo_mic(self, n0: int, frames: int) -> np.ndarray:
        """What the smart speaker's microphone under cup 0 captures (the other cup leaks in at -20 dB)."""
        idx = n0 + np.arange(frames) - self.latency
        src = self.played[np.maximum(idx, 0)] * (idx >= 0)[:, np.newaxis]
        cup = src[:, 0] + (0.1 * src[:, 1] if src.shape[1] > 1 else 0.0)
        return self._mic(self.talk_echo[n0 : n0 + frames] + self.cup * cup)

    def play(self, n0: int, out: np.ndarray) -> None:
        """Record the output block for samples n0.. (the speakers emit it `latency` samples later)."""
        self.played[n0 : n0 + len(out)] = distort(out, self.ac.speaker_thd)

    def _mic(self, x: np.ndarray) -> np.ndarray:
        """Add self-noise and clip at full scale."""
        return np.clip(x + self.noise * self.rng.standard_normal(len(x)), -1.0, 1.0).astype(np.float32)

    def leakage_db_spl(self, out: np.ndarray) -> float:
        """Level of an output signal 1 m away in the room."""
        rms = np.sqrt(np.mean(out**2) + 1e-20)
        return self.ac.room_coupling_db_spl + 20 * np.log10(rms)
