"""The real-time output side: noise unless a valid lease says quiet, ramps, and the trigger phrase.

Everything here runs inside the audio callback: it only copies and scales preallocated arrays.
The worker grants a lease (open until sample N, for window number G); when the lease runs out
the noise returns by itself, so a crashed, hung or late worker can never leave the speaker unjammed.
"""

from __future__ import annotations

import numpy as np

JAM_OFF, JAM_ON, TRIGGER_START, TRIGGER_END = 1, 2, 3, 4
EVENT_NAMES = {JAM_OFF: "jam_off", JAM_ON: "jam_on", TRIGGER_START: "trigger_start", TRIGGER_END: "trigger_end"}


class NoiseTable:
    """A loop of noise the callback plays; the worker keeps overwriting the part far ahead of playback."""

    def __init__(self, initial: np.ndarray) -> None:
        self.rows = np.ascontiguousarray(initial, np.float32)
        self.size = len(self.rows)
        self.filled_to = self.size  # absolute playback position up to which fresh noise was written

    def refill(self, play_position: int, generate) -> None:
        """Write fresh noise up to half a table ahead of playback (worker side)."""
        target = play_position + self.size // 2
        while self.filled_to < target:
            block = generate(1600)
            start = self.filled_to % self.size
            self.rows[start : start + len(block)] = block[: self.size - start]
            self.filled_to += len(block)


class NoiseGate:
    """Renders each output block: looped noise with ramps, silenced only under a valid lease."""

    def __init__(self, table: NoiseTable, trigger: np.ndarray, pre_roll: int, ramp: int, max_block: int) -> None:
        self.table = table
        self.trigger = np.ascontiguousarray(trigger, np.float32)
        self.pre_roll = pre_roll
        self.step = 1.0 / ramp
        self.lease = np.zeros(3, np.int64)  # [open until sample, window number, speak]; written by the worker
        self.counter = 0  # samples rendered so far: the device's clock
        self.gain = 1.0  # on/off ramp position
        self.level = 1.0  # adaptive level, relative to the table's; moves towards level_target
        self.level_target = 1.0  # written by the worker
        self.is_open = False
        self.window = 0  # window number currently or last open
        self.trigger_pos = len(self.trigger)  # beyond the end: not playing
        self.events = np.zeros((256, 3), np.int64)  # (sample, code, window)
        self.events_written = 0
        self._slope = np.arange(1, max_block + 1, dtype=np.float32)
        self._gain = np.zeros(max_block, np.float32)

    def grant(self, until: int, window: int, speak: bool = True) -> None:
        """Open or extend window `window` until sample `until`; `speak`: play the trigger when it opens (worker side)."""
        self.lease[0] = until  # the limit first, so the callback never pairs a new window with an old limit
        self.lease[2] = speak  # before the window number, for the same reason
        self.lease[1] = window

    def revoke(self) -> None:
        """End the current lease now (worker side)."""
        self.lease[0] = 0

    def render(self, out: np.ndarray) -> None:
        """Fill `out` (frames x channels) for the speakers (callback side)."""
        frames = len(out)
        window = int(self.lease[1])
        # A window closed once stays closed: a late renewal must not reopen it.
        want_open = window > self.window or (window == self.window and self.is_open)
        want_open = want_open and self.counter < self.lease[0]
        if want_open != self.is_open:
            self._switch(want_open, window)
        self._noise(out, frames)
        if self.trigger_pos < len(self.trigger):
            self._mix_trigger(out, frames)
        self.counter += frames

    def _switch(self, now_open: bool, window: int) -> None:
        self.is_open = now_open
        if now_open:
            self.window = window
            self.trigger_pos = -self.pre_roll if self.lease[2] else len(self.trigger)
            self._record(JAM_OFF, self.counter)
        else:
            if 0 <= self.trigger_pos < len(self.trigger):
                self._record(TRIGGER_END, self.counter)
            self.trigger_pos = len(self.trigger)
            self._record(JAM_ON, self.counter)

    def _noise(self, out: np.ndarray, frames: int) -> None:
        pos = self.counter % self.table.size
        first = min(frames, self.table.size - pos)
        out[:first] = self.table.rows[pos : pos + first]
        out[first:frames] = self.table.rows[: frames - first]
        # At most 3 dB per block: level changes stay inaudible steps in the noise, and an attack takes ~80 ms.
        self.level = min(max(self.level_target, self.level * 0.708), self.level * 1.413)
        target = 0.0 if self.is_open else 1.0
        if self.gain == target:
            if target == 0.0:
                out.fill(0.0)
            elif self.level != 1.0:
                out *= self.level
            return
        gain = self._gain[:frames]
        np.multiply(self._slope[:frames], self.step if target > self.gain else -self.step, out=gain)
        gain += self.gain
        np.clip(gain, 0.0, 1.0, out=gain)
        self.gain = float(gain[-1])
        gain *= self.level
        out *= gain[:, np.newaxis]

    def _mix_trigger(self, out: np.ndarray, frames: int) -> None:
        begin = max(0, -self.trigger_pos)
        if begin < frames:
            src = max(0, self.trigger_pos)
            n = min(frames - begin, len(self.trigger) - src)
            if src == 0:
                self._record(TRIGGER_START, self.counter + begin)
            out[begin : begin + n] += self.trigger[src : src + n, np.newaxis]
            if src + n == len(self.trigger):
                self._record(TRIGGER_END, self.counter + begin + n)
        self.trigger_pos += frames

    def _record(self, code: int, sample: int) -> None:
        row = self.events[self.events_written % len(self.events)]
        row[0], row[1], row[2] = sample, code, self.window
        self.events_written += 1
