"""The owner's requests to the worker: the button's wake and pause toggle, the control socket's pause and resume."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from earmuff.config import SAMPLE_RATE
from earmuff.runtime.state_machine import Command, WindowStateMachine

log = logging.getLogger(__name__)

WAKE, PAUSE, TOGGLE_PAUSE, RESUME = "wake", "pause", "toggle_pause", "resume"
KINDS = (WAKE, PAUSE, TOGGLE_PAUSE, RESUME)


class Requests:
    """(kind, seconds) requests put from any thread; the worker takes them at its next frame."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()

    def put(self, request: tuple[str, float]) -> None:
        """Queue a request; an unknown kind is refused here, in the thread that asked."""
        kind, _ = request
        if kind not in KINDS:
            raise ValueError(f"owner request {kind!r}: expected one of {', '.join(KINDS)}")
        self._queue.put(request)

    def take(
        self,
        end: int,
        machine: WindowStateMachine,
        apply: Callable[[Command], None],
        events: Callable[..., None],
    ) -> bool:
        """Apply the pause and resume requests at sample `end`; True when the owner's button asked for a window."""
        wake = False
        while True:
            try:
                kind, seconds = self._queue.get_nowait()
            except queue.Empty:
                return wake
            if kind == WAKE:
                wake = True
            elif kind == PAUSE or (kind == TOGGLE_PAUSE and not machine.paused):
                try:
                    apply(machine.pause(end, seconds))
                except ValueError as exc:  # a bad request changes nothing: the noise stays on
                    log.error("%s", exc)
                    continue
                events(end / SAMPLE_RATE, "paused", seconds=seconds)
            else:  # RESUME, or TOGGLE_PAUSE while paused
                apply(machine.resume())
