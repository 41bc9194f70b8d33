"""One round of training from its own random draws: say, add the room's noise, embed, fit twice."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from earmuff.config import SAMPLE_RATE, Config
from earmuff.wakeword.train import augment, classifier, features, heap, synth, words
from earmuff.wakeword.train import phrase as phrase_mod
from earmuff.wakeword.train import windows as windows_mod
from earmuff.wakeword.train.progress import Progress
from earmuff.wakeword.train.speech_bank import Streams

if TYPE_CHECKING:
    from earmuff.wakeword.train.trainer import TrainOptions

NEG_STRIDE = 2  # one negative window every 160 ms of speech
HARD_NEGATIVES = 2000
VALIDATION = 5  # one in this many utterances and negative streams is held back from fitting
# Augmented copies of each of the owner's takes (at least twice `copies`), and of each half of a take as a negative:
# 16 rather than 4 copies heard synthetic owners' other sayings 12-17 points more often; the halves kept other people
# from waking it more (docs/benchmarks.md, "An owner's own voice after 5 takes").
OWNER_COPIES = 16
OWNER_HALF_COPIES = 4
OWNER_VAL_COPIES = 8  # fresh copies of each take, never fitted: how strict the threshold may be for the owner


@dataclass(frozen=True)
class Round:
    """One round's fitted (uncalibrated) model, its held-back validation data, counts and stage times."""

    model: classifier.Mlp
    val_frames: list[np.ndarray]
    val_hours: float
    val_pos: np.ndarray  # (sayings, windows of each, 16, 96)
    val_owner: np.ndarray  # the same of the owner's takes
    counts: dict[str, float]
    timings: dict[str, float]


@dataclass(frozen=True)
class Inputs:
    """What every round trains from: the name, its sound-alikes, the voice families, the room bank's windows."""

    name: str
    lang: str
    alikes: list[str]
    families: dict[str, list[str]]
    room_negatives: tuple[np.ndarray, ...]  # the room bank's chunks of windows, mapped from disk
    room_positives: np.ndarray
    bank_fit: Streams  # the speech bank's fitting half (embedding frames of recorded people)


