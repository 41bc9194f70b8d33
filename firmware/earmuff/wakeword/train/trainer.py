"""Training a wake word from a typed phrase: synthesize, augment, embed, fit, pick a threshold, export."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from earmuff.config import Config, WakeWordTrainingConfig
from earmuff.wakeword.train import classifier, features, pronounce, scoring, speech_bank, synth
from earmuff.wakeword.train import phrase as phrase_mod
from earmuff.wakeword.train import rounds as rounds_mod
from earmuff.wakeword.train.progress import clock
from earmuff.wakeword.train.voices import NEURAL

# The device's own detections followed by a command: used once there are this many, each weighing as one
# synthetic saying (not as an owner's take), as one of them may be a false accept that people talked over.
ROOM_POSITIVE_MIN = 3
# Each round trains on its own synthetic audio from the seed plus this step times the round's index; the
# rounds' networks are averaged, which cancels much of what one round's draws alone make fire (docs/benchmarks.md).
ROUND_SEED_STEP = 1000


@dataclass(frozen=True, kw_only=True)
class TrainOptions(WakeWordTrainingConfig):
    """One training run: the [wakeword] recipe (its defaults unless given) and what this run trains on."""

    phrase: str
    lang: str = "en-us"
    seed: int = 0
    exclude_voices: frozenset[str] = frozenset()  # voices kept out of training (tests speak with them)
    owner_clips: tuple[np.ndarray, ...] = ()
    extra_negatives: tuple[np.ndarray, ...] = ()  # (n, 16, 96) windows of the room's talk: the room bank's chunks
    extra_positives: np.ndarray | None = None  # (n, 16, 96) windows that fired just before an owner's command
    rival: scoring.Scores | None = None  # the installed model, to compare with on this run's held-back data
    quiet: bool = False


@dataclass(frozen=True)
class TrainResult:
    """The calibrated model (0.5 = its threshold) and everything the sidecar reports."""

    model: classifier.Mlp
    meta: dict = field(default_factory=dict)


def options_from(cfg: Config, phrase: str, lang: str, **kw) -> TrainOptions:
    """TrainOptions with the config's [wakeword] recipe."""
    recipe = {f.name: getattr(cfg.wakeword, f.name) for f in fields(WakeWordTrainingConfig)}
    return TrainOptions(phrase=phrase, lang=lang, **recipe, **kw)


def quick(opts: TrainOptions) -> TrainOptions:
    """The quick model's recipe: `quick_rounds` rounds without the neural voices (the largest in memory)."""
    return replace(opts, rounds=opts.quick_rounds, voices=tuple(v for v in opts.voices if v not in NEURAL))


def _inputs(
    opts: TrainOptions, name: str, lang: str, bank: speech_bank.SpeechBank, say: Callable[[str], None] | None
) -> rounds_mod.Inputs:
    """The sound-alikes, the voice families that say the name right, the room bank's and the speech bank's frames."""
    alikes = phrase_mod.sound_alikes(name, lang)
    fams = synth.families(lang, opts.voices, phrase_mod.languages(), opts.exclude_voices, say)
    misread = pronounce.mispronouncing(name, lang, list(fams), say)
    fams = {f: v for f, v in fams.items() if f not in misread}
    if not fams:
        raise phrase_mod.PhraseError(
            f"language '{lang}': no enabled voice family speaks it here; "
            f"expected at least one of {list(opts.voices)} installed (scripts/setup.sh)"
        )
    none = np.zeros((0, features.WINDOW, features.EMBED_DIM), np.float32)
    room_pos = opts.extra_positives if opts.extra_positives is not None else none
    room_pos = room_pos if len(room_pos) >= ROOM_POSITIVE_MIN else none
    return rounds_mod.Inputs(name, lang, alikes, fams, opts.extra_negatives, room_pos, bank.fit)


def train(opts: TrainOptions, cfg: Config) -> TrainResult:
    """Run every stage of every round with a progress bar each; returns the calibrated model and its figures."""
    started = time.monotonic()
    name = phrase_mod.check_phrase(opts.phrase)
    lang = phrase_mod.check_language(opts.lang)
    bank = speech_bank.load(speech_bank.default_path()) if opts.speech_bank else speech_bank.NONE
    inputs = _inputs(opts, name, lang, bank, None if opts.quiet else (lambda line: print(line, file=sys.stderr)))
    rounds = []
    for r in range(opts.rounds):
        label = f" ({r + 1}/{opts.rounds})" if opts.rounds > 1 else ""
        rounds.append(rounds_mod.one_round(opts, cfg, inputs, opts.seed + ROUND_SEED_STEP * r, label))
        if not opts.quiet and r + 1 < opts.rounds:
            left = (time.monotonic() - started) / (r + 1) * (opts.rounds - r - 1)
            print(f"round {r + 1} of {opts.rounds} done; about {clock(left)} left in all", file=sys.stderr)
    raw = classifier.merge([r.model for r in rounds])
    val_frames = bank.held.after([f for r in rounds for f in r.val_frames])
    val_hours = sum(r.val_hours for r in rounds) + bank.held_hours
    x_val_pos = np.concatenate([r.val_pos for r in rounds])
    x_val_owner = np.concatenate([r.val_owner for r in rounds])
    counts = {k: sum(r.counts[k] for r in rounds) for k in rounds[0].counts}
    target = opts.target_false_accepts_per_hour
    threshold, recall, fa = scoring.held_back(raw.scores, val_frames, val_hours, x_val_pos, target, x_val_owner)
    validation: dict[str, Any] = {
        "recall": round(recall, 3),
        "positive_utterances": counts["validation_utterances"],
        "false_accepts": fa,
        "negative_hours": round(val_hours, 4),
        "recorded_speech_hours": round(bank.held_hours, 4),
        "false_accepts_per_hour": round(fa / val_hours, 2) if val_hours else None,
        "target_per_hour": target,
        "note": "synthetic sayings, and synthetic talk and recorded people's speech, held back from fitting; "
        "real voices will score lower",
    }
    if opts.rival is not None:  # the same figures for the installed model, its threshold picked on the same streams
        r_threshold, r_recall, r_fa = scoring.held_back(
            opts.rival, val_frames, val_hours, x_val_pos, target, x_val_owner
        )
        validation["rival"] = {"recall": round(r_recall, 3), "false_accepts": r_fa, "threshold": r_threshold}
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
            "room_bank_windows": sum(len(c) for c in inputs.room_negatives),
            "room_positive_windows": len(inputs.room_positives),
            "negative_hours": round(counts["negative_hours"], 4),
            "sound_alikes": inputs.alikes,
            "voice_families": {f: len(v) for f, v in inputs.families.items()},
        },
        "timings": {
            **{k: round(sum(r.timings[k] for r in rounds), 1) for k in rounds[0].timings},
            "total_s": round(time.monotonic() - started, 1),
        },
        "features": f"{features.FRONT_END}, 16 x 96",
    }
    return TrainResult(classifier.calibrate(raw, threshold), meta)
