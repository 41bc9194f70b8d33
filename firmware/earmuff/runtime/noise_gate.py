"""The real-time output side: noise unless a valid lease says quiet, ramps, and the trigger phrase.

Everything here runs inside the audio callback: it only copies and scales preallocated arrays.
The worker grants a lease (open until sample N, for window number G); when the lease runs out
the noise returns by itself, so a crashed, hung or late worker can never leave the speaker unjammed.
The lease, the adaptive level (a lease too: without one the noise plays at its full level), the gate's
published state and its events live in the arrays of `lease.py`, which may be shared memory: the
worker may be another process.
In a relay the lease also names how much of the owner's command in `clip` the gate may play after the trigger,
and whether more is coming: the listener keeps recording it into `clip` and granting further, the gate plays it
as a delay line (waiting in silence if it catches up, never noise while the window is open), clears each part as
it is played, and ends the relay at the final length.
"""

from __future__ import annotations

import numpy as np

from earmuff.runtime.lease import (
    JAM_OFF,
    JAM_ON,
    RELAY_END,
    RELAY_START,
    TRIGGER_END,
    TRIGGER_START,
    GateArrays,
    LeaseWriter,
)

DBFS_RANGE = (-60.0, -3.0)  # an adaptive level outside this is not a level: the noise plays at its full level
RELAY_GAP = 4000  # samples between the trigger and the relayed command: a short natural pause (0.25 s)


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


