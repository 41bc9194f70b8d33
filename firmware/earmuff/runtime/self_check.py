"""Self-check: does earmuff's microphone hear earmuff's own noise as loud as calibration measured?

The device knows what it plays (the played rows beside the microphone in the ring), so the microphone's
energy over the played energy `delay` earlier is the coupling that `earmuff calibrate` measured, whatever
the room does: talk and music only add to the microphone. The verdict takes a low one (the 3rd lowest of 20)
of these block ratios, so the gaps of speech show the noise; a room loud at every measured block still hides
a fault while it lasts, and can never fake one. A coupling far below calibration means the sound does not
come out (amplifier, speaker, mixer, cable); a microphone without variance is dead (zeros, a constant).
Either is a fault; until the check has heard the noise the adaptive level may not lower it (`healthy`).

Cost: every EVERY-th block two einsums over rows already copied out of the ring; a verdict per window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from earmuff.config import SAMPLE_RATE
from earmuff.paths import Paths

EVERY = 5  # blocks: one microphone block in five is measured (every 100 ms at 320 samples)
WINDOW = 20  # measured blocks per verdict (2 s at 320 samples)
RANK = 2  # the verdict's ratio: the 3rd lowest of the window's (one odd block does not decide)
DROP_DB = 12.0  # the own noise this far below calibration is a fault (a mixer turned down 20 dB is caught)
PLAYING = 1e-7  # mean square of the played rows: below it (-70 dBFS) the noise is off, nothing to hear
DEAD = 1e-11  # variance of a microphone below it (-110 dBFS; 16-bit dither alone is -101) is dead
FAULT_AFTER = 2  # bad verdicts in a row before the fault is raised ...
CLEAR_AFTER = 3  # ... and good ones in a row before it is cleared


@dataclass(frozen=True)
class Expected:
    """What calibration measured: microphone over output level, and the delay from output to microphone."""

    coupling_db: float
    delay_ms: float


class SelfCheck:
    """Fed every block by the worker; `fault` says what is wrong, `healthy` whether the mic was just heard fine."""

    def __init__(self, expected: Expected | None, block: int = 320) -> None:
        self.expected = expected  # None: not calibrated, only a dead microphone is caught
        # The played block measured `delay` blocks before each microphone block (at most EVERY - 1).
        self.delay = min(EVERY - 1, round(expected.delay_ms / 1000 * SAMPLE_RATE / block)) if expected else 0
        self.blocks = 0
        self.power = np.zeros(0)  # per column of the measured block: sum of squares
        self.played = 0.0  # mean square of the played block `delay` blocks ago
        self.ratios = np.zeros(WINDOW)  # microphone over played, per measured block of the window
        self.sums = [0.0, 0.0, 0]  # over the window: microphone sum, sum of squares, samples
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
        played_now, mic_now = (self.blocks + self.delay) % EVERY == 0, self.blocks % EVERY == 0
        if not (played_now or mic_now):
            return
        if len(self.power) != rows.shape[1]:
            self.power = np.zeros(rows.shape[1])
        power = np.einsum("ij,ij->j", rows, rows, out=self.power, dtype=np.float64)
        if played_now:
            self.played = float(power[1:].mean()) / len(rows)
        if mic_now:
            self.all_playing &= self.played > PLAYING
            mic = float(power[0]) / len(rows)
            self.ratios[self.measured] = mic / max(self.played, 1e-30)
            sums = self.sums
            sums[0] += float(rows[:, 0].sum(dtype=np.float64))
            sums[1] += float(power[0])
            sums[2] += len(rows)
            self.measured += 1
            if self.measured == WINDOW:
                self._judge()

    def _judge(self) -> None:
        """A verdict on the window just measured, unless the noise was off in part of it (a window, a pause)."""
        total, squares, n = self.sums
        judged, self.all_playing = self.all_playing, True
        self.sums, self.measured = [0.0, 0.0, 0], 0
        if not judged:
            return
        self.verdicts += 1
        variance = squares / n - (total / n) ** 2
        self.last_db = float(10 * np.log10(np.partition(self.ratios, RANK)[RANK] + 1e-30))
        if variance < DEAD:
            problem: str | None = "the microphone is dead (it records silence or a constant)"
        elif self.expected is not None and self.last_db < self.expected.coupling_db - DROP_DB:
            problem = (
                f"the microphone hears earmuff's own noise {self.expected.coupling_db - self.last_db:.0f} dB "
                "below calibration: check the amplifier, speakers, mixer volume and cable"
            )
        else:
            problem = None
        self.bad, self.good = (self.bad + 1, 0) if problem else (0, self.good + 1)
        if problem and self.bad >= FAULT_AFTER:
            self.fault = problem
        elif self.good >= CLEAR_AFTER:
            self.fault = None
        # A raised fault holds the full level until it clears: one good window in a loud room is not enough.
        self.healthy = problem is None and self.fault is None

    def describe(self) -> str:
        """One line for `earmuff status`."""
        if self.fault:
            return f"FAULT: {self.fault}; playing at the full level"
        if self.expected is None:
            return "microphone only (no calibration: run earmuff calibrate to check the speakers too)"
        if self.last_db is None:
            return "waiting for a first measurement"
        return f"ok (own noise at the microphone {self.last_db - self.expected.coupling_db:+.1f} dB from calibration)"


def calibrated(paths: Paths) -> Expected | None:
    """What `earmuff calibrate` stored (calibration.json in the state directory), or None."""
    try:
        report = json.loads((paths.state / "calibration.json").read_text())
        values = [report[key] for key in ("coupling_db", "delay_ms")]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # never calibrated, or unreadable: status says the speakers are not checked
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values)
    return Expected(float(values[0]), max(0.0, float(values[1]))) if ok else None
