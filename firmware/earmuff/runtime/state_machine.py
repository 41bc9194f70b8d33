"""When the pass-through window opens, how long its lease runs, and why it closes.

Pure logic on the sample clock, no audio and no threads, so every path can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from earmuff.config import SAMPLE_RATE, WindowConfig
from earmuff.runtime.noise_gate import RELAY_GAP


@dataclass(frozen=True)
class Command:
    """What the noise gate should do: stay quiet until `open_until` (0: jam now) for window `window`."""

    open_until: int
    window: int
    reason: str | None = None  # why a window closed, on the step that closes it
    speak: bool = True  # play the trigger when this window opens; an owner's pause stays quiet


MAX_PAUSE_S = 3600.0  # an owner's pause never silences the noise for longer than this


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
        self.paused = False  # the open window is an owner's pause, not a command window
        self.relay = False  # the open window relays the owner's command after the trigger

    def step(self, now: int, detected: bool, voice: bool, lapsed: bool = False, relay: bool = False) -> Command:
        """Advance to sample `now` with this frame's detection and voice activity.

        `lapsed` tells that the gate let the lease run out on its own (the worker was late); `relay`, with a
        detection, that the window opens by relaying the owner's command (`voice` holds it open while it plays).
        """
        if not self.is_open:
            if not detected:
                return Command(0, self.window)
            self.window += 1
            self.is_open = True
            self.hard_end = now + self.max
            self.relay = relay
            self.last_voice = now + self.prelude + (RELAY_GAP if relay else 0)  # quiet counts after it
            return self._grant(now)
        reason = None
        end = "pause_end" if self.paused else "max_window"
        if lapsed:
            reason = end if self.granted >= self.hard_end else "lease_expired"
        elif now >= self.hard_end:
            reason = end
        elif self.paused:
            pass  # a pause ignores voices and wake words; only its end, a lapse or resume() close it
        elif voice:
            self.last_voice = max(self.last_voice, now)
        elif now >= self.last_voice + self.quiet:
            reason = "quiet"
        if reason:
            self.is_open = self.paused = False
            return Command(0, self.window, reason)
        return self._grant(now)

    def pause(self, now: int, seconds: float) -> Command:
        """The owner asked for quiet: a new window, without the trigger, for at most MAX_PAUSE_S."""
        if not 0 < seconds <= MAX_PAUSE_S:
            raise ValueError(f"pause of {seconds} s: expected more than 0 and at most {MAX_PAUSE_S:.0f} s")
        self.window += 1
        self.is_open = self.paused = True
        self.relay = False
        self.hard_end = now + int(seconds * SAMPLE_RATE)
        return self._grant(now)

    def resume(self) -> Command:
        """End an owner's pause now; jamming resumes."""
        if not self.paused:
            return Command(0, self.window)
        self.is_open = self.paused = False
        return Command(0, self.window, "resumed")

    def _grant(self, now: int) -> Command:
        self.granted = min(now + self.lease, self.hard_end)
        return Command(self.granted, self.window, speak=not self.paused)