class NoiseGate(LeaseWriter):
    """Renders each output block: looped noise with ramps, silenced only under a valid lease."""

    def __init__(
        self,
        table: NoiseTable,
        trigger: np.ndarray,
        pre_roll: int,
        ramp: int,
        max_block: int,
        table_dbfs: float = -20.0,
        arrays: GateArrays | None = None,
        max_lease: int | None = None,
    ) -> None:
        self.table = table
        self.table_dbfs = table_dbfs  # the table's level: the adaptive level's maximum
        self.trigger = np.ascontiguousarray(trigger, np.float32)
        self.pre_roll = pre_roll
        self.step = 1.0 / ramp
        self.arrays = arrays or GateArrays.private()
        self.max_lease = max_lease  # a lease reaching further ahead than this is corrupt, not a lease
        # The last whole lease read: until, window, speak, level until, level, relay, more.
        self.read = (0, 0, 0, 0, 0.0, 0, 0)
        self.counter = int(self.arrays.state[0])  # samples rendered so far: the device's clock
        self.gain = 1.0  # on/off ramp position
        self.level = 1.0  # adaptive level, relative to the table's; moves towards level_target
        self.level_target = 1.0
        self.level_dbfs = 0.0
        self.level_valid = False
        self.is_open = False
        self.window = int(self.arrays.state[2])  # window number currently or last open
        self.trigger_pos = len(self.trigger)  # beyond the end: not playing
        self.relaying = False  # the open window relays the owner's command after the trigger, until it has ended
        self.relayed = 0  # samples of the clip played in this window
        self.relay_granted = 0  # samples of the clip the lease lets the gate play so far
        self.relay_final = False  # ... and no more will follow
        self.events = self.arrays.events
        self.events_written = int(self.arrays.state[3])
        self.xruns = int(self.arrays.state[4])
        self._slope = np.arange(1, max_block + 1, dtype=np.float32)
        self._gain = np.zeros(max_block, np.float32)

    @property
    def playing(self) -> bool:
        """Noise is coming out of the speakers (any thread may ask)."""
        return self.gain * self.level > 0

    def _read_lease(self) -> tuple[int, int, int, int, float, int, int]:
        """The lease as last written whole; a write in progress (or abandoned by a dead writer) keeps the last."""
        lease = self.arrays.lease
        seq = int(lease[0])
        if not seq & 1:
            read = (
                int(lease[1]),
                int(lease[2]),
                int(lease[3]),
                int(lease[4]),
                float(self.arrays.level[0]),
                int(lease[5]),
                int(lease[6]),
            )
            if int(lease[0]) == seq:
                self.read = read
        return self.read

    def render(self, out: np.ndarray, late: bool = False) -> None:
        """Fill `out` (frames x channels) for the speakers (callback side); `late`: the backend reported an xrun."""
        frames = len(out)
        until, window, speak, level_until, level_dbfs, relay, more = self._read_lease()
        # A window closed once stays closed: a late renewal must not reopen it.
        want_open = window > self.window or (window == self.window and self.is_open)
        want_open = want_open and self._holds(until)
        if want_open != self.is_open:
            self._switch(want_open, window, speak, relay or more)
        if self.relaying and window == self.window:  # the listener grants further as it records
            self.relay_granted, self.relay_final = min(max(relay, 0), len(self.arrays.clip)), not more
        self._level(level_until, level_dbfs)
        self._noise(out, frames)
        if self.trigger_pos < len(self.trigger) or self.relaying:
            self._mix_phrase(out, frames)
        self.counter += frames
        self.xruns += late
        state = self.arrays.state
        state[1], state[2], state[3], state[4] = self.is_open, self.window, self.events_written, self.xruns
        state[5], state[6] = int(self.gain * self.level * 1000), self.relayed
        state[0] = self.counter  # last: a reader that sees the new clock sees the rest of this block's state

    def _holds(self, until: int) -> bool:
        """A lease until sample `until` holds now: not run out, and not reaching further than a lease can."""
        return self.counter < until and (self.max_lease is None or until <= self.counter + self.max_lease)

    def _level(self, until: int, dbfs: float) -> None:
        """The adaptive level under a valid level lease; the table's full level without one."""
        valid = self._holds(until) and DBFS_RANGE[0] <= dbfs <= DBFS_RANGE[1]
        self.level_valid = valid  # the listener renews it every frame: without it, no listener is there
        if not valid:
            self.level_target, self.level_dbfs = 1.0, 0.0
        elif dbfs != self.level_dbfs:
            self.level_dbfs = dbfs
            self.level_target = min(1.0, 10 ** ((dbfs - self.table_dbfs) / 20))

    def _switch(self, now_open: bool, window: int, speak: int, relay: int) -> None:
        self.is_open = now_open
        if now_open:
            self.window = window
            self.relaying, self.relayed, self.relay_granted, self.relay_final = bool(speak and relay), 0, 0, False
            self.trigger_pos = -self.pre_roll if speak else len(self.trigger)
            self._record(JAM_OFF, self.counter)
        else:
            if 0 <= self.trigger_pos < len(self.trigger):
                self._record(TRIGGER_END, self.counter)
            elif self.relaying and self.relayed:  # cut short: the listener clears the rest
                self._record(RELAY_END, self.counter)
            self.trigger_pos, self.relaying = len(self.trigger), False
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

    def _mix_phrase(self, out: np.ndarray, frames: int) -> None:
        """The trigger from its position in this block; in a relay, after it and the gap, the command so far."""
        pos, length = self.trigger_pos, len(self.trigger)
        begin, src = max(0, -pos), max(0, pos)
        if begin < frames and src < length:
            n = min(frames - begin, length - src)
            if src == 0:
                self._record(TRIGGER_START, self.counter + begin)
            out[begin : begin + n] += self.trigger[src : src + n, np.newaxis]
            if src + n == length:
                self._record(TRIGGER_END, self.counter + begin + n)
        self.trigger_pos += frames
        if self.relaying:
            self._mix_relay(out, max(0, length + RELAY_GAP - pos), frames)

    def _mix_relay(self, out: np.ndarray, begin: int, frames: int) -> None:
        """Play on from `begin` in this block as much of the command as is granted; at the final length, end."""
        if begin >= frames:
            return
        clip, done = self.arrays.clip, self.relayed
        n = min(frames - begin, max(0, self.relay_granted - done))  # caught up: silence until more is granted
        if n:
            if done == 0:
                self._record(RELAY_START, self.counter + begin)
            out[begin : begin + n] += clip[done : done + n, np.newaxis]
            clip[done : done + n] = 0.0  # the owner's words stay in memory no longer than it takes to play them
            self.relayed = done + n
        if self.relay_final and self.relayed >= self.relay_granted:
            self.relaying = False
            if self.relayed:
                self._record(RELAY_END, self.counter + begin + n)

    def _record(self, code: int, sample: int) -> None:
        row = self.events[self.events_written % len(self.events)]
        row[0], row[1], row[2] = sample, code, self.window
        self.events_written += 1
