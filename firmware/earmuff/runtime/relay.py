"""Relay: after the wake name, the owner's command recorded from the echo-cancelled microphone, in memory only.

Once voice follows the name the window opens: the gate plays the trigger and then, as a delay line, the command
while it is still being recorded. The recorder copies it, levelled and without its leading silence, into the
gate's clip as it comes and lets the gate play all of it; once the owner has been quiet for the quiet time (or
at the cap) the final length, at the end of the last voice, ends the relay at the end of speech, and this copy
is cleared. Pure logic on the sample clock and preallocated buffers: every path can be tested
without audio.
"""

from __future__ import annotations

import numpy as np

from earmuff.config import SAMPLE_RATE

WAIT = int(0.7 * SAMPLE_RATE)  # nothing said this soon after the name: pass-through, as without relay
LOOKBACK = int(0.6 * SAMPLE_RATE)  # the detector fires up to ~0.5 s after the name; the command may have begun
STEP = 160  # 10 ms: the resolution of the pause search and of the trimming
PAUSE_STEPS = 5  # 50 ms ...
PAUSE_DB = 20.0  # ... this far below the loudest of the look-back: the pause between the name and the command
MARGIN = int(0.05 * SAMPLE_RATE)  # kept around the speech when trimming
PEAK = 0.9  # the levelled clip never clips
FLOOR_FRAMES = 125  # the quietest 80 ms frame of the last 10 s before the name: the residual of the noise ...
ABOVE_FLOOR_DB = 10.0  # ... which a frame of the command exceeds by this much (the noise is on until it begins).
BELOW_NAME_DB = 20.0  # and a command is said about as loud as the name: the name's reverberant tail is far below it
# A residual that rises during the recording (an echo canceller upset by loud speech) is a floor too once it has
# lasted the quiet time: a command always ends, by quiet or by the cap.
ECHO_MARGIN_DB = 6.0  # and louder than this above what is left of earmuff's own sound: the level it played (the
# trigger, the relay) plus how far below it the canceller's output usually was while the noise played. Without
# it, the relay's residual echo would be recorded as more command, and relayed again.
PLAYED_DB = -90.0  # frames in which earmuff played less than this (a window) tell nothing about that residual
# A delay line records while it plays: if the canceller removed less than this of earmuff's noise over the last 10 s
# (noise too quiet to learn the echo from, a canceller just restarted or switched off), what it left of "Alexa" and of
# the relay was heard as more command and relayed again, to the cap: noise at -60 dBFS, 1 dB removed, 3 relays of 12
# cut; -50 dBFS, 7 dB, 1 of 13; -45 dBFS, 11 dB, none (docs/benchmarks.md, relay). The defaults remove 23-24 dB, the
# null sink of tests/test_relay.py 17-18 dB 8 s after start. Below it: pass-through.
MIN_REMOVED_DB = 10.0

WAITING, RECORDING = "waiting", "recording"  # before the first voice after the name, and after it


