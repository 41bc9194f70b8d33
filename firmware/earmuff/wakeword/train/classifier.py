"""The wake-word classifier: a small MLP on (16, 96) embedding windows, and threshold choice."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from earmuff.wakeword.train.features import EMBED_DIM, THREADS, WINDOW

ALPHA = 1e-3  # L2 penalty
MAX_ITER = 40  # epochs
MAX_LOGIT = 9.0  # the strictest threshold pick_threshold may choose, as a logit (9: 0.9999)
BLOCK = 1024  # windows handled at once where a whole training set would need a copy
BATCH, LEARNING_RATE, TOL, NO_CHANGE = 256, 1e-3, 1e-5, 6  # mini-batch Adam; stop after NO_CHANGE epochs without gain
MEMBERS = 3  # networks fitted with consecutive seeds whose logits are averaged (merged into one wider network)
# Standard deviation of the uniform noise added to each mini-batch's standardised inputs, a regulariser: it raised
# real people's recall at <= 0.5 false accepts per hour from 26 to 45 % (one round; docs/benchmarks.md).
INPUT_NOISE = 2.0


@dataclass(frozen=True)
class Mlp:
    """A fitted one-hidden-layer network; input scaling folded into the first layer."""

    w1: np.ndarray  # (1536, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (hidden, 1)
    b2: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw scores of windows (n, 16, 96)."""
        out = np.zeros(len(x), np.float32)
        for i in range(0, len(x), BLOCK):
            h = np.maximum(x[i : i + BLOCK].reshape(-1, WINDOW * EMBED_DIM) @ self.w1 + self.b1, 0.0)
            out[i : i + BLOCK] = (h @ self.w2 + self.b2)[:, 0]
        return out

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Probabilities in 0..1 of windows (n, 16, 96), as the exported model computes them."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(x), -60, 60)))


class Rows:
    """A training set left in its parts (the room bank's mapped chunks among them), read by rows as one (n, 1536)
    array: fitting needs no copy of the whole set, which would not fit beside it in a Zero 2 W's memory."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = [p.reshape(len(p), WINDOW * EMBED_DIM) for p in parts if len(p)]
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        self.dtype = np.result_type(*self.parts) if self.parts else np.dtype(np.float16)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, rows: np.ndarray | slice) -> np.ndarray:
        """The rows at `rows` (indices or a slice), gathered from their parts."""
        idx = np.arange(len(self))[rows] if isinstance(rows, slice) else rows
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        out = np.empty((len(idx), WINDOW * EMBED_DIM), self.dtype)
        for g in np.unique(part):
            mine = part == g
            out[mine] = self.parts[g][idx[mine] - self.offsets[g]]
        return out


def merge(models: list[Mlp]) -> Mlp:
    """One network whose logit is the mean of the models' logits (their hidden layers side by side)."""
    k = len(models)
    return Mlp(
        np.concatenate([m.w1 for m in models], axis=1),
        np.concatenate([m.b1 for m in models]),
        (np.concatenate([m.w2 for m in models]) / k).astype(np.float32),
        (np.sum([m.b2 for m in models], axis=0) / k).astype(np.float32),
    )


def fit(
    x: np.ndarray | Rows,
    y: np.ndarray,
    weight: np.ndarray,
    hidden: int = 64,
    seed: int = 0,
    members: int | None = None,
    tick: Callable[[], None] = lambda: None,
) -> Mlp:
    """Fit `members` MLPs (default MEMBERS) on windows `x`, labels `y` (1 = the wake word) and weights; merged.

    `x` may be float16 (half the memory) and left in its parts (`Rows`): each mini-batch is standardised in float32
    as it is used, so no standardised copy of the training set is ever made (it would not fit in a Zero 2 W's memory).
    """
    z = x if isinstance(x, Rows) else Rows([x])
    mean, std = _moments(z)
    std += 1e-3
    count = members or MEMBERS
    # The networks are independent (each its own seed and draws): side by side they are the same networks, sooner
    # (numpy's matrix products let go of the interpreter lock).
    pool = ThreadPoolExecutor(min(count, THREADS), thread_name_prefix="earmuff-fit")
    try:
        jobs = [pool.submit(_fit_one, z, y, weight, hidden, seed + k, mean, std) for k in range(count)]
        nets = []
        for job in jobs:
            nets.append(job.result())
            tick()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # on Ctrl-C or an error: do not wait for the other networks
    return nets[0] if len(nets) == 1 else merge(nets)


