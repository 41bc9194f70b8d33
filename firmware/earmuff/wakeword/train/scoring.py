"""One way to score a wake-word model: embedding windows in, probabilities out; over a stream, a take, held-back data.

A model is its window scores: `classifier.Mlp.scores` while training, `registry.publish.file_scores` for a model file.
The device itself scores frame by frame through openWakeWord (`runtime.detector`); tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from earmuff.config import SAMPLE_RATE
from earmuff.wakeword.train import classifier, features

Scores = Callable[[np.ndarray], np.ndarray]  # (n, 16, 96) embedding windows -> n probabilities in 0..1
# The threshold never loses more than a fifth of the held-back sayings: recorded prompts such as a lone "jay" made
# "jarvis" models so strict that they heard 57-78 % of real people at 0 false accepts/h; with this, 84-95 %, still
# at 0 (docs/benchmarks.md, "The speech bank").
KEEP_SAYINGS = 0.8


def of_frames(model: Scores, frames: np.ndarray) -> np.ndarray:
    """The score at every 80 ms step of a stream of embedding frames."""
    return model(features.windows(frames))


def best_in_take(model: Scores, take: np.ndarray) -> float:
    """The best score over a take, with silence around it as the name usually has (1 s before, 0.5 s after)."""
    padded = np.r_[np.zeros(SAMPLE_RATE, np.float32), take, np.zeros(SAMPLE_RATE // 2, np.float32)]
    return float(of_frames(model, features.embed(padded)).max(initial=0.0))


def held_back(
    model: Scores, streams: Sequence[np.ndarray], hours: float, sayings: np.ndarray, target_per_hour: float
) -> tuple[float, float, int]:
    """Threshold picked on held-back negative `streams` (embedding frames), but no stricter than one that keeps
    KEEP_SAYINGS of the held-back `sayings` (n, windows of each, 16, 96); the recall and false accepts at it."""
    stream_scores = [of_frames(model, f) for f in streams]
    threshold = classifier.pick_threshold(stream_scores, hours, target_per_hour)
    best = model(np.concatenate(sayings)).reshape(len(sayings), -1).max(axis=1) if len(sayings) else np.zeros(0)
    if len(best):
        threshold = max(0.5, min(threshold, float(np.quantile(best, 1 - KEEP_SAYINGS))))
    recall = float(np.mean(best >= threshold)) if len(best) else 0.0
    return threshold, recall, sum(classifier.count_events(s, threshold) for s in stream_scores)
