"""Benchmark: does an owner's own voice wake the name more often after 5 recorded takes? Synthetic owners.

    nice .venv/bin/python bench/bench_owner.py [--name "hey bramble"] [--seed 0] [--sayings 40]
        [--opt owner_weight=16.0] [--set rounds.OWNER_COPIES=32]  (experiments)

The real people of ../shared/corpus carry no speaker labels, so an owner's own recall after recording cannot be
measured on them. Here each held-out voice of bench/bench_names.py (flite awb, RHVoice clb, Pico en-GB, MBROLA
us2, festival ked_diphone; never in training) stands for an owner in turn: one person, so one vocal tract, speaking
rate and pitch drawn once (as training draws them for a saying), and each saying within 8 % of that rate and 5 % of
that pitch. 5 takes of the name, said toward the device at -45..-30 dBFS over earmuff's jamming residual (the
noise stays on while `earmuff wakeword record` takes them), then `--sayings` other sayings by the same voice at
room levels. Quick models (what `set` installs first), the typed name alone and with the owner's 5 takes; recall at
each model's own threshold, and false accepts per hour of household sentences by all the held-out voices.
Synthetic voices only: a direction, not a figure for people.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import random
import sys

import numpy as np

from bench_names import HELD_OUT, household_talk
from benchlib import apply_settings


def owner_sayings(text: str, voice: str, count: int, seed: int) -> list[np.ndarray]:
    """`count` sayings of `text` by one person in `voice`: its vocal tract, rate and pitch drawn once, then varied."""
    from earmuff.wakeword.train import phrase, synth, voices

    fams = synth.families("en-us", ("flite", "festival", "rhvoice", "pico", "mbrola"), phrase.languages())
    family = next((f for f, vs in fams.items() if voice in vs), None)
    if family is None:
        return []
    rnd = random.Random(seed)
    person = voices.draw(family, text, voice, rnd, [])
    return synth.speak_all(
        [
            dataclasses.replace(
                person, rate=person.rate * rnd.uniform(0.92, 1.08), pitch=round(person.pitch * rnd.uniform(0.95, 1.05))
            )
            for _ in range(count)
        ]
    )


def recall(model, sayings, rng, residual) -> float:
    """Share of `sayings` heard at the model's own threshold, each after a second of the jammed room."""
    from earmuff.wakeword.train import augment, features

    hits = 0
    for clip in sayings:
        x = np.r_[augment.stream([], rng, residual)[:16000], augment.stream([clip], rng, residual, pause_s=(1.2, 1.2))]
        hits += float(model.scores(features.windows(features.embed(x))).max(initial=0.0)) >= 0.5
    return hits / len(sayings)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="hey bramble")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sayings", type=int, default=40)
    ap.add_argument("--hours", type=float, default=0.25)
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE", help="a recipe constant")
    ap.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE", help="a TrainOptions field")
    args = ap.parse_args()
    apply_settings(args.set, "earmuff.wakeword.train")
    changes = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.opt)}

    from earmuff import config
    from earmuff.wakeword.train import augment, classifier, features
    from earmuff.wakeword.train.trainer import options_from, quick, train

    cfg = config.Config()
    rng = np.random.default_rng(args.seed)
    residual = augment.jamming_residual(cfg, 30.0, seed=7)
    talk_frames, talk_h = household_talk([args.name], args.hours, args.seed, rng, residual)

    def trained(takes: tuple[np.ndarray, ...]):
        kw = {"quiet": True, "seed": args.seed, "exclude_voices": HELD_OUT, "owner_clips": takes}
        return train(dataclasses.replace(quick(options_from(cfg, args.name, "en-us", **kw)), **changes), cfg).model

    typed = trained(())
    typed_fa = classifier.count_events(typed.scores(features.windows(talk_frames)), 0.5) / talk_h
    rows = []
    for voice in sorted(HELD_OUT - {"en-gb-scotland"}):  # espeak-ng draws a new variant per saying: not one person
        said = owner_sayings(args.name, voice, 5 + args.sayings, args.seed + 2)
        if not said:
            print(f"{voice}: its voice family is not installed here; left out", file=sys.stderr)
            continue
        takes = tuple(
            augment.stream([c], rng, residual, speech_db=(-45.0, -30.0), pause_s=(0.3, 0.3)) for c in said[:5]
        )
        owned = trained(takes)
        fa = classifier.count_events(owned.scores(features.windows(talk_frames)), 0.5) / talk_h
        rows.append((voice, recall(typed, said[5:], rng, residual), recall(owned, said[5:], rng, residual), fa))
        print(f"{voice}: typed {rows[-1][1]:.0%}, with 5 takes {rows[-1][2]:.0%} ({fa:.1f} FA/h)", file=sys.stderr)
    print(
        f"| owner's voice | typed name: recall | with 5 takes: recall | with 5 takes: false accepts/h ({talk_h:.2f} h) |"
    )
    print("|---|---|---|---|")
    for voice, r_typed, r_owned, fa in rows:
        print(f"| {voice} | {r_typed:.0%} | {r_owned:.0%} | {fa:.1f} |")
    mean_t, mean_o = np.mean([r[1] for r in rows]), np.mean([r[2] for r in rows])
    print(f"| mean | {mean_t:.0%} | {mean_o:.0%} | typed name: {typed_fa:.1f} |")
    changed = " ".join(args.set + args.opt)
    print(
        f"name {args.name!r}, seed {args.seed}, {args.sayings} sayings per owner, quick recipe {changed}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
