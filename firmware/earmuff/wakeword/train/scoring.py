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
# With an owner's takes, fresh copies of them (never fitted, at every level training draws) show how much stricter the
# threshold may go and still hear the owner: up to OWNER_MARGIN logits above the held-back data's threshold, while it keeps
# OWNER_KEEP of the copies. An hour and a half of held-back talk cannot tell 0.5 false accepts an hour from 5: synthetic
# owners' "computer" models fired 0-12.5 times an hour on real people at that pick, 0-1.6 with this (docs/benchmarks.md,
# "An owner's own voice in the goal's room").
OWNER_KEEP, OWNER_MARGIN = 0.75, 3.0


def of_frames(model: Scores, frames: np.ndarray) -> np.ndarray:
    """The score at every 80 ms step of a stream of embedding frames."""
    return model(features.windows(frames))


def best_in_take(model: Scores, take: np.ndarray) -> float:
    """The best score over a take, with silence around it as the name usually has (1 s before, 0.5 s after)."""
    padded = np.r_[np.zeros(SAMPLE_RATE, np.float32), take, np.zeros(SAMPLE_RATE // 2, np.float32)]
    return float(of_frames(model, features.embed(padded)).max(initial=0.0))


def held_back(
    model: Scores,
    streams: Sequence[np.ndarray],
    hours: float,
    sayings: np.ndarray,
    target_per_hour: float,
    owner: np.ndarray | None = None,
) -> tuple[float, float, int]:
    """Threshold picked on held-back negative `streams` (embedding frames), but no stricter than one that keeps
    KEEP_SAYINGS of the held-back `sayings` (n, windows of each, 16, 96), then moved towards the `owner`'s copies
    (the same shape) as far as OWNER_MARGIN and OWNER_KEEP allow; the recall and false accepts at it."""
    stream_scores = [of_frames(model, f) for f in streams]
    threshold = classifier.pick_threshold(stream_scores, hours, target_per_hour)
    best = _best(model, sayings)
    if len(best):
        threshold = max(0.5, min(threshold, float(np.quantile(best, 1 - KEEP_SAYINGS))))
    own = _best(model, owner) if owner is not None else np.zeros(0)
    if len(own):
        margin = 1 / (1 + np.exp(-(np.log(threshold / (1 - threshold)) + OWNER_MARGIN)))
        threshold = max(threshold, min(float(margin), float(np.quantile(own, 1 - OWNER_KEEP))))
    recall = float(np.mean(best >= threshold)) if len(best) else 0.0
    return threshold, recall, sum(classifier.count_events(s, threshold) for s in stream_scores)


def _best(model: Scores, sayings: np.ndarray) -> np.ndarray:
    """Each saying's best score over its windows."""
    return model(np.concatenate(sayings)).reshape(len(sayings), -1).max(axis=1) if len(sayings) else np.zeros(0)
