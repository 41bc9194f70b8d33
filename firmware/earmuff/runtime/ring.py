"""Single-producer single-consumer ring of audio blocks, without locks; its arrays may be shared memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEAD_FIELDS = 3  # blocks written (producer), blocks taken (consumer), blocks dropped (producer)


@dataclass(frozen=True)
class RingArrays:
    """The ring's storage: counters, and per slot its block's number, first sample, length and rows."""

    head: np.ndarray  # int64[HEAD_FIELDS]
    number: np.ndarray  # int64[slots]: which block the slot holds, written after its rows
    start: np.ndarray  # int64[slots]
    length: np.ndarray  # int64[slots]
    data: np.ndarray  # float32[slots, max_block, width]

    @classmethod
    def private(cls, slots: int, max_block: int, width: int) -> RingArrays:
        """Arrays for a ring between two threads of one process."""
        return cls(
            np.zeros(HEAD_FIELDS, np.int64),
            np.full(slots, -1, np.int64),
            np.zeros(slots, np.int64),
            np.zeros(slots, np.int64),
            np.zeros((slots, max_block, width), np.float32),
        )


class BlockRing:
    """Fixed slots of audio blocks with their sample time; the audio callback writes, the worker reads."""

    def __init__(self, slots: int, max_block: int, width: int, arrays: RingArrays | None = None) -> None:
        self.arrays = arrays or RingArrays.private(slots, max_block, width)
        self.head = self.arrays.head
        self.data = self.arrays.data
        self.slots = len(self.data)

    @property
    def written(self) -> int:
        """Blocks ever written; only the producer changes it."""
        return int(self.head[0])

    @property
    def taken(self) -> int:
        """Blocks ever read; only the consumer changes it."""
        return int(self.head[1])

    @property
    def dropped(self) -> int:
        """Blocks lost because the consumer fell behind (or was not there); only the producer changes it."""
        return int(self.head[2])

    def pending(self) -> int:
        """Blocks waiting to be read."""
        return self.written - self.taken

    def skip(self) -> None:
        """Forget every pending block (consumer side): a new consumer starts from now."""
        self.head[1] = self.head[0]

    def put(self, sample_index: int, rows: np.ndarray) -> None:
        """Copy one block in (producer side); drop and count it when the ring is full."""
        head, a = self.head, self.arrays
        written = int(head[0])
        if written - int(head[1]) >= self.slots:
            head[2] += 1
            return
        slot = written % self.slots
        n = len(rows)
        a.data[slot, :n] = rows
        a.start[slot] = sample_index
        a.length[slot] = n
        a.number[slot] = written
        head[0] = written + 1  # publish last, after the data is in place

    def get(self) -> tuple[int, np.ndarray] | None:
        """Return (sample index, copy of rows) of the oldest block, or None (consumer side)."""
        head, a = self.head, self.arrays
        taken = int(head[1])
        if int(head[0]) == taken:
            return None
        slot = taken % self.slots
        block = int(a.start[slot]), a.data[slot, : a.length[slot]].copy()
        whole = int(a.number[slot]) == taken  # else not yet visible in full: skip it rather than read half of it
        head[1] = taken + 1  # after the copy: the producer may reuse the slot from now on
        return block if whole else self.get()
