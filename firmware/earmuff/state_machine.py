"""When the pass-through window opens, how long its lease runs, and why it closes.

Pure logic on the sample clock, no audio and no threads, so every path can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SAMPLE_RATE, WindowConfig


@dataclass(frozen=True)
class Command:
    """What the noise gate should do: stay quiet until `open_until` (0: jam now) for window `window`."""

    open_until: int
    window: int
    reason: str | None = None  # why a window closed, on the step that closes it


class WindowStateMachine:
    """Jamming until a detection; then a window kept open by voice, ended by quiet or a hard maximum."""

    def __init__(self, cfg: WindowConfig, trigger_samples: int) -> None:
        s = SAMPLE_RATE
        self.lease = int(cfg.lease_s * s)
        self.quiet = int(cfg.quiet_s * s)
        self.max = int(cfg.max_s * s)
        self.prelude = int(cfg.pre_roll_s * s) + trigger_samples  # no quiet timer before "Alexa" has played
        self.window = 0
        self.is_open = False
        self.hard_end = 0
        self.last_voice = 0
        self.granted = 0  # the last lease handed to the gate

    def step(self, now: int, detected: bool, voice: bool, lapsed: bool = False) -> Command:
        """Advance to sample `now` with this frame's detection and voice activity.

        `lapsed` tells that the gate let the lease run out on its own (the worker was late).
        """
        if not self.is_open:
            if not detected:
                return Command(0, self.window)
            self.window += 1
            self.is_open = True
            self.hard_end = now + self.max
            self.last_voice = now + self.prelude
            return self._grant(now)
        reason = None
        if lapsed:
            reason = "max_window" if self.granted >= self.hard_end else "lease_expired"
        elif now >= self.hard_end:
            reason = "max_window"
        elif voice:
            self.last_voice = max(self.last_voice, now)
        elif now >= self.last_voice + self.quiet:
            reason = "quiet"
        if reason:
            self.is_open = False
            return Command(0, self.window, reason)
        return self._grant(now)

    def _grant(self, now: int) -> Command:
        self.granted = min(now + self.lease, self.hard_end)
        return Command(self.granted, self.window)
