"""Room learning's bookkeeping on the worker: what the detector heard, and whether a wake-word window carried a command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from earmuff.config import SAMPLE_RATE
from earmuff.runtime.detector import Detector
from earmuff.runtime.state_machine import Command, WindowStateMachine

COMMAND_START = int(1.5 * SAMPLE_RATE)  # a command starts this soon after the trigger, or it is not one


class RoomCollector(Protocol):
    """Learns the room from what the detector hears (the wake-word registry's room bank)."""

    def observe(self, score: float, end: int, voice: bool, window: Callable[[], np.ndarray]) -> None: ...

    def detected(self, end: int) -> None: ...

    def window_closed(self, end: int, command: bool) -> None: ...

    def write(self, limit: int, max_days: float) -> dict[str, int]: ...


class RoomWatch:
    """Follows each wake-word window from its opening to its end, to tell the collector whether it carried a command."""

    def __init__(self) -> None:
        self.prelude_end: int | None = None  # in an open wake-word window: when the owner's command may start
        self.command_heard = False

    def step(
        self,
        room: RoomCollector,
        detector: Detector,
        machine: WindowStateMachine,
        end: int,
        detected: bool,
        opened: bool,
        voice: bool,
        cmd: Command,
    ) -> None:
        """Tell `room` what the frame ending at `end` held, and whether a window that closed carried a command."""
        room.observe(detector.last_score, end, voice, detector.window)
        if detected:
            room.detected(end)
        if opened:  # with the detection, or when the command to relay begins
            self.prelude_end, self.command_heard = machine.last_voice, machine.relay
        elif self.prelude_end is not None:
            # An owner speaks the command right after "Alexa"; talk that merely goes on may start later.
            self.command_heard |= voice and self.prelude_end < end <= self.prelude_end + COMMAND_START
            if cmd.reason:
                room.window_closed(end, self.command_heard)
                self.prelude_end = None
