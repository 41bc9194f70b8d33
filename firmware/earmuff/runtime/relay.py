"""Relay: after the wake name, the owner's command recorded from the echo-cancelled microphone, in memory only.

The noise stays on while the command is recorded; then it is trimmed and levelled, handed to the gate (which
plays the trigger and then the command into the smart speaker's microphones), and this copy is cleared.
Pure logic on the sample clock and preallocated buffers: every path can be tested without audio.
"""

from __future__ import annotations

import numpy as np

from earmuff.config import SAMPLE_RATE

WAIT = int(0.7 * SAMPLE_RATE)  # nothing said this soon after the name: pass-through, as without relay
LOOKBACK = int(0.6 * SAMPLE_RATE)  # the detector fires up to ~0.5 s after the name; the command may have begun
STEP = 160  # 10 ms: the resolution of the pause search and of the trimming
PAUSE_STEPS = 5  # 50 ms ...
PAUSE_DB = 20.0  # ... this far below the loudest of the look-back: the pause between the name and the command
EDGE_DB = 35.0  # at the ends of the clip, 10 ms steps this far below its loudest are silence ...
FLOOR_DB = 12.0  # ... and so are those this close to its floor (the residual of the noise, the room's hum)
MARGIN = int(0.05 * SAMPLE_RATE)  # kept around the speech when trimming
PEAK = 0.9  # the levelled clip never clips
FLOOR_FRAMES = 125  # the quietest 80 ms frame of the last 10 s before the name: the residual of the noise ...
ABOVE_FLOOR_DB = 10.0  # ... which a frame of the command exceeds by this much (the noise stays on meanwhile).
BELOW_NAME_DB = 20.0  # and a command is said about as loud as the name: the name's reverberant tail is far below it
# A residual that rises during the recording (an echo canceller upset by loud speech) is a floor too once it has
# lasted the quiet time: a command always ends, by quiet or by the cap.

WAITING, RECORDING = "waiting", "recording"  # before the first voice after the name, and after it


