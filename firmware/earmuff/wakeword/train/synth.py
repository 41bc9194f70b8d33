"""Speech synthesis for training: many voice families at many rates and pitches, as 16 kHz float32."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from earmuff.wakeword.train import kokoro_voice, neural_voice, voices
from earmuff.wakeword.train.voices import Utterance

__all__ = ["Utterance", "plan", "speak", "speak_all", "trim", "sound_span", "families"]


def families(
    lang: str,
    enabled: Iterable[str],
    known: tuple[str, ...],
    exclude: frozenset[str] = frozenset(),
    say: Callable[[str], None] | None = None,
) -> dict[str, list[str]]:
    """The enabled families that can speak `lang` here, each with its voices; `say` hears which are left out and why."""
    out = {}
    for family in voices.FAMILIES:
        if family not in enabled or family in exclude:
            continue
        reason = voices.missing(family)
        found = [v for v in voices.voices(family, lang, known) if v not in exclude]
        if found:
            out[family] = found
        elif say and reason:
            say(f"voice family {family}: left out of training ({reason})")
    return out


def plan(
    text: str,
    lang: str,
    count: int,
    rng: random.Random,
    fams: dict[str, list[str]],
    exclude: frozenset[str] = frozenset(),
) -> list[Utterance]:
    """`count` varied utterances of `text`, each by a family drawn by weight, then a voice of it."""
    names = list(fams)
    weights = np.cumsum([voices.WEIGHT.get(f, 1.0) for f in names])
    variants = [v for v in voices.espeak_variants() if v not in exclude]
    out = []
    for _ in range(count):
        # Random, not in turn: negatives are planned one at a time and must get every family too,
        # or the model learns "sounds like flite" as the name.
        family = names[int(np.searchsorted(weights, rng.random() * weights[-1], side="right"))]
        out.append(voices.draw(family, text, rng.choice(fams[family]), rng, variants))
    return out


def speak(u: Utterance) -> np.ndarray:
    """Synthesize one utterance to 16 kHz mono float32, trimmed of silence."""
    return trim(voices.render(u))


def trim(x: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames more than floor_db below the loudest)."""
    if len(x) < 160:
        return x
    start, end = sound_span(x, floor_db)
    return x[start:end]


def sound_span(x: np.ndarray, floor_db: float = 40.0) -> tuple[int, int]:
    """First and past-the-last sample of the 10 ms frames within floor_db of the loudest; (0, 0) if none."""
    n = len(x) // 160 * 160
    power = np.mean(x[:n].reshape(-1, 160) ** 2, axis=1) if n else np.zeros(0)
    loud = np.flatnonzero(power > power.max(initial=0.0) * 10 ** (-floor_db / 10))
    return (int(loud[0]) * 160, (int(loud[-1]) + 1) * 160) if len(loud) else (0, 0)


def speak_all(
    utts: list[Utterance],
    tick: Callable[[], None] = lambda: None,
    workers: int = 2,
    seed: int = 0,
    dtype: type = np.float32,
) -> list[np.ndarray]:
    """Synthesize many utterances as `dtype`: the neural voices first, alone, then the others `workers` processes at a
    time; `tick` after each.

    A neural voice runs alone because it is the largest (Piper: 136 MB resident while it speaks) and a Zero 2 W has
    no room for it beside two festival processes (docs/benchmarks.md, "Training within a Zero 2 W's memory").
    A neural voice's own noise starts from `seed` on every call: the plan, not this, is what a training's seed varies.
    A saying that a voice fails to produce is left empty (and dropped by training), with one line on stderr.
    """
    out: list[np.ndarray] = [np.zeros(0, dtype)] * len(utts)
    failed: dict[str, str] = {}

    def one(i: int) -> None:
        try:
            out[i] = speak(utts[i]).astype(dtype)
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:  # RuntimeError: libsndfile, onnxruntime
            failed.setdefault(utts[i].engine, f"{type(exc).__name__}: {exc}")
        tick()

    try:
        for family in voices.NEURAL:  # in plan order: the voice's random draws then repeat
            mine = [i for i, u in enumerate(utts) if u.engine == family]
            if mine:
                _load(family, seed)
                for i in mine:
                    one(i)
                _release(family)
    finally:
        for family in voices.NEURAL:
            _release(family)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        others = [pool.submit(one, i) for i, u in enumerate(utts) if u.engine not in voices.NEURAL]
        try:
            for f in others:
                f.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)  # an error or Ctrl-C does not wait for the queue
            raise
    for family, why in failed.items():
        print(f"voice family {family}: some sayings failed and were left out ({why[:200]})", file=sys.stderr)
    return out


def _load(family: str, seed: int) -> None:
    (neural_voice if family == "piper" else kokoro_voice).load(seed)


def _release(family: str) -> None:
    (neural_voice if family == "piper" else kokoro_voice).release()