def _moments(z: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation, block by block (numpy's std makes two copies of its input)."""
    total, squares = np.zeros(WINDOW * EMBED_DIM), np.zeros(WINDOW * EMBED_DIM)
    for i in range(0, len(z), BLOCK):
        block = z[i : i + BLOCK].astype(np.float64)
        total += block.sum(axis=0)
        squares += (block * block).sum(axis=0)
    mean = total / max(1, len(z))
    return mean.astype(np.float32), np.sqrt(np.maximum(squares / max(1, len(z)) - mean**2, 0.0)).astype(np.float32)


def _fit_one(
    z: Rows, y: np.ndarray, weight: np.ndarray, hidden: int, seed: int, mean: np.ndarray, std: np.ndarray
) -> Mlp:
    """One MLP (ReLU, logistic output, L2, Adam in mini-batches of BATCH), on rows of `z` standardised with
    `mean`/`std` batch by batch; the scaling is folded back into its first layer.

    The recipe, initialisation and stopping rule of scikit-learn's MLPClassifier (adam, batch_size 256,
    learning_rate_init 1e-3, tol 1e-5, n_iter_no_change 6), which it replaces: scikit-learn needs the whole
    standardised set in float32 or float64 and its import alone takes 70 MB with scipy.
    """
    rs, noise = np.random.RandomState(seed), np.random.default_rng([seed, 2])  # the noise's own draws
    n, d = len(z), WINDOW * EMBED_DIM
    params = []
    for fan_in, fan_out, factor in ((d, hidden, 6.0), (hidden, 1, 2.0)):  # Glorot-uniform, as scikit-learn does
        bound = np.sqrt(factor / (fan_in + fan_out))
        params += [
            rs.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
            rs.uniform(-bound, bound, fan_out).astype(np.float32),
        ]
    w1, b1, w2, b2 = params
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    # Balance the classes: positives are far fewer than the windows of ordinary speech.
    w = weight * np.where(y == 1, len(y) / (2 * max(1, y.sum())), len(y) / (2 * max(1, (y == 0).sum())))
    w = (w / w.mean()).astype(np.float32)
    yf = y.astype(np.float32)
    order, t, best, stale = np.arange(n), 0, np.inf, 0
    buf = np.empty((BATCH, d), np.float32)  # one batch's input noise
    for _ in range(MAX_ITER):
        shuffle = np.arange(n)
        rs.shuffle(shuffle)
        order = order[shuffle]
        total = 0.0
        for i in range(0, n, BATCH):
            idx = np.sort(order[i : i + BATCH])  # sorted: faster reads; the batch's rows are the same
            xb = (z[idx].astype(np.float32) - mean) / std
            if INPUT_NOISE:  # uniform, of that standard deviation (a fifth of the CPU of Gaussian draws), in place
                r = noise.random(dtype=np.float32, out=buf[: len(idx)])
                r -= np.float32(0.5)
                r *= np.float32(INPUT_NOISE * 12**0.5)
                xb += r
            yb, wb = yf[idx], w[idx]
            h = np.maximum(xb @ w1 + b1, 0.0)
            p = 1.0 / (1.0 + np.exp(-np.clip((h @ w2 + b2)[:, 0], -60, 60)))
            sw = float(wb.sum())
            eps = np.finfo(np.float32).eps
            pc = np.clip(p, eps, 1 - eps)
            loss = -float(np.sum(wb * (yb * np.log(pc) + (1 - yb) * np.log(1 - pc)))) / sw
            loss += 0.5 * ALPHA * (float(np.sum(w1 * w1)) + float(np.sum(w2 * w2))) / sw
            total += loss * len(idx)
            d2 = ((p - yb) * wb)[:, None]
            d1 = (d2 @ w2.T) * (h > 0)
            grads = [
                (xb.T @ d1 + ALPHA * w1) / sw,
                d1.sum(axis=0) / sw,
                (h.T @ d2 + ALPHA * w2) / sw,
                d2.sum(axis=0) / sw,
            ]
            t += 1
            lr = LEARNING_RATE * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            for k, g in enumerate(grads):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                params[k] -= (lr * m[k] / (np.sqrt(v[k]) + 1e-8)).astype(np.float32)
        epoch_loss = total / n
        stale = stale + 1 if epoch_loss > best - TOL else 0
        best = min(best, epoch_loss)
        if stale > NO_CHANGE:
            break
    w1s = (w1 / std[:, None]).astype(np.float32)
    b1s = (b1 - (mean / std) @ w1).astype(np.float32)
    return Mlp(w1s, b1s, w2.astype(np.float32), b2.astype(np.float32))


def calibrate(model: Mlp, threshold: float) -> Mlp:
    """The same model with its output shifted so that `threshold` becomes 0.5 (openWakeWord's usual cut)."""
    shift = np.log(threshold / (1 - threshold))
    return Mlp(model.w1, model.b1, model.w2, (model.b2 - shift).astype(np.float32))


def count_events(scores: np.ndarray, threshold: float, refractory: int = 25) -> int:
    """Detections in a stream of per-frame scores: crossings, then `refractory` frames (2 s) of deafness."""
    events, quiet_until = 0, -1
    for i in np.flatnonzero(scores >= threshold):
        if i >= quiet_until:
            events += 1
            quiet_until = i + refractory
    return events


def pick_threshold(
    neg_stream_scores: list[np.ndarray],
    hours: float,
    target_per_hour: float,
    lo: float = 0.5,
    hi: float = 0.99,
) -> float:
    """Lowest threshold (at least `lo`) whose false accepts on held-back negative streams meet the target."""
    grid = np.round(np.arange(lo, hi + 1e-9, 0.01), 2)
    grid = np.r_[grid, 1 / (1 + np.exp(-np.arange(np.log(hi / (1 - hi)) + 0.5, MAX_LOGIT + 1e-9, 0.5)))]
    allowed = target_per_hour * hours
    for t in grid:
        if sum(count_events(s, t) for s in neg_stream_scores) <= allowed:
            return float(t)
    return float(grid[-1])
