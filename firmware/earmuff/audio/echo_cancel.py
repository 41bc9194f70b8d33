"""Removes earmuff's own masking noise from its microphone signal (acoustic echo cancellation).

The reference is the exact block earmuff played; signals are 16 kHz mono float32 in [-1, 1]. The canceller buffers
to its internal block: its output lags the input by exactly `block` samples (16 ms by default), whatever the caller's
block length; `process` always returns len(mic) samples.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 16000


@runtime_checkable
class EchoCanceller(Protocol):
    """What the firmware's audio worker thread calls."""

    def process(self, mic: np.ndarray, played: np.ndarray) -> np.ndarray: ...

    def freeze(self, frozen: bool) -> None: ...

    @property
    def echo_reduction_db(self) -> float: ...


class _ReductionMeter:
    """Running 10*log10(power(mic)/power(output)) with an exponential memory of about tau_s."""

    def __init__(self, tau_s: float = 1.0, sample_rate: int = SAMPLE_RATE) -> None:
        self._tau = tau_s * sample_rate
        self._p_in = self._p_out = 0.0
        self._n, self._a = 0, 0.0  # the memory for the last block length, kept: callers repeat one length

    def update(self, mic: np.ndarray, out: np.ndarray) -> None:
        """Fold one aligned pair of blocks into the running powers."""
        if len(mic) == 0:
            return
        if len(mic) != self._n:
            self._n, self._a = len(mic), float(np.exp(-len(mic) / self._tau))
        self._p_in = self._a * self._p_in + (1.0 - self._a) * _power(mic)
        self._p_out = self._a * self._p_out + (1.0 - self._a) * _power(out)

    @property
    def db(self) -> float:
        """Current estimate in dB (0 before any signal)."""
        return 10.0 * float(np.log10(self._p_in / max(self._p_out, 1e-20))) if self._p_in > 0.0 else 0.0


def _power(x: np.ndarray) -> float:
    """Mean square of all samples, in float64 (a dot product: far cheaper per call than np.mean)."""
    v = x.ravel().astype(np.float64, copy=False)
    return float(np.dot(v, v)) / max(len(v), 1)


