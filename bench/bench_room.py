"""Benchmark: false accepts before and after a simulated day of learning the room.

    nice .venv/bin/python bench/bench_room.py --corpus ../shared/corpus [--quick]

For "computer" and "jarvis" trained from the typed name (typed), and with the 5 enrolment takes too (typed+5): a day of household audio (synthetic conversation
plus half of the dev-split recordings of the other keywords, and the owner saying the name five times, each
followed by a command) streams past the room collector exactly as the device feeds it (score, voice,
detections and whether a command followed); the bank it fills is the refit's extra data. Then an evening the
model never heard (other conversation, the other half of the keyword recordings) gives false accepts per
hour before and after, and the dev-split sayings of the name (1-3 m, 55-65 dB SPL, jamming on) the recall.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_wakeword import conversation, evaluate, place_clips, render, window_end_s
from benchlib import plot_recall_vs_fa

REFRACTORY = 25  # frames: 2 s, as count_events and the device's refractory time
WINDOW_S = 4.0  # how long a window stays open after a detection with nothing said


def day_in_the_room(model, streams, owner_spans, collector, threshold=0.5):
    """Feed a day's streams (frames, audio), one after another, to the collector as the device's worker does.

    Returns the false accepts seen. A detection inside an owner's span is followed by a command.
    """
    from earmuff.audio.vad import is_voice, level_dbfs
    from earmuff.config import FRAME, SAMPLE_RATE
    from earmuff.wakeword.train import features

    offset, false_accepts, open_until = 0, 0, None
    for frames, audio in streams:
        wins = features.windows(frames)
        scores = model.scores(wins)
        ends = window_end_s(np.arange(len(wins)))
        quiet_until = -1
        for i, (s, t) in enumerate(zip(scores, ends)):
            end = int(t * SAMPLE_RATE)
            level = level_dbfs(audio[max(0, end - FRAME) : end])
            collector.observe(float(s), offset + end, is_voice(level, -72.0), lambda i=i: wins[i])
            if open_until is not None and t >= open_until[0]:
                collector.window_closed(offset + end, command=open_until[1])
                open_until = None
            if s >= threshold and i >= quiet_until and open_until is None:
                quiet_until = i + REFRACTORY
                owner = offset == 0 and any(a <= t <= b + 1.5 for a, b in owner_spans)
                false_accepts += not owner
                collector.detected(offset + end)
                open_until = (t + WINDOW_S, owner)  # the owner goes on with a command; a false accept gets none
        if open_until is not None:
            collector.window_closed(offset + len(audio), command=open_until[1])
            open_until = None
        offset += len(audio)
    return false_accepts


def one_day(cfg, word, owner, day, owner_spans, pos, negs) -> dict:
    """Train from the typed name (and the owner's takes), live the day, refit; both models on the evening."""
    from earmuff.paths import Paths
    from earmuff.wakeword.registry import room_bank
    from earmuff.wakeword.train.trainer import options_from, train

    room_bank.forget(Paths.from_env())
    t1 = time.perf_counter()
    before = train(options_from(cfg, word, "en-us", owner_clips=owner, quiet=True), cfg)
    train_s = time.perf_counter() - t1
    collector = room_bank.Collector(Paths.from_env(), room_bank.positive_kind(word))
    day_fa = day_in_the_room(before.model, day, owner_spans, collector)
    written = collector.write(cfg.wakeword.room_bank_max, cfg.wakeword.room_bank_max_days)
    t1 = time.perf_counter()
    after = train(
        options_from(
            cfg,
            word,
            "en-us",
            owner_clips=owner,
            quiet=True,
            extra_negatives=room_bank.chunks(Paths.from_env()),
            extra_positives=room_bank.load(Paths.from_env(), room_bank.positive_kind(word)),
        ),
        cfg,
    )
    row = {
        "day_false_accepts": day_fa,
        "bank": written,
        "train_s": round(train_s, 1),
        "refit_s": round(time.perf_counter() - t1, 1),
        "curves": {},
    }
    for label, res in (("before", before), ("after", after)):
        curve, neg_h, _, _ = evaluate(res.model, pos, negs)
        op = next(c for c in curve if c[4] == 0.0)  # logit 0: the model's own threshold
        row[label] = {
            "threshold": res.meta["threshold"],
            "recall": op[1],
            "fa_per_h": round(op[2], 2),
            "false_accepts": op[3],
            "negative_hours": round(neg_h, 2),
        }
        row["curves"][label] = [(round(c[1], 4), round(c[2], 3), c[4]) for c in curve]
    # The same recall as before, after: the strictest threshold of the refitted model that keeps it.
    same = [c for c in row["curves"]["after"] if c[0] >= row["before"]["recall"]]
    row["after_at_same_recall"] = (
        {"logit": same[-1][2], "recall": same[-1][0], "fa_per_h": same[-1][1]} if same else None
    )
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.environ.get("EARMUFF_CORPUS", "../shared/corpus"))
    ap.add_argument("--quick", action="store_true", help="fewer clips and 10 min of talk (a smoke run)")
    ap.add_argument(
        "--hours", type=float, default=1.0, help="synthetic conversation in the day, and again in the evening"
    )
    ap.add_argument("--words", default="computer,jarvis")
    ap.add_argument("--labels", default="typed,typed+5", help="typed (text only), typed+5 (and the 5 enrolment takes)")
    ap.add_argument("--json", default="/tmp/bench_room_results.json")
    ap.add_argument("--plot", default=str(Path(__file__).resolve().parents[1] / "docs/img/room_learning.png"))
    args = ap.parse_args()
    dev = Path(args.corpus) / "wake-word-benchmark" / "dev"
    if not dev.is_dir():
        print(f"SKIPPED: no corpus at {dev} (pass --corpus PATH); nothing was measured")
        return 0
    os.environ["EARMUFF_HOME"] = tempfile.mkdtemp(prefix="bench-room-")
    from earmuff import config
    from earmuff.audio.files import read_audio
    from earmuff.paths import Paths
    from earmuff.wakeword.train import features

    cfg = config.load(Paths.from_env().config)
    hours = 10 / 60 if args.quick else args.hours
    rng = np.random.default_rng(11)
    t0 = time.perf_counter()
    talk, talk_s, _ = conversation(hours, 101, tuple(args.words.split(",")))
    day_talk_audio = render(talk, talk_s, 51, cfg)
    day_talk = (features.embed(day_talk_audio), day_talk_audio)
    talk, talk_s, _ = conversation(hours, 202, tuple(args.words.split(",")))
    eve_talk = {"frames": features.embed(render(talk, talk_s, 53, cfg)), "seconds": talk_s}
    print(f"conversations rendered and embedded in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    keywords = sorted(p.name for p in dev.iterdir() if p.is_dir())
    results = {}
    for word in args.words.split(","):
        files = sorted(glob.glob(str(dev / word / "*.flac")))
        enrol, test = files[:5], files[5:][: 40 if args.quick else None]
        others = [f for kw in keywords if kw != word for f in sorted(glob.glob(str(dev / kw / "*.flac")))]
        random.Random(5).shuffle(others)
        if args.quick:
            others = others[:200]
        day_clips, eve_clips = others[::2], others[1::2]
        t0 = time.perf_counter()
        # The day: the owner's five sayings first among the keyword clips, then the conversation.
        talkers, spans, secs = place_clips(enrol + day_clips, rng, gap_s=6.0)
        owner_spans = spans[: len(enrol)]
        day_audio = render(talkers, secs, 51, cfg)
        day = [(features.embed(day_audio), day_audio), day_talk]
        day_hours = (secs + len(day_talk[1]) / 16000) / 3600
        talkers, _, secs = place_clips(eve_clips, rng, gap_s=3.0)
        negs = [{"frames": features.embed(render(talkers, secs, 52, cfg)), "seconds": secs}, eve_talk]
        talkers, spans, secs = place_clips(test, rng)
        pos = {"frames": features.embed(render(talkers, secs, 54, cfg)), "spans": spans}
        render_s = time.perf_counter() - t0

        for label in args.labels.split(","):
            owner = tuple(read_audio(f) for f in enrol) if label == "typed+5" else ()
            row = one_day(cfg, word, owner, day, owner_spans, pos, negs)
            row.update(day_hours=round(day_hours, 2), render_embed_s=round(render_s, 1), positives=len(test))
            results[f"{word} {label}"] = row
            print(json.dumps({f"{word} {label}": {k: v for k, v in row.items() if k != "curves"}}), file=sys.stderr)
    Path(args.json).write_text(json.dumps(results, indent=1))
    plot_recall_vs_fa(
        {
            f"{name}, {k} the day": [(fa, rec) for rec, fa, _ in r["curves"][k]]
            for name, r in results.items()
            for k in ("before", "after")
        },
        Path(args.plot),
        "false accepts per hour (evening: other keywords + synthetic talk; 0 drawn at 0.05)",
        "recall (dev-split speakers, jammed room)",
    )
    print(json.dumps({w: {k: v for k, v in r.items() if k != "curves"} for w, r in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
