"""Benchmark: wake words trained from typed text, heard through the jammed virtual room.

    nice /tmp/venv/bin/python tests/bench_wakeword.py --corpus ../shared/corpus [--quick]

Positives: dev-split recordings of real people saying "computer" / "jarvis", 1-3 m away at 55-65 dB SPL.
Negatives: the other dev-split keywords, plus synthetic conversations (>= 1 hour unless --quick), played
as long continuous streams. Talkers go through the room model (distance, reverberation, level); on top comes
earmuff's own jamming residual, rendered by the device's Room/NoiseGenerator/echo canceller (see render()).
Writes the table for docs/benchmarks.md to stdout and a plot to docs/img/wakeword_recall_vs_fa.png.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HOP = 1280


_RESIDUAL: dict = {}


def render(talkers, seconds, seed, cfg):
    """What the detector hears: talkers through the room, plus earmuff's own noise left after echo cancellation.

    The talkers' path is the room model's (direct sound, reverberation, level at 1 m). The jamming residual is
    rendered once (60 s) by the same Room, NoiseGenerator and echo canceller the device runs, and looped: the
    full block-by-block simulation costs ~10x more CPU, too much for hours of audio on a shared machine.
    """
    from scipy.signal import fftconvolve

    from earmuff.room import Acoustics, active_rms, db_gain, room_response
    from earmuff.wakeword.augment import jamming_residual

    if "x" not in _RESIDUAL:
        _RESIDUAL["x"] = jamming_residual(cfg, 60.0, seed=5)
    residual = _RESIDUAL["x"]
    sr = 16000
    n = int(seconds * sr)
    rng = np.random.default_rng(seed)
    ac = Acoustics()
    out = np.zeros(n, np.float64)
    for clip, start, dist, level in talkers:
        x = clip * db_gain(level - 120.0) / (active_rms(clip) + 1e-12)
        wet = fftconvolve(x, room_response(dist, ac.rt60_s, rng))
        i = int(start * sr)
        wet = wet[: max(0, n - i)]
        out[i : i + len(wet)] += wet
    out += np.tile(residual, n // len(residual) + 1)[:n]
    out += rng.standard_normal(n) * db_gain(ac.mic_noise_db_spl - 120.0)
    return out.astype(np.float32)


def window_end_s(i):
    """Time at which stream window i (embedding frames i..i+15) has all its audio."""
    return (((i + 15) * 8 + 76) * 160 + 480) / 16000


def place_clips(files, rng, gap_s=5.0):
    """Talkers one after another every gap_s seconds, 1-3 m away at 55-65 dB SPL; returns (talkers, spans, seconds)."""
    from earmuff.audio_io import read_audio

    talkers, spans, t = [], [], 1.0
    for f in files:
        x = read_audio(f)
        talkers.append((x, t, rng.uniform(1.0, 3.0), rng.uniform(55.0, 65.0)))
        spans.append((t, t + len(x) / 16000))
        t += max(gap_s, len(x) / 16000 + 2.5)
    return talkers, spans, t + 2.0


def conversation(hours, seed, avoid):
    """Synthetic household talk: sentences by many espeak-ng and flite voices with pauses, `hours` long."""
    from earmuff.wakeword import phrase, synth, words

    rnd = random.Random(seed)
    texts = words.sentences(int(hours * 3600 / 2.2), rnd, avoid)
    utts = [synth.plan(t, "en-us", 1, rnd, phrase.languages())[0] for t in texts]
    clips = synth.speak_all(utts)
    talkers, t = [], 1.0
    rng = np.random.default_rng(seed)
    for c in clips:
        talkers.append((c, t, rng.uniform(1.0, 3.0), rng.uniform(55.0, 65.0)))
        t += len(c) / 16000 + rng.uniform(0.2, 1.2)
    return talkers, t + 1.0


def scores_of(model, frames):
    from earmuff.wakeword import features

    return model.scores(features.windows(frames))


def evaluate(model, pos, negs):
    """Per-threshold recall on positive clips and false accepts per hour on negative streams."""
    from earmuff.wakeword.classifier import count_events

    s = scores_of(model, pos["frames"])
    ends = window_end_s(np.arange(len(s)))
    best = np.array([s[(ends >= a) & (ends <= b + 1.5)].max(initial=0.0) for a, b in pos["spans"]])
    neg_scores = [scores_of(model, n["frames"]) for n in negs]
    hours = sum(n["seconds"] for n in negs) / 3600
    grid = np.r_[np.arange(0.05, 0.95, 0.05), np.arange(0.95, 1.0, 0.005), 0.999]
    curve = []
    for t in grid:
        fa = sum(count_events(x, t) for x in neg_scores)
        curve.append((float(t), float(np.mean(best >= t)), fa / hours, fa))
    return curve, hours


def at_budget(curve, per_hour):
    ok = [c for c in curve if c[2] <= per_hour]
    return max(ok, key=lambda c: c[1]) if ok else (None, 0.0, None, None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.environ.get("EARMUFF_CORPUS", "../shared/corpus"))
    ap.add_argument("--quick", action="store_true", help="fewer clips and 10 min of conversation (a smoke run)")
    ap.add_argument("--hours", type=float, default=1.0, help="synthetic conversation for false accepts")
    ap.add_argument("--labels", default="typed,typed+5", help="which models: typed (text only), typed+5 (5 takes)")
    ap.add_argument("--plot", default=str(REPO / "docs/img/wakeword_recall_vs_fa.png"))
    args = ap.parse_args()
    dev = Path(args.corpus) / "wake-word-benchmark" / "dev"
    if not dev.is_dir():
        print(f"SKIPPED: no corpus at {dev} (pass --corpus PATH); nothing was measured")
        return 0
    import tempfile

    os.environ["EARMUFF_HOME"] = tempfile.mkdtemp(prefix="bench-ww-")
    from earmuff import config
    from earmuff.wakeword import features
    from earmuff.wakeword.train import options_from, train
    from earmuff.audio_io import read_audio

    cfg = config.load()
    rng = np.random.default_rng(7)
    hours = 10 / 60 if args.quick else args.hours
    results, timing = {}, {}
    keywords = {"computer": "computer", "jarvis": "jarvis"}
    all_kw = sorted(p.name for p in dev.iterdir() if p.is_dir())
    t0 = time.perf_counter()
    talk, talk_s = conversation(hours, 1, ("computer", "jarvis"))
    talk_audio = render(talk, talk_s, 21, cfg)
    talk_frames = features.embed(talk_audio)
    timing["conversation_render_embed_s"] = round(time.perf_counter() - t0, 1)
    print(f"conversation: {talk_s / 3600:.2f} h rendered and embedded in {timing['conversation_render_embed_s']} s", file=sys.stderr)
    data = {}
    for word, folder in keywords.items():
        files = sorted(glob.glob(str(dev / folder / "*.flac")))
        enrol, test = files[:5], files[5:]
        if args.quick:
            test = test[:40]
        t1 = time.perf_counter()
        talkers, spans, secs = place_clips(test, rng)
        pos = {"frames": features.embed(render(talkers, secs, 31, cfg)), "spans": spans}
        others = [f for kw in all_kw if kw != folder for f in sorted(glob.glob(str(dev / kw / "*.flac")))]
        if args.quick:
            others = others[::5]
        talkers, _, secs = place_clips(others, rng, gap_s=3.0)
        negs = [{"frames": features.embed(render(talkers, secs, 41, cfg)), "seconds": secs},
                {"frames": talk_frames, "seconds": talk_s}]
        timing[f"{word}_render_embed_s"] = round(time.perf_counter() - t1, 1)
        data[word] = (pos, negs, tuple(read_audio(f) for f in enrol), len(test), len(others))
    for label in args.labels.split(","):
        for word in keywords:
            pos, negs, owner, n_pos, n_other = data[word]
            t1 = time.perf_counter()
            res = train(options_from(cfg, word, "en-us", owner_clips=owner if label == "typed+5" else (), quiet=True), cfg)
            took = time.perf_counter() - t1
            curve, neg_h = evaluate(res.model, pos, negs)
            op = next(c for c in curve if abs(c[0] - 0.5) < 1e-9)
            budget = at_budget(curve, 0.5)
            results[f"{word} {label}"] = {
                "train_s": round(took, 1), "stage_s": res.meta["timings"], "positives": n_pos,
                "other_keyword_clips": n_other, "negative_hours": round(neg_h, 3), "operating_point": op,
                "best_at_0.5_fa_per_h": budget, "validation": res.meta["validation"], "curve": curve,
            }
            Path("/tmp/bench_wakeword_results.json").write_text(json.dumps({"results": results, "timing": timing}, indent=1))
            print(f"{word} {label}: train {took:.0f} s; at its threshold recall {op[1]:.3f}, {op[2]:.2f} FA/h ({op[3]} in {neg_h:.2f} h); "
                  f"best recall at <= 0.5 FA/h {budget[1]:.3f} (t={budget[0]})", file=sys.stderr)
    out = Path(args.plot)
    out.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, r in results.items():
        c = np.array([(x[2], x[1]) for x in r["curve"]])
        ax.plot(np.maximum(c[:, 0], 0.05), c[:, 1], marker=".", label=name)
    ax.set_xscale("log")
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("false accepts per hour (other keywords + synthetic talk; 0 drawn at 0.05)")
    ax.set_ylabel("recall (real dev-split speakers, 1-3 m, 55-65 dB SPL, jamming on)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "curve"} for k, v in results.items()}, indent=1))
    print(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
