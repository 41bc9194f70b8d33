"""Voice activity on the device microphone, by level: keeps the pass-through window open."""

from __future__ import annotations

import numpy as np


def level_dbfs(frame: np.ndarray) -> float:
    """RMS level of a float frame in dB relative to full scale."""
    return float(10 * np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))


class VoiceActivity:
    """Says whether a frame is louder than the room's quiet (a fixed, calibrated threshold)."""

    def __init__(self, threshold_dbfs: float) -> None:
        self.threshold_dbfs = threshold_dbfs

    def __call__(self, frame: np.ndarray) -> bool:
        """True when the frame holds sound above the threshold."""
        return level_dbfs(frame) > self.threshold_dbfs