def _pair(mic: np.ndarray, played: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return mic (1-D) and played (samples x channels) as float32 of equal length, or raise ValueError."""
    m, p = np.asarray(mic, dtype=np.float32), np.asarray(played, dtype=np.float32)
    p = p[:, np.newaxis] if p.ndim == 1 else p
    if m.ndim != 1 or p.ndim != 2 or len(m) != len(p):
        raise ValueError(f"mic must be 1-D and played 1-D or 2-D of equal length, got {m.shape} and {p.shape}")
    return m, p


class PassThrough:
    """No cancellation: returns the microphone signal unchanged."""

    def __init__(self, channels: int = 1) -> None:
        self._meter = _ReductionMeter()

    def process(self, mic: np.ndarray, played: np.ndarray) -> np.ndarray:
        """Return mic as float32 (the same array when it already is one)."""
        mic, _ = _pair(mic, played)
        self._meter.update(mic, mic)
        return mic

    def freeze(self, frozen: bool) -> None:
        """Nothing adapts here."""

    @property
    def echo_reduction_db(self) -> float:
        """Always 0 dB."""
        return self._meter.db


class BlockFrequencyDomainCanceller:
    """Partitioned-block frequency-domain adaptive filter (PBFDAF / MDF), overlap-save, numpy only.

    The step is normalised per bin by the reference power and shared among partitions by their
    weight (proportionate). Once echo_reduction_db exceeds guard_db, the error used for adaptation is
    clipped per bin at `clip` times a slowly rising scale of its own recent level (a Huber-style
    robust error), so near-end speech barely moves the filter. Near-end sound louder than the
    residual by `double_talk_db` (the owner talking, often as loud as the echo itself) pauses
    adaptation until the residual floor has risen to it at `floor_rise_db_s`.
    """

    def __init__(
        self,
        filter_length: int = 2048,
        block: int = 256,
        step: float = 0.5,
        *,
        channels: int = 1,
        clip: float = 2.0,
        guard_db: float = 10.0,
        double_talk_db: float = 10.0,
        floor_rise_db_s: float = 10.0,
        startup_s: float = 2.0,
        proportionate: bool = True,
        scale_rise_s: float = 2.0,
        scale_fall_s: float = 0.5,
        power_tau_s: float = 0.03,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        if block <= 0 or filter_length <= 0:
            raise ValueError("block and filter_length must be positive")
        if not 0.0 < step <= 1.0:
            raise ValueError(f"step must be in (0, 1], got {step}")
        self.block = int(block)
        self.partitions = -(-int(filter_length) // self.block)
        self.step = float(step)
        self.clip = float(clip)
        self.guard_db = float(guard_db)
        self.double_talk = 10 ** (double_talk_db / 10)
        self._floor_rise = 10 ** (floor_rise_db_s * self.block / sample_rate / 10)
        self._startup = int(startup_s * sample_rate / self.block)
        self._floor = 0.0  # slowly rising minimum of the residual's block power relative to the reference's
        self.proportionate = bool(proportionate)
        bins = self.block + 1
        # One filter per output channel: each speaker reaches the microphone by its own path.
        self._W = np.zeros((channels, self.partitions, bins), np.complex128)
        # The reference's spectra, newest first, in a ring written twice (at i and i + partitions), so that the
        # newest `partitions` of them are always one slice, `_X`, without shifting them all each block.
        self._ring = np.zeros((channels, 2 * self.partitions, bins), np.complex128)
        self._head = 0
        self._X = self._ring[:, : self.partitions]
        self._grad = np.zeros_like(self._W)
        self._x_prev = np.zeros((self.block, channels))
        self._ref_power, self._err_scale = np.zeros(bins), np.zeros(bins)
        self._a_pow = float(np.exp(-self.block / (power_tau_s * sample_rate)))
        self._a_rise = float(np.exp(-self.block / (scale_rise_s * sample_rate)))
        self._a_fall = float(np.exp(-self.block / (scale_fall_s * sample_rate)))
        self._mic_fifo, self._ref_fifo = np.zeros(0, np.float32), np.zeros((0, channels), np.float32)
        self._out_fifo = np.zeros(self.block, np.float32)  # the fixed one-block latency
        self._e_pad = np.zeros(2 * self.block)  # the error after a block of zeros, for its spectrum
        self._turn = 0  # the partition constrained besides the first in the last adaptation
        self._frozen = False
        self._meter = _ReductionMeter(sample_rate=sample_rate)

    def process(self, mic: np.ndarray, played: np.ndarray) -> np.ndarray:
        """Cancel the echo of `played` from `mic`; returns len(mic) samples, one block late."""
        mic, played = _pair(mic, played)
        self._mic_fifo = np.concatenate((self._mic_fifo, mic))
        self._ref_fifo = np.concatenate((self._ref_fifo, played))
        n = self.block
        full = len(self._mic_fifo) // n
        outs = [self._out_fifo]
        for i in range(full):
            outs.append(self._run_block(self._mic_fifo[i * n : (i + 1) * n], self._ref_fifo[i * n : (i + 1) * n]))
        self._mic_fifo, self._ref_fifo = self._mic_fifo[full * n :], self._ref_fifo[full * n :]
        out = np.concatenate(outs)
        self._out_fifo = out[len(mic) :]
        return out[: len(mic)]

    def freeze(self, frozen: bool) -> None:
        """Stop (True) or resume (False) adaptation; the filter keeps cancelling either way."""
        self._frozen = bool(frozen)

    @property
    def echo_reduction_db(self) -> float:
        """10*log10(power(mic)/power(output)) over roughly the last second."""
        return self._meter.db

    def _run_block(self, d32: np.ndarray, x32: np.ndarray) -> np.ndarray:
        """Filter and adapt on one internal block; returns the error (the cleaned mic)."""
        n = self.block
        d = d32.astype(np.float64)
        x = x32.astype(np.float64)
        x0 = np.fft.rfft(np.concatenate((self._x_prev, x)), axis=0).T
        p, self._x_prev = self.partitions, x
        self._head = (self._head - 1) % p
        self._ring[:, self._head] = self._ring[:, self._head + p] = x0
        self._X = self._ring[:, self._head : self._head + p]
        y = np.fft.irfft(np.einsum("cpk,cpk->k", self._W, self._X), 2 * n)[n:]
        e = d - y
        if not self._frozen and x.any():  # nothing to learn from silence; keeps the error scale honest
            # Residual relative to what was played: the noise's own rhythm cancels out, near-end sound does not.
            power = _power(e) / (_power(x) + 1e-12)
            self._startup = max(0, self._startup - 1)
            # During start-up everything is echo to learn; later a jump above the residual floor is a talker.
            talking = not self._startup and power > self.double_talk * self._floor
            self._floor = power if power < self._floor or self._floor == 0 else self._floor * self._floor_rise
            if not talking:
                self._adapt(e)
        self._meter.update(d, e)
        return e.astype(np.float32)

    def _adapt(self, e: np.ndarray) -> None:
        """One constrained NLMS step with a clipped error."""
        n = self.block
        self._e_pad[n:] = e
        E = np.fft.rfft(self._e_pad)
        mag2 = E.real**2 + E.imag**2
        if self._meter.db < self.guard_db:
            # Not converged (start-up, moved path): the error is mostly echo, so learn from all of it.
            a: float | np.ndarray = self._a_fall
        else:
            # Clipping, not skipping: a sudden rise (near-end talk) moves the filter no more than usual.
            limit = self.clip**2 * self._err_scale
            E *= np.sqrt(np.minimum(1.0, limit / np.maximum(mag2, 1e-30)))
            mag2 = np.minimum(mag2, limit)
            a = np.where(mag2 > self._err_scale, self._a_rise, self._a_fall)
        self._err_scale = a * self._err_scale + (1 - a) * mag2
        # X spans 2N samples but the error only N: half its power is the NLMS normaliser (step 1 = full step).
        x0 = self._X[:, 0].view(np.float64).reshape(self._X.shape[0], -1, 2)  # real and imaginary side by side
        power = 0.5 * np.einsum("cki,cki->k", x0, x0)
        self._ref_power = self._a_pow * self._ref_power + (1 - self._a_pow) * power
        floor = 1e-3 * float(self._ref_power.sum()) / len(self._ref_power) + 1e-10
        mu = self.step / (self._ref_power + floor)
        grad = np.conjugate(self._X, out=self._grad)
        grad *= mu * E
        grad *= self._proportions()[..., np.newaxis]
        self._W += grad
        # The constraint keeps a partition a linear (not circular) filter. As in SpeexDSP's MDF (AUMDF), it is
        # applied to the first partition every block and to one other in turn: the FFTs of 2 partitions, not all.
        self._turn = self._turn % (self.partitions - 1) + 1 if self.partitions > 1 else 0
        parts = slice(0, self._turn + 1, self._turn or 1)  # partitions 0 and turn (or 0 alone), without a copy
        w = np.fft.irfft(self._W[:, parts], 2 * n, axis=-1)
        w[..., n:] = 0.0
        self._W[:, parts] = np.fft.rfft(w, axis=-1)

    def _proportions(self) -> np.ndarray:
        """Share of the step per partition, following its weight (MDF's proportionate update)."""
        if not self.proportionate:
            return np.full(self._W.shape[:2], 1.0 / self.partitions)
        w = self._W.view(np.float64)  # real and imaginary parts side by side
        norms = np.sqrt(np.einsum("cpk,cpk->cp", w, w)) + 1e-9
        # The floor keeps quiet partitions learning, so late reflections and path changes are still found.
        norms += 0.1 * norms.max()
        return norms / norms.sum()


def make_canceller(kind: str, **kw: object) -> EchoCanceller:
    """Build an echo canceller by name: "none" or "fdaf"."""
    kinds = {"none": PassThrough, "fdaf": BlockFrequencyDomainCanceller}
    if kind not in kinds:
        raise ValueError(f"unknown echo canceller kind {kind!r}; allowed: {', '.join(sorted(kinds))}")
    return kinds[kind](**kw)