class Recorder:
    """Keeps the last LOOKBACK of audio; after a wake name records until quiet, the cap, or no voice at all."""

    def __init__(self, cap: int, quiet: int) -> None:
        self.cap = cap
        self.quiet = quiet
        self.history = np.zeros(LOOKBACK, np.float32)
        self.levels = np.zeros(FLOOR_FRAMES)  # dBFS of the last frames (numbers, not audio)
        self.heard = 0
        self.frame = 1
        self.floor = 0.0
        self.name_db = -120.0  # the loudest frame of the last second before the detection: the name
        self.buf = np.zeros(cap, np.float32)
        self.length = 0
        self.state: str | None = None  # None: not recording
        self.since = 0  # the sample at which the name was detected
        self.last_voice = 0
        self.cut = False

    @property
    def active(self) -> bool:
        """Recording (or waiting for the command) after a wake name."""
        return self.state is not None

    def hear(self, frame: np.ndarray, level: float) -> None:
        """Every frame of the echo-cancelled microphone (`level` dBFS): into the look-back, and into the clip
        while recording."""
        self.levels[self.heard % FLOOR_FRAMES] = level
        self.heard, self.frame = self.heard + 1, len(frame)
        if self.state is None:
            n = min(len(frame), LOOKBACK)
            self.history[:-n] = self.history[n:]
            self.history[-n:] = frame[-n:]
            return
        n = min(len(frame), self.cap - self.length)
        self.buf[self.length : self.length + n] = frame[:n]
        self.length += n

    def start(self, now: int) -> None:
        """The wake name was detected at sample `now`: keep what followed its end, and record on."""
        self.state, self.since, self.last_voice, self.cut, self.length = WAITING, now, now, False, 0
        self.floor = float(self.levels[: min(self.heard, FLOOR_FRAMES)].min()) if self.heard else -120.0
        last_second = self.levels[
            (self.heard - np.arange(1, min(self.heard, SAMPLE_RATE // self.frame) + 1)) % FLOOR_FRAMES
        ]
        self.name_db = float(last_second.max()) if self.heard else -120.0
        begun = command_start(self.history)
        if begun is not None:  # kept, but a command only once voice follows the detection (not the name's tail)
            self.length = LOOKBACK - begun
            self.buf[: self.length] = self.history[begun:]

    def step(self, now: int, level: float, threshold: float) -> str | None:
        """After the frame ending at `now` at `level` dBFS: 'pass' (nothing said), 'relay' (the command ended or hit
        the cap), or None. Voice: louder than `threshold`, than the noise's residual by ABOVE_FLOOR_DB, and no more
        than BELOW_NAME_DB below the name."""
        floor = self.floor
        if self.state == RECORDING:
            recent = self.levels[(self.heard - np.arange(1, max(1, self.quiet // self.frame) + 1)) % FLOOR_FRAMES]
            floor = max(floor, float(recent.min()))
        if level > max(threshold, floor + ABOVE_FLOOR_DB, self.name_db - BELOW_NAME_DB):
            self.state, self.last_voice = RECORDING, now
        if self.state == WAITING and now >= self.since + WAIT:
            self.clear()
            return "pass"
        if self.state == RECORDING and (now >= self.last_voice + self.quiet or self.length >= self.cap):
            self.cut = now < self.last_voice + self.quiet  # the owner had not finished at the cap
            return "relay"
        return None

    def take(self, into: np.ndarray, level_dbfs: float) -> int:
        """Write the command, trimmed and levelled, at the start of `into`; clear this copy; its length."""
        begin, end = speech_bounds(self.buf[: self.length])
        n = min(end - begin, len(into))
        clip = self.buf[begin : begin + n]
        power = active_power(clip)
        gain = 10 ** (level_dbfs / 20) / np.sqrt(power) if power > 0 else 0.0
        gain = min(gain, PEAK / (float(np.max(np.abs(clip))) + 1e-12))
        np.multiply(clip, gain, out=into[:n])
        self.clear()
        return n

    def clear(self) -> None:
        """Forget the recording and the look-back: the owner's words stay nowhere."""
        self.buf[: max(self.length, 0)] = 0.0
        self.history[:] = 0.0
        self.length, self.state = 0, None


def step_levels(x: np.ndarray) -> np.ndarray:
    """Power of each 10 ms step of `x`, in dB."""
    n = len(x) // STEP * STEP
    return 10 * np.log10(np.mean(x[:n].reshape(-1, STEP).astype(np.float64) ** 2, axis=1) + 1e-20)


def command_start(history: np.ndarray) -> int | None:
    """Where a command that began before the detection starts in `history`: after its latest pause; None if
    the history ends in that pause (nothing said yet) or has none (the name itself, or silence)."""
    levels = step_levels(history)
    quiet = levels < levels.max() - PAUSE_DB
    run = 0
    for i in range(len(levels) - 1, -1, -1):
        if quiet[i]:
            run += 1
            if run >= PAUSE_STEPS:
                end = i + run  # the first step after the pause
                return None if end >= len(levels) else max(0, end * STEP - MARGIN)
        else:
            run = 0
    return None


def speech_bounds(x: np.ndarray) -> tuple[int, int]:
    """(begin, end) samples of `x` without the silence at its ends (a recording ends in the quiet that ended it)."""
    levels = step_levels(x)
    if len(levels) == 0:
        return 0, 0
    floor = np.percentile(levels, 10)
    loud = np.flatnonzero(levels >= max(levels.max() - EDGE_DB, min(floor + FLOOR_DB, levels.max())))
    return max(0, loud[0] * STEP - MARGIN), min(len(x), (loud[-1] + 1) * STEP + MARGIN)


def active_power(x: np.ndarray) -> float:
    """Mean power over the 10 ms steps within 30 dB of the loudest: the level of speech, not of its pauses."""
    n = len(x) // STEP * STEP
    if n == 0:
        return 0.0
    power = np.mean(x[:n].reshape(-1, STEP).astype(np.float64) ** 2, axis=1)
    return float(power[power >= power.max() * 1e-3].mean())