def one_round(opts: TrainOptions, cfg: Config, inputs: Inputs, seed: int, label: str) -> Round:
    """Synthesize, augment, embed and fit once, from the random draws of `seed`."""
    rnd, rng, timings = random.Random(seed), np.random.default_rng(seed), {}
    pos_utts, single, talk = _plan(opts, inputs, rnd)
    bar = Progress(f"synthesize{label}", len(pos_utts) + len(single) + len(talk), quiet=opts.quiet)
    # Kept as float16 until used (half the memory; the synthesizers' own output is 16-bit).
    pos_clips = synth.speak_all(pos_utts, bar.tick, dtype=np.float16)
    neg_clips = synth.speak_all(single + talk, bar.tick, dtype=np.float16)
    timings["synthesize_s"] = round(bar.close(), 1)
    pos_clips = _sayings(inputs.name, pos_clips)

    bar = Progress(f"room noise{label}", 1, quiet=opts.quiet)
    residual = augment.jamming_residual(cfg, 30.0, seed=seed)
    bar.tick()
    timings["residual_s"] = round(bar.close(), 1)

    split = max(1, len(pos_clips) // VALIDATION)
    val_pos, fit_pos = pos_clips[:split], pos_clips[split:]
    streams = _negative_streams(neg_clips[: len(single)], neg_clips[len(single) :], rng, residual)
    del neg_clips
    n_val = max(1, len(streams) // VALIDATION)
    owner = list(opts.owner_clips)
    halves = _halves(owner)
    bar = Progress(
        f"features{label}", len(fit_pos) + len(val_pos) + 2 * len(owner) + len(halves) + len(streams), quiet=opts.quiet
    )
    x_pos = windows_mod.positive_windows(fit_pos, opts.copies, rng, residual, bar.tick)
    x_val_pos = windows_mod.positive_windows(val_pos, 1, rng, residual, bar.tick)
    x_owner = windows_mod.positive_windows(owner, max(OWNER_COPIES, 2 * opts.copies), rng, residual, bar.tick)
    x_halves = windows_mod.positive_windows(halves, OWNER_HALF_COPIES, rng, residual, bar.tick)
    # Drawn apart: the fitted model is the same with or without them.
    x_val_owner = windows_mod.positive_windows(
        owner, OWNER_VAL_COPIES, np.random.default_rng([seed, 1]), residual, bar.tick
    )
    neg_frames, hours = _embed_streams(streams, bar.tick)
    del streams
    features.release()  # on a Zero 2 W memory is the limit: the fit does not need the models
    timings["features_s"] = round(bar.close(), 1)
    fit_frames, val_frames = neg_frames[n_val:], neg_frames[:n_val]

    bar = Progress(f"fit{label}", 2 * classifier.MEMBERS, quiet=opts.quiet)  # both passes
    raw, n_neg, n_hard = _fit(opts, inputs, x_pos, x_owner, x_halves, fit_frames, seed, bar.tick)
    heap.give_back()  # what the fit freed (about 60 MB in a refit) would otherwise stay through the next round
    heap.forget_pages(inputs.room_negatives)  # and the room bank's pages it read (30 MB when full)
    timings["fit_s"] = round(bar.close(), 1)
    counts = {
        "positive_utterances": len(fit_pos),
        "positive_windows": len(x_pos),
        "negative_windows": n_neg,
        "hard_negatives": n_hard,
        "negative_hours": sum(hours[n_val:]),
        "validation_utterances": len(val_pos),
    }

    def sayings(x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, windows_mod.POS_WINDOWS, *x.shape[1:])

    return Round(raw, val_frames, sum(hours[:n_val]), sayings(x_val_pos), sayings(x_val_owner), counts, timings)


def _plan(opts: TrainOptions, inputs: Inputs, rnd: random.Random) -> tuple[list, list, list]:
    """What to say and in which voice: the name; single words (sound-alikes too); sentences of talk."""
    name, lang, fams, ex = inputs.name, inputs.lang, inputs.families, opts.exclude_voices
    pos_utts = synth.plan(name, lang, opts.positives, rnd, fams, ex)
    # Words said on their own, with silence around them as the name usually is: without these the model
    # learns "a short word after a pause" rather than the name.
    single = [u for t in inputs.alikes for u in synth.plan(t, lang, 10, rnd, fams, ex)]
    for text in words.single_words(opts.negative_sentences, rnd, tuple(name.split())):
        single += synth.plan(text, lang, 1, rnd, fams, ex)
    talk = []
    for text in words.sentences(opts.negative_sentences // 2, rnd, tuple(name.split())):
        talk += synth.plan(text, lang, 1, rnd, fams, ex)
    return pos_utts, single, talk


def _sayings(name: str, clips: list[np.ndarray]) -> list[np.ndarray]:
    """The synthesized sayings of the name long enough to be one; an error if most are too long for a window."""
    clips = [c for c in clips if len(c) > 1600]
    longest = windows_mod.CLIP - SAMPLE_RATE // 2
    if len([c for c in clips if len(c) > longest]) > len(clips) // 2:
        raise phrase_mod.PhraseError(
            f"wake phrase '{name}': takes {np.median([len(c) for c in clips]) / SAMPLE_RATE:.1f} s to say; "
            f"expected at most {longest / SAMPLE_RATE:.1f} s"
        )
    return clips


def _halves(takes: list[np.ndarray]) -> list[np.ndarray]:
    """Each take's first and second half, split in the middle of its speech (within 20 dB of its loudest): half a
    name is not the name."""
    out = []
    for take in takes:
        start, end = synth.sound_span(take, 20.0)
        if end:
            out += [take[: (start + end) // 2], take[(start + end) // 2 :]]
    return out


def _negative_streams(
    single: list[np.ndarray], talk: list[np.ndarray], rng: np.random.Generator, residual: np.ndarray
) -> list[Callable[[], np.ndarray]]:
    """Renderers of the negative streams in random order, then silence while jamming and quiet noise."""
    streams = windows_mod.negative_streams(single, rng, residual, (0.8, 1.8))
    # Sentences also end in silence, like the name does: without long pauses here, "end of speech" alone fires.
    streams += windows_mod.negative_streams(talk, rng, residual, (0.1, 1.6))
    streams = [streams[i] for i in rng.permutation(len(streams))]
    gain = 10 ** (rng.uniform(-3, 3) / 20)
    streams.append(lambda: np.tile(residual, 2) * gain)  # silence while jamming
    streams.append(lambda: augment.colored_noise(20 * SAMPLE_RATE, rng) * 10 ** (-60 / 20))
    return streams


def _embed_streams(
    streams: list[Callable[[], np.ndarray]], tick: Callable[[], None]
) -> tuple[list[np.ndarray], list[float]]:
    """Each stream's embedding frames and its length in hours."""
    frames, hours = [], []
    for render in streams:  # one stream's audio at a time: on a Zero 2 W memory is the limit
        audio = render()
        hours.append(len(audio) / SAMPLE_RATE / 3600)
        frames.append(features.embed(audio))
        del audio
        tick()
    return frames, hours


def _fit(
    opts: TrainOptions,
    inputs: Inputs,
    x_pos: np.ndarray,
    x_owner: np.ndarray,
    x_halves: np.ndarray,
    fit_frames: list[np.ndarray],
    seed: int,
    tick: Callable[[], None],
) -> tuple[classifier.Mlp, int, int]:
    """Fit on everything, then again with the hardest negatives added; the model, negative and hard windows."""
    half = [features.windows(f, NEG_STRIDE).astype(np.float16) for f in fit_frames]  # float16, as the fit reads it
    extra, room_pos = inputs.room_negatives, inputs.room_positives
    n_pos, n_neg, n_extra = len(x_pos) + len(x_owner) + len(room_pos), sum(map(len, half)), sum(map(len, extra))
    # Left in their parts (the room bank's chunks stay mapped from disk): the fit reads its mini-batches from them.
    parts = [
        x_pos.astype(np.float16),
        x_owner.astype(np.float16),
        room_pos.astype(np.float16),
        x_halves.astype(np.float16),
        *half,
        *extra,
    ]
    y = np.r_[np.ones(n_pos), np.zeros(len(x_halves) + n_neg + n_extra)].astype(int)
    weight = np.r_[
        np.ones(len(x_pos)),
        np.full(len(x_owner), opts.owner_weight),
        np.ones(len(room_pos)),
        np.full(len(x_halves), opts.owner_weight),
        np.ones(n_neg + n_extra),
    ]
    raw = classifier.fit(classifier.Rows(parts), y, weight, opts.hidden_units, seed, tick=tick)
    # Second pass on the negatives the first model found hardest (every window, not every other one), recorded
    # people's speech (the speech bank's fitting half) among them.
    hard = windows_mod.hardest(raw, inputs.bank_fit.after(fit_frames), extra, HARD_NEGATIVES)
    if len(hard):
        y = np.r_[y, np.zeros(len(hard), int)]
        weight = np.r_[weight, np.full(len(hard), 3.0)]
        raw = classifier.fit(classifier.Rows([*parts, hard]), y, weight, opts.hidden_units, seed, tick=tick)
    return raw, n_neg, len(hard)
