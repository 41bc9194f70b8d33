"""Benchmark: is the name advice right? Short and long names, trained the quick way, scored on held-back voices.

    nice .venv/bin/python bench/bench_names.py [--names "nova,max,kira,hey bramble,okay marigold,hello juniper"]

Each name is trained as `earmuff wakeword set` trains its quick model (one round, no neural voices), with some
voices held out of training: flite awb, RHVoice clb, Pico en-GB, MBROLA us2, festival ked_diphone, espeak-ng's
Scottish accent. Those voices then say the name 40 times (rates, pitches, vocal tracts drawn as in training)
and 0.25 h of household sentences, each in the jamming residual at room levels (augment.stream). Reported:
the advice `set` gives, recall at the model's own threshold (0.5) and false accepts per hour of the sentences.
Synthetic voices only: no recordings of people.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

HELD_OUT = frozenset({"awb", "clb", "en-GB", "mb-us2", "ked_diphone", "en-gb-scotland"})


def held_out_audio(text_of, count, seed, voices=HELD_OUT):
    """`count` clips of texts (text_of(i)) by the held-out `voices` only."""
    from earmuff.wakeword.train import phrase, synth

    rnd = random.Random(seed)
    fams = synth.families("en-us", ("espeak-ng", "flite", "festival", "rhvoice", "pico", "mbrola"), phrase.languages())
    fams = {f: [v for v in vs if v in voices] for f, vs in fams.items()}
    fams = {f: vs for f, vs in fams.items() if vs}
    return synth.speak_all([synth.plan(text_of(i), "en-us", 1, rnd, fams)[0] for i in range(count)])


def household_talk(names, hours, seed, rng, residual):
    """Embedding frames and hours of household sentences (without the names' words) by the held-out voices."""
    from earmuff.wakeword.train import augment, features, words

    texts = words.sentences(
        int(hours * 3600 / 2.0), random.Random(seed + 1), tuple(w for n in names for w in n.split())
    )
    talk = augment.stream(held_out_audio(lambda i: texts[i], len(texts), seed + 1), rng, residual, pause_s=(0.2, 1.2))
    return features.embed(talk), len(talk) / 16000 / 3600


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", default="nova,max,kira,hey bramble,okay marigold,hello juniper")
    ap.add_argument("--hours", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from earmuff import config
    from earmuff.wakeword.registry import background
    from earmuff.wakeword.train import augment, classifier, features
    from earmuff.wakeword.train.advice import advise, syllables
    from earmuff.wakeword.train.trainer import options_from, quick, train

    cfg = config.Config()
    rng = np.random.default_rng(args.seed)
    residual = augment.jamming_residual(cfg, 30.0, seed=7)
    names = [n.strip() for n in args.names.split(",")]
    talk_frames, talk_h = household_talk(names, args.hours, args.seed, rng, residual)
    rows = []
    for name in names:
        t0 = time.perf_counter()
        opts = quick(options_from(cfg, name, "en-us", quiet=True, seed=args.seed, exclude_voices=HELD_OUT))
        model = train(opts, cfg).model
        took = time.perf_counter() - t0
        sayings = held_out_audio(lambda i: name, 40, args.seed + 2)
        hits = 0
        for clip in sayings:
            x = augment.stream([clip], rng, residual, pause_s=(1.2, 1.2))
            x = np.r_[augment.stream([], rng, residual)[:16000], x]  # a second of the room before the name
            hits += float(model.scores(features.windows(features.embed(x))).max(initial=0.0)) >= 0.5
        fa = classifier.count_events(model.scores(features.windows(talk_frames)), 0.5)
        rows.append((name, syllables(name, "en-us"), advise(name, "en-us"), hits / len(sayings), fa / talk_h, took))
        print(
            f"{name}: recall {hits}/{len(sayings)}, {fa} false accepts in {talk_h:.2f} h, {took:.0f} s", file=sys.stderr
        )
    print(f"| name | syllables | advice | recall (held-back voices) | false accepts/h ({talk_h:.2f} h of talk) |")
    print("|---|---|---|---|---|")
    for name, n, adv, recall, fa_h, _ in rows:
        short = "; ".join(a.split(":")[0].split(" (")[0] for a in adv) or "none"
        print(f"| {name} | {n} | {short} | {recall:.0%} | {fa_h:.1f} |")
    print(
        f"recipe: {background.QUICK} (rounds = {cfg.wakeword.quick_rounds}, no neural voices), seed {args.seed}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
