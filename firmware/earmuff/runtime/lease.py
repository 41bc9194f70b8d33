"""What the worker and the audio callback share: array layouts, event codes, and the worker's side of the lease.

The arrays may be shared memory (`shared.py`), so the worker may be another process. The lease is a seqlock:
a writer that died half-way leaves no lease. The callback's side is `noise_gate.NoiseGate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JAM_OFF, JAM_ON, TRIGGER_START, TRIGGER_END, RELAY_START, RELAY_END = 1, 2, 3, 4, 5, 6
EVENT_NAMES = {
    JAM_OFF: "jam_off",
    JAM_ON: "jam_on",
    TRIGGER_START: "trigger_start",
    TRIGGER_END: "trigger_end",
    RELAY_START: "relay_start",
    RELAY_END: "relay_end",
}
LEASE_FIELDS = 7  # seq (odd while being written), open until sample, window number, speak, level until sample,
# samples of the owner's command in `clip` the gate may play after the trigger so far, and 1 while the command is
# still being recorded (more samples may follow) or 0 once that length is final
STATE_FIELDS = 7  # counter, is_open, window, events written, xruns, gain in thousandths (0: silent), samples of the
# command relayed in this window
EVENT_SLOTS = 256


@dataclass(frozen=True)
class GateArrays:
    """The arrays the worker and the callback share: lease and level (worker), state and events (callback)."""

    lease: np.ndarray  # int64[LEASE_FIELDS]
    level: np.ndarray  # float64[1]: the adaptive level wanted, dBFS
    state: np.ndarray  # int64[STATE_FIELDS]
    events: np.ndarray  # int64[EVENT_SLOTS, 3]: (sample, code, window)
    clip: np.ndarray  # float32[relay capacity]: the owner's command to relay (worker), cleared as played (callback)

    @classmethod
    def private(cls, clip: int = 0) -> GateArrays:
        """Arrays of a gate whose worker is a thread of the same process; room for a `clip`-sample command."""
        return cls(
            np.zeros(LEASE_FIELDS, np.int64),
            np.zeros(1, np.float64),
            np.zeros(STATE_FIELDS, np.int64),
            np.zeros((EVENT_SLOTS, 3), np.int64),
            np.zeros(clip, np.float32),
        )


class LeaseWriter:
    """The worker's side of the lease: one writer; a seqlock, so a reader never pairs halves of two writes."""

    arrays: GateArrays

    def grant(self, until: int, window: int, speak: bool = True, relay: int = 0, more: bool = False) -> None:
        """Open or extend window `window` until sample `until`; `speak`: play the trigger when it opens, and
        then the first `relay` samples of `clip` (written before this grant); `more`: the command is still being
        recorded, so a later grant of the same window may raise `relay` (the gate waits in silence for it)."""
        lease = self.arrays.lease
        lease[0] |= 1
        lease[1], lease[2], lease[3], lease[5], lease[6] = until, window, speak, relay, more
        lease[0] += 1

    def revoke(self) -> None:
        """End the current lease now."""
        lease = self.arrays.lease
        lease[0] |= 1
        lease[1] = 0
        lease[0] += 1

    def set_level(self, dbfs: float, until: int) -> None:
        """Play the noise at `dbfs` until sample `until` (renewed every frame); after that at its full level."""
        lease = self.arrays.lease
        lease[0] |= 1
        self.arrays.level[0] = dbfs
        lease[4] = until
        lease[0] += 1
