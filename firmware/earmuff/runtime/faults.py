"""Faults injected into the real firmware code by a scene, to prove it fails closed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from earmuff.config import SAMPLE_RATE

# The hardware's faults act on the virtual room's paths (simulate.py): the speakers' output times a gain (a dead
# amplifier, a mixer turned down 20 dB), or the microphone's (dead: zeros).
HARDWARE = {"amp_dead": ("speakers", 0.0), "mixer_low": ("speakers", 0.1), "mic_dead": ("microphone", 0.0)}
KINDS = ("detector_raise", "detector_hang", "worker_stall", *HARDWARE)


@dataclass(frozen=True)
class Fault:
    """One injected fault: what, when (audio time) and for how long (raise, hardware: audio time; hang, stall: wall time)."""

    kind: str
    at_s: float
    duration_s: float = 1.0


class InjectedFault(RuntimeError):
    """The error a detector_raise fault throws."""


class FaultInjector:
    """Fires each fault once the worker reaches its audio time; reports each the first time it fires."""

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self.faults = faults
        self.fired: set[int] = set()

    def check(self, where: str, sample: int, report) -> None:
        """Apply the faults of kind group `where` ('detector' or 'worker') due at `sample`."""
        t = sample / SAMPLE_RATE
        for i, f in enumerate(self.faults):
            if not f.kind.startswith(where) or t < f.at_s:
                continue
            first = i not in self.fired
            if first:
                self.fired.add(i)
                report(f.at_s, "fault", kind=f.kind, duration_s=f.duration_s)
            if f.kind == "detector_raise" and t < f.at_s + f.duration_s:
                raise InjectedFault(f"injected detector_raise at {f.at_s} s")
            if first and f.kind in ("detector_hang", "worker_stall"):
                time.sleep(f.duration_s)


def path_gain(faults: tuple[Fault, ...], path: str, t: float) -> float:
    """The gain of the virtual room's `path` ('speakers' or 'microphone') at audio time `t` under hardware faults."""
    gain = 1.0
    for f in faults:
        if f.kind in HARDWARE and HARDWARE[f.kind][0] == path and f.at_s <= t < f.at_s + f.duration_s:
            gain *= HARDWARE[f.kind][1]
    return gain