class Recorder:
    """Keeps the last LOOKBACK of audio; after a wake name records until quiet, the cap, or no voice at all, and
    feeds what it recorded into the gate's clip as it goes."""

    def __init__(self, cap: int, quiet: int) -> None:
        self.cap = cap
        self.quiet = quiet
        self.history = np.zeros(LOOKBACK, np.float32)
        self.levels = np.zeros(FLOOR_FRAMES)  # dBFS of the last frames (numbers, not audio)
        self.below_played = np.full(FLOOR_FRAMES, np.nan)  # ... and how far below what earmuff played then (dB)
        self.removed = np.full(FLOOR_FRAMES, np.nan)  # ... and how much quieter than the microphone before cancelling
        self.coupling = -120.0  # what is left of earmuff's own sound after the canceller, relative to it (dB)
        self.removed_db = 120.0  # how much of it the canceller removed (median, dB)
        self.played = (-120.0, -120.0)  # dBFS earmuff played in the last two frames (the echo comes late)
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
        self.why = ""  # why the last name fell back to pass-through
        self.begin = 0  # where the command starts in `buf`: what is played from
        self.copied = 0  # `buf` up to here is in the gate's clip, levelled
        self.voice_end = 0  # `buf` up to here holds voice: the relay ends there
        self.gain = 0.0  # 0: not chosen yet

    @property
    def active(self) -> bool:
        """Recording (or waiting for the command) after a wake name."""
        return self.state is not None

    def hear(self, frame: np.ndarray, level: float, played: float = -120.0, mic: float = -120.0) -> None:
        """Every frame of the echo-cancelled microphone (`level` dBFS; earmuff played `played` dBFS meanwhile, and the
        microphone heard `mic` dBFS before cancelling): into the look-back, and into the clip while recording."""
        i = self.heard % FLOOR_FRAMES
        self.levels[i] = level
        self.below_played[i] = level - played if played > PLAYED_DB else np.nan
        self.removed[i] = mic - level if played > PLAYED_DB else np.nan
        self.played = (self.played[1], played)
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
        self.why = "nothing said after the name"
        self.begin, self.copied, self.voice_end, self.gain = -1, 0, 0, 0.0
        self.floor = float(self.levels[: min(self.heard, FLOOR_FRAMES)].min()) if self.heard else -120.0
        last_second = self.levels[
            (self.heard - np.arange(1, min(self.heard, SAMPLE_RATE // self.frame) + 1)) % FLOOR_FRAMES
        ]
        self.name_db = float(last_second.max()) if self.heard else -120.0
        below = self.below_played[: min(self.heard, FLOOR_FRAMES)]
        below = below[np.isfinite(below)]
        self.coupling = float(np.median(below)) if len(below) else -120.0  # nothing played: no echo either
        removed = self.removed[: min(self.heard, FLOOR_FRAMES)]
        removed = removed[np.isfinite(removed)]
        self.removed_db = float(np.median(removed)) if len(removed) else 120.0
        begun = command_start(self.history)
        if begun is not None:  # kept, but a command only once voice follows the detection (not the name's tail)
            self.length, self.begin = LOOKBACK - begun, 0
            self.buf[: self.length] = self.history[begun:]

    def step(self, now: int, level: float, threshold: float) -> str | None:
        """After the frame ending at `now` at `level` dBFS: 'pass' (nothing said, or earmuff's own sound not cancelled
        well enough to record over it: `why` says which), 'open' (voice follows the name:
        relay it), 'end' (the command ended or hit the cap), or None. Voice: louder than `threshold`, than the noise's
        residual by ABOVE_FLOOR_DB, than the residual of what earmuff played by ECHO_MARGIN_DB, and no more than
        BELOW_NAME_DB below the name."""
        if self.state == WAITING and self.removed_db < MIN_REMOVED_DB:
            self.why = f"echo cancellation removed only {self.removed_db:.0f} dB of earmuff's noise (relay: {MIN_REMOVED_DB:g})"
            self.clear()
            return "pass"
        floor = self.floor
        if self.state == RECORDING:
            recent = self.levels[(self.heard - np.arange(1, max(1, self.quiet // self.frame) + 1)) % FLOOR_FRAMES]
            floor = max(floor, float(recent.min()))
        outcome = None
        echo = max(self.played) + self.coupling + ECHO_MARGIN_DB
        if level > max(threshold, floor + ABOVE_FLOOR_DB, self.name_db - BELOW_NAME_DB, echo):
            if self.state == WAITING:
                outcome = "open"
                if self.begin < 0:  # nothing kept from before the detection: the command starts with this frame
                    self.begin = max(0, self.length - self.frame - MARGIN)
            self.state, self.last_voice, self.voice_end = RECORDING, now, self.length
        if self.state == WAITING and now >= self.since + WAIT:
            self.clear()
            return "pass"
        if self.state == RECORDING and (now >= self.last_voice + self.quiet or self.length >= self.cap):
            self.cut = now < self.last_voice + self.quiet  # the owner had not finished at the cap
            return "end"
        return outcome

    def feed(self, into: np.ndarray, level_dbfs: float) -> int:
        """Copy what was recorded since the last call, levelled, into `into` (the gate's clip, from the command's
        start); how much of it the gate may play (all of it: holding back what may be a pause would put silence
        into the relayed command whenever a soft word is not heard as voice)."""
        self.copied = max(self.copied, self.begin)
        todo = self.buf[self.copied : self.length]
        peak = float(np.max(np.abs(todo))) if len(todo) else 0.0
        if not self.gain:  # chosen once, on the command so far: the level of a steady speaker
            power = active_power(self.buf[self.begin : self.length])
            self.gain = 10 ** (level_dbfs / 20) / np.sqrt(power) if power > 0 else 1.0
        self.gain = min(self.gain, PEAK / (peak + 1e-12))  # the levelled command never clips
        start = self.copied - self.begin
        np.multiply(todo, self.gain, out=into[start : start + len(todo)])
        self.copied = self.length
        return self.length - self.begin

    def finish(self, into: np.ndarray, level_dbfs: float) -> int:
        """The command has ended: copy the rest, clear what follows its last voice in `into` and this whole copy;
        the final length the gate plays (it ends there, or at once if it has played that far already)."""
        written = self.feed(into, level_dbfs)
        n = min(self.length, self.voice_end + MARGIN) - self.begin
        into[n:written] = 0.0
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


def active_power(x: np.ndarray) -> float:
    """Mean power over the 10 ms steps within 30 dB of the loudest: the level of speech, not of its pauses."""
    n = len(x) // STEP * STEP
    if n == 0:
        return 0.0
    power = np.mean(x[:n].reshape(-1, STEP).astype(np.float64) ** 2, axis=1)
    return float(power[power >= power.max() * 1e-3].mean())
