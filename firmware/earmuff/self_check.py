"""Self-check: does earmuff's microphone hear earmuff's own noise as loud as calibration measured?

The device knows what it plays (the played rows beside the microphone in the ring), so the microphone's
level minus the played level is the coupling that `earmuff calibrate` measured, whatever the room does:
talk and music only add to the microphone, so they can hide a fault for a while but never fake one.
A coupling far below calibration means the sound does not come out (amplifier, speaker, mixer, cable);
a microphone without variance is dead (zeros, a constant). Either is a fault, and until the check has
heard the noise the adaptive level may not lower it (`healthy`).

Cost: every EVERY-th block one einsum over rows already copied out of the ring; a verdict per window.
"""

from __future__ import annotations

import json

import numpy as np

from .config import state_dir

EVERY = 5  # blocks: one in five is measured (every 100 ms at 320 samples)
WINDOW = 20  # measured blocks per verdict (2 s at 320 samples)
DROP_DB = 12.0  # the own noise this far below calibration is a fault (a mixer turned down 20 dB is caught)
PLAYING = 1e-7  # mean square of the played rows: below it (-70 dBFS) the noise is off, nothing to hear
DEAD = 1e-11  # variance of a microphone below it (-110 dBFS; 16-bit dither alone is -101) is dead
FAULT_AFTER = 2  # bad verdicts in a row before the fault is raised ...
CLEAR_AFTER = 3  # ... and good ones in a row before it is cleared


class SelfCheck:
    """Fed every block by the worker; `fault` says what is wrong, `healthy` whether the mic was just heard fine."""

    def __init__(self, coupling_db: float | None) -> None:
        self.coupling_db = coupling_db  # from calibration; None: only a dead microphone is caught
        self.blocks = 0
        self.power = np.zeros(0)  # per column of the measured block: sum of squares
        self.sums = [0.0, 0.0, 0.0]  # over the window: mic sum, mic sum of squares, played sum of squares (channel mean)
        self.samples = 0
        self.measured = 0
        self.all_playing = True
        self.bad = self.good = 0
        self.fault: str | None = None
        self.healthy = False
        self.last_db: float | None = None  # the last window's coupling, for the status report
        self.verdicts = 0  # windows judged (not skipped), for tests and benchmarks

    def feed(self, rows: np.ndarray) -> None:
        """One block: column 0 the microphone, the rest what was played."""
        self.blocks += 1
        if self.blocks % EVERY:
            return
        if len(self.power) != rows.shape[1]:
            self.power = np.zeros(rows.shape[1])
        power = np.einsum("ij,ij->j", rows, rows, out=self.power, dtype=np.float64)
        played = float(power[1:].mean())
        self.all_playing &= played > PLAYING * len(rows)
        sums = self.sums
        sums[0] += float(rows[:, 0].sum(dtype=np.float64))
        sums[1] += float(power[0])
        sums[2] += played
        self.samples += len(rows)
        self.measured += 1
        if self.measured == WINDOW:
            self._judge()

    def _judge(self) -> None:
        """A verdict on the window just measured, unless the noise was off in part of it (a window, a pause)."""
        total, squares, played = (v / self.samples for v in self.sums)
        judged, self.all_playing = self.all_playing, True
        self.sums, self.samples, self.measured = [0.0, 0.0, 0.0], 0, 0
        if not judged:
            return
        self.verdicts += 1
        variance = squares - total * total
        self.last_db = float(10 * np.log10(squares / played + 1e-30))
        if variance < DEAD:
            problem: str | None = "the microphone is dead (it records silence or a constant)"
        elif self.coupling_db is not None and self.last_db < self.coupling_db - DROP_DB:
            problem = (f"the microphone hears earmuff's own noise {self.coupling_db - self.last_db:.0f} dB below "
                       "calibration: check the amplifier, speakers, mixer volume and cable")
        else:
            problem = None
        self.healthy = problem is None
        self.bad, self.good = (self.bad + 1, 0) if problem else (0, self.good + 1)
        if problem and self.bad >= FAULT_AFTER:
            self.fault = problem
        elif self.good >= CLEAR_AFTER:
            self.fault = None

    def describe(self) -> str:
        """One line for `earmuff status`."""
        if self.fault:
            return f"FAULT: {self.fault}; playing at the full level"
        if self.coupling_db is None:
            return "microphone only (no calibration: run earmuff calibrate to check the speakers too)"
        if self.last_db is None:
            return "waiting for a first measurement"
        return f"ok (own noise at the microphone {self.last_db - self.coupling_db:+.1f} dB from calibration)"


def calibrated_coupling() -> float | None:
    """The coupling `earmuff calibrate` stored (calibration.json in the state directory), or None."""
    try:
        value = json.loads((state_dir() / "calibration.json").read_text())["coupling_db"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # never calibrated, or unreadable: status says the speakers are not checked
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
