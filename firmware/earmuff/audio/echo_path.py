"""The microphone without earmuff's own sound: the reference aligned to it (`clock_drift.py`), then the canceller."""

from __future__ import annotations

import numpy as np

from earmuff.audio.clock_drift import ClockDrift
from earmuff.audio.echo_cancel import make_canceller


class EchoPath:
    """Clock drift and bulk delay undone on the reference, then echo cancellation ("none": the microphone as is)."""

    def __init__(self, kind: str, channels: int) -> None:
        self.kind, self.channels = kind, channels
        self.canceller = make_canceller(kind, channels=channels)
        self.drift = ClockDrift(channels) if kind != "none" else None
        self.frozen = False

    def freeze(self, frozen: bool) -> None:
        """Stop adapting (a window: what is played then is no masking noise to learn the path from)."""
        self.frozen = frozen
        self.canceller.freeze(frozen)

    def process(self, mic: np.ndarray, played: np.ndarray) -> np.ndarray:
        """The cleaned microphone for a block of `mic` and what was `played` (samples x channels) meanwhile."""
        if self.drift is not None:
            bulk = self.drift.bulk
            played = self.drift.align(mic, played)
            if self.drift.bulk != bulk:  # the echo moved in the reference: a filter fitted to where it was is wrong
                self.canceller = make_canceller(self.kind, channels=self.channels)
                self.canceller.freeze(self.frozen)
        return self.canceller.process(mic, played)
