"""The memory the audio process shares with the listener: a file in the runtime directory, mapped by both.

Layout (native int64 unless said, in this order): header [magic+version, audio pid, slots, max block, width,
listener pid, relay capacity, spare]; the gate's lease [seq, open until, window, speak, level until, relay,
more] and level (float64, dBFS), both written by the listener; the gate's state [counter, is open, window,
events written, xruns, gain x 1000, relayed] and events (256 x [sample, code, window]), written by the audio
process; the ring's head [written, taken, dropped] and per slot [block number], [first sample], [length], then
the rows (float32, slots x max block x (1 + channels): microphone, then what was played); the command to relay
(float32, relay capacity samples), written by the listener while it records the command and before each lease
that lets the gate play further into it, cleared as it is played.

Each audio process start writes a new file and renames it into place, so a listener never maps a half-made
one, and a listener notices a restarted audio process by the file's inode changing. numpy and stdlib only.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from pathlib import Path

import numpy as np

from earmuff.paths import Paths
from earmuff.runtime.lease import EVENT_SLOTS, LEASE_FIELDS, STATE_FIELDS, GateArrays, LeaseWriter
from earmuff.runtime.ring import HEAD_FIELDS, RingArrays

MAGIC = 0x6561726D75660003  # "earmuf", layout version 3
HEADER_FIELDS = 8


class AttachError(RuntimeError):
    """The shared memory is missing, from another layout version, or not an earmuff file."""


class Busy(RuntimeError):
    """Another process holds the lock: the message names it and what to do."""


def shm_path(paths: Paths) -> Path:
    """The audio process's shared memory file."""
    return paths.runtime / "audio.shm"


def _layout(slots: int, max_block: int, width: int, clip: int) -> list[tuple[str, type, tuple[int, ...]]]:
    return [
        ("header", np.int64, (HEADER_FIELDS,)),
        ("lease", np.int64, (LEASE_FIELDS,)),
        ("level", np.float64, (1,)),
        ("state", np.int64, (STATE_FIELDS,)),
        ("events", np.int64, (EVENT_SLOTS, 3)),
        ("head", np.int64, (HEAD_FIELDS,)),
        ("number", np.int64, (slots,)),
        ("start", np.int64, (slots,)),
        ("length", np.int64, (slots,)),
        ("data", np.float32, (slots, max_block, width)),
        ("clip", np.float32, (clip,)),
    ]


def _size(layout) -> int:
    return sum(int(np.prod(shape)) * np.dtype(kind).itemsize for _, kind, shape in layout)


class SharedAudio:
    """One mapping of the shared memory, as the gate's and the ring's arrays."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.inode = os.fstat(fd).st_ino
        size = os.fstat(fd).st_size
        self.map = mmap.mmap(fd, size)
        os.close(fd)  # the mapping keeps the file
        header = np.frombuffer(self.map, np.int64, HEADER_FIELDS)
        if size < HEADER_FIELDS * 8 or int(header[0]) != MAGIC:
            raise AttachError(
                f"{path}: not earmuff's shared memory of layout version {MAGIC & 0xFFFF} "
                "(the audio process is from another version: restart it with systemctl restart earmuff)"
            )
        slots, max_block, width, clip = (int(header[i]) for i in (2, 3, 4, 6))
        layout = _layout(slots, max_block, width, clip)
        if size != _size(layout):
            raise AttachError(
                f"{path}: {size} bytes, expected {_size(layout)} for {slots} slots of {max_block} x {width}"
            )
        views: dict[str, np.ndarray] = {}
        offset = 0
        for name, kind, shape in layout:
            count = int(np.prod(shape))
            views[name] = np.frombuffer(self.map, kind, count, offset).reshape(shape)
            offset += count * np.dtype(kind).itemsize
        self.header = views["header"]
        self.gate = GateArrays(views["lease"], views["level"], views["state"], views["events"], views["clip"])
        self.ring = RingArrays(views["head"], views["number"], views["start"], views["length"], views["data"])

    @classmethod
    def create(cls, slots: int, max_block: int, width: int, clip: int = 0, *, path: Path) -> SharedAudio:
        """A fresh file for this audio process with room for a `clip`-sample relay, renamed into place whole."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o660)
        try:
            os.ftruncate(fd, _size(_layout(slots, max_block, width, clip)))
            header = np.array([MAGIC, os.getpid(), slots, max_block, width, 0, clip, 0], np.int64)
            os.pwrite(fd, header.tobytes(), 0)
            shared = cls(path, os.dup(fd))
            shared.ring.number[:] = -1
            os.replace(tmp, path)
        finally:
            os.close(fd)
            tmp.unlink(missing_ok=True)
        return shared

    @classmethod
    def attach(cls, path: Path) -> SharedAudio:
        """Map the running audio process's file (`shm_path`, listener side); AttachError if there is none."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            raise AttachError(f"{path}: no audio process (start it: systemctl start earmuff)") from None
        return cls(path, fd)

    @property
    def audio_pid(self) -> int:
        """The process that made this file."""
        return int(self.header[1])

    def replaced(self) -> bool:
        """A newer audio process has put its own file in place, or removed this one."""
        try:
            return os.stat(self.path).st_ino != self.inode
        except FileNotFoundError:
            return True

    def remove(self) -> None:
        """Delete the file if it is still this one (audio side, on a stop the owner asked for)."""
        if not self.replaced():
            self.path.unlink(missing_ok=True)


class GateView(LeaseWriter):
    """The listener's view of the audio process's gate: it writes the lease, and reads what the gate did."""

    table = None  # the audio process owns the noise

    def __init__(self, arrays: GateArrays) -> None:
        self.arrays = arrays
        self.events = arrays.events
        lease = arrays.lease
        if int(lease[0]) & 1:  # a listener died in the middle of a write: finish it as "no lease"
            lease[1] = 0
            lease[0] += 1

    counter = property(lambda self: int(self.arrays.state[0]), doc="Samples the audio process has played.")
    is_open = property(lambda self: bool(self.arrays.state[1]), doc="The noise is off for a window or pause.")
    window = property(lambda self: int(self.arrays.state[2]), doc="The window open now or last.")
    events_written = property(lambda self: int(self.arrays.state[3]), doc="Gate events ever recorded.")
    xruns = property(lambda self: int(self.arrays.state[4]), doc="Blocks the backend reported late or lost.")
    playing = property(lambda self: int(self.arrays.state[5]) > 0, doc="Noise is coming out of the speakers.")
    relayed = property(lambda self: int(self.arrays.state[6]), doc="Samples of the command relayed in this window.")


def hold(path: Path, what: str, wait: bool = False) -> int:
    """Take the lock file `path` for this process (kept until it exits, however it exits); Busy if taken,
    or with `wait` block until its holder exits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o660)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise Busy(f"another earmuff {what} (pid {owner}) is already running (lock {path}); only one may run") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def held(path: Path) -> bool:
    """Whether some process holds the lock file `path` now."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
