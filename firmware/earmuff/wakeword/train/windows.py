"""Training windows from audio: augmented positives, negative streams rendered on demand, the hardest negatives."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from earmuff.config import SAMPLE_RATE
from earmuff.wakeword.train import augment, classifier, features

CLIP = 34560  # 2.16 s: the last 3 windows of each positive clip, 80 ms apart
POS_WINDOWS = 3
STREAM_CLIPS = 16


def positive_windows(
    clips: list[np.ndarray], copies: int, rng: np.random.Generator, residual: np.ndarray, tick
) -> np.ndarray:
    """Augmented copies of each clip, the word ending 0.25-0.45 s before the clip's end; 3 windows each."""
    out: list[np.ndarray] = []
    for i in range(0, len(clips), 16):
        batch = []
        for clip in clips[i : i + 16]:
            for _ in range(copies):
                end = CLIP - int(rng.uniform(0.25, 0.45) * SAMPLE_RATE)
                batch.append(augment.augment(clip.astype(np.float32), CLIP, end, rng, residual))
        if batch:  # none when `copies` is 0
            out.extend(features.windows(f)[-POS_WINDOWS:] for f in features.embed_batch(np.stack(batch)))
        tick(len(clips[i : i + 16]))
    return np.concatenate(out) if out else np.zeros((0, features.WINDOW, features.EMBED_DIM), np.float32)


def negative_streams(
    clips: list[np.ndarray], rng: np.random.Generator, residual: np.ndarray, pause_s
) -> list[Callable[[], np.ndarray]]:
    """Groups of negative clips, each rendered on call as a continuous stream in the room, pauses of `pause_s` s."""
    order = rng.permutation(len(clips))

    def render(group: list[np.ndarray]) -> np.ndarray:
        return augment.stream([c.astype(np.float32) for c in group], rng, residual, pause_s=pause_s)

    return [
        functools.partial(render, [clips[i] for i in order[k : k + STREAM_CLIPS]])
        for k in range(0, len(order), STREAM_CLIPS)
    ]


def hardest(model: classifier.Mlp, frames: Sequence[np.ndarray], extra: Sequence[np.ndarray], count: int) -> np.ndarray:
    """The `count` negative windows (every window of each stream, then of each of `extra`'s arrays of windows, the
    room bank's chunks) scoring highest, above 0.05."""
    scores = [model.scores(features.windows(f)) for f in frames] + [model.scores(e) for e in extra]
    flat = np.concatenate(scores)
    top = np.argsort(flat)[-count:]
    top = top[flat[top] > 0.05]
    offsets = np.cumsum([0] + [len(s) for s in scores])
    group = np.searchsorted(offsets, top, side="right") - 1
    out = np.zeros((len(top), features.WINDOW, features.EMBED_DIM), np.float16)  # as the training set holds them
    for g in np.unique(group):  # each stream read once (the speech bank's are made float16 on reading)
        rows = np.flatnonzero(group == g)
        starts = top[rows] - offsets[g]
        out[rows] = (
            frames[g][starts[:, None] + np.arange(features.WINDOW)]
            if g < len(frames)
            else extra[g - len(frames)][starts]
        )
    return out
