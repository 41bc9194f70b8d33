"""Voice activity on the device microphone, by level: keeps the pass-through window open, drives the noise level."""

from __future__ import annotations

import numpy as np


def level_dbfs(frame: np.ndarray) -> float:
    """RMS level of a float frame in dB relative to full scale."""
    return float(10 * np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))


def is_voice(level: float, threshold_dbfs: float) -> bool:
    """A frame holds sound (speech, TV, the smart speaker's answer) when it is louder than the quiet room."""
    return level > threshold_dbfs
