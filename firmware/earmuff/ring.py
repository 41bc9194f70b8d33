"""Single-producer single-consumer ring of audio blocks, safe without locks under the GIL."""

from __future__ import annotations

import numpy as np


class BlockRing:
    """Fixed slots of audio blocks with their sample time; the audio callback writes, the worker reads."""

    def __init__(self, slots: int, max_block: int, width: int) -> None:
        self.data = np.zeros((slots, max_block, width), np.float32)
        self.start = np.zeros(slots, np.int64)
        self.length = np.zeros(slots, np.int64)
        self.slots = slots
        self.written = 0  # blocks ever written; only the producer changes it
        self.taken = 0  # blocks ever read; only the consumer changes it
        self.dropped = 0  # blocks lost because the consumer fell behind; only the producer changes it

    def pending(self) -> int:
        """Blocks waiting to be read."""
        return self.written - self.taken

    def put(self, sample_index: int, rows: np.ndarray) -> None:
        """Copy one block in (producer side); drop and count it when the ring is full."""
        if self.written - self.taken >= self.slots:
            self.dropped += 1
            return
        slot = self.written % self.slots
        n = len(rows)
        self.data[slot, :n] = rows
        self.start[slot] = sample_index
        self.length[slot] = n
        self.written += 1  # publish last, after the data is in place

    def get(self) -> tuple[int, np.ndarray] | None:
        """Return (sample index, copy of rows) of the oldest block, or None (consumer side)."""
        if self.written == self.taken:
            return None
        slot = self.taken % self.slots
        block = int(self.start[slot]), self.data[slot, : self.length[slot]].copy()
        self.taken += 1
        return block
