"""Benchmark: wake words trained from typed text, heard through the jammed virtual room.

    nice /tmp/venv/bin/python bench/bench_wakeword.py --corpus ../shared/corpus [--quick] [--cache DIR]

--cache DIR keeps the embedded evaluation streams (and, under DIR/emb, the training run's embeddings keyed by
their audio) so that re-running a training variant costs only the training; keep DIR outside the repository.
With the training embeddings cached, the reported training time leaves out whatever was found there (a variant
that only changes the fit reports about 60 s less than it costs); --cache-eval-only caches the evaluation only.
--recipe quick trains the quick model that `set` installs first (one round, no neural voice) instead of the full one.
Recipe experiments: --set rounds.HARD_NEGATIVES=4000, --set classifier.MEMBERS=1, --opt negative_sentences=600,
--set classifier.INPUT_NOISE=0.0 (the recipe before the noise on the classifier's inputs).
--words alexa --model alexa scores openWakeWord's own alexa model instead of training one: a reference for what a
model trained on far more speech reaches in the same room.

Positives: dev-split recordings of real people saying "computer" / "jarvis", 1-3 m away at 55-65 dB SPL.
Negatives: the other dev-split keywords, plus synthetic conversations (>= 1 hour unless --quick), played
as long continuous streams. Talkers go through the room model (distance, reverberation, level); on top comes
earmuff's own jamming residual, rendered by the virtual room and the device's NoiseGenerator and echo path (see render()).
Writes the table for docs/benchmarks.md to stdout and a plot to docs/img/wakeword_recall_vs_fa.png.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import glob
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import apply_settings, plot_recall_vs_fa

REPO = Path(__file__).resolve().parents[1]
HOP = 1280


_RESIDUAL: dict = {}


def render(talkers, seconds, seed, cfg, jam=True):
    """What the detector hears: talkers through the room, plus earmuff's own noise left after echo cancellation.

    The talkers' path is the room model's (direct sound, reverberation, level at 1 m). The jamming residual is
    rendered once (60 s) by the virtual room and the NoiseGenerator and echo path (drift corrector and canceller)
    the device runs, and looped: the full block-by-block simulation costs ~10x more CPU, too much for hours of
    audio on a shared machine.
    """
    from scipy.signal import fftconvolve

    from earmuff.audio.room import Acoustics, active_rms, db_gain, room_response
    from earmuff.wakeword.train.augment import jamming_residual

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
    if jam:
        out += np.tile(residual, n // len(residual) + 1)[:n]
    out += rng.standard_normal(n) * db_gain(ac.mic_noise_db_spl - 120.0)
    return out.astype(np.float32)


def window_end_s(i):
    """Time at which stream window i (embedding frames i..i+15) has all its audio."""
    return (((i + 15) * 8 + 76) * 160 + 480) / 16000


def place_clips(clips, rng, gap_s=5.0):
    """Talkers one after another every gap_s seconds, 1-3 m away at 55-65 dB SPL; returns (talkers, spans, seconds)."""
    talkers, spans, t = [], [], 1.0
    for x in clips:
        talkers.append((x, t, rng.uniform(1.0, 3.0), rng.uniform(55.0, 65.0)))
        spans.append((t, t + len(x) / 16000))
        t += max(gap_s, len(x) / 16000 + 2.5)
    return talkers, spans, t + 2.0


def sayings_heard(clips, rng, seed, cfg, jam=True):
    """The wake word's sayings as the detector hears them in the goal's room: embedding frames, spans, levels."""
    from earmuff.wakeword.train import features

    talkers, spans, secs = place_clips(clips, rng)
    return {
        "frames": features.embed(render(talkers, secs, seed, cfg, jam)),
        "spans": spans,
        "direct_db": [level - 20 * np.log10(dist) for _, _, dist, level in talkers],  # direct sound at the mic
    }


def conversation(hours, seed, avoid):
    """Synthetic household talk, `hours` long: (talkers, seconds, [(start_s, end_s, text)])."""
    from earmuff.wakeword.train import phrase, synth, words

    rnd = random.Random(seed)
    texts = words.sentences(int(hours * 3600 / 1.9), rnd, avoid)  # ~2.1 s each with its pause: a little over `hours`
    # espeak-ng and flite only: the evaluation's talk stays the same whatever the training recipe speaks with.
    fams = synth.families("en-us", ("espeak-ng", "flite"), phrase.languages())
    utts = [synth.plan(t, "en-us", 1, rnd, fams)[0] for t in texts]
    clips = synth.speak_all(utts)
    talkers, spans, t = [], [], 1.0
    rng = np.random.default_rng(seed)
    for c, text, u in zip(clips, texts, utts):
        talkers.append((c, t, rng.uniform(1.0, 3.0), rng.uniform(55.0, 65.0)))
        spans.append((t, t + len(c) / 16000, f"{text} [{u.engine}:{u.voice}]"))
        t += len(c) / 16000 + rng.uniform(0.2, 1.2)
    return talkers, t + 1.0, spans


def logits_of(model, frames):
    """Per-window logits of a stream of embedding frames."""
    from earmuff.wakeword.train import features

    return model.logits(features.windows(frames))


GRID_LOGITS = np.r_[np.arange(-4.0, 4.0, 0.5), np.arange(4.0, 16.0, 0.25), np.arange(16.0, 30.01, 1.0)]


def best_logits(model, pos):
    """Each saying's best logit, from its start to 1.5 s after its end."""
    s = logits_of(model, pos["frames"])
    ends = window_end_s(np.arange(len(s)))
    return np.array([s[(ends >= a) & (ends <= b + 1.5)].max(initial=-99.0) for a, b in pos["spans"]])


def evaluate(model, pos, negs):
    """Per-threshold (probability, recall, FA/h, FA count) on a grid that is fine in logit space near 1."""
    from earmuff.wakeword.train.classifier import count_events

    best = best_logits(model, pos)
    neg_scores = [logits_of(model, n["frames"]) for n in negs]
    hours = sum(n["seconds"] for n in negs) / 3600
    curve = []
    for t in GRID_LOGITS:
        fa = sum(count_events(x, t) for x in neg_scores)
        curve.append((float(1 / (1 + np.exp(-t))), float(np.mean(best >= t)), fa / hours, fa, float(t)))
    return curve, hours, best, neg_scores


def false_accept_sources(neg_scores, negs, logit, limit=12):
    """Events at logit threshold `logit`: per-source counts and the strongest events (source, logit, what)."""
    from earmuff.wakeword.train.classifier import count_events

    counts, events = {}, []
    for sc, n in zip(neg_scores, negs):
        quiet = -1
        for i in np.flatnonzero(sc >= logit):
            if i < quiet:
                continue
            quiet = i + 25
            t = window_end_s(i)
            k = max(0, np.searchsorted([a for a, *_ in n["labels"]], t) - 1)
            a, b, what = n["labels"][k]
            src = n["name"] if n["name"] == "conversation" else what.split("/")[0]
            counts[src] = counts.get(src, 0) + 1
            events.append((float(sc[i : i + 25].max()), src, round(t - a, 2), what))
    assert sum(counts.values()) == sum(count_events(sc, logit) for sc in neg_scores)
    return counts, sorted(events, reverse=True)[:limit]


LEVEL_BANDS = ((45, 50), (50, 54), (54, 58), (58, 66))


def recall_by_level(best, direct_db, logit):
    """Recall at a logit threshold per band of the saying's direct-sound level at the microphone (dB SPL)."""
    db = np.asarray(direct_db)
    bands = {f"{lo}-{hi} dB": best[(db >= lo) & (db < hi)] for lo, hi in LEVEL_BANDS}
    return {k: (len(b), round(float(np.mean(b >= logit)), 3) if len(b) else None) for k, b in bands.items()}


def at_budget(curve, per_hour):
    """The grid point with the best recall among those with at most `per_hour` false accepts per hour."""
    ok = [c for c in curve if c[2] <= per_hour]
    return max(ok, key=lambda c: (c[1], -c[4])) if ok else (None, 0.0, None, None, None)


def _memo(fn, root: Path):
    """`fn(array, ...)` memoised on disk by the array's bytes (the training run's embeddings, for --cache)."""
    import hashlib

    from earmuff.wakeword.train.features import FRONT_END  # embeddings of another front end are not these

    root.mkdir(parents=True, exist_ok=True)

    def wrapped(x, *a, **kw):
        key = hashlib.sha1(
            np.ascontiguousarray(x).tobytes() + repr((fn.__name__, a, kw, FRONT_END)).encode()
        ).hexdigest()
        f = root / f"{key}.npy"
        if f.exists():
            return np.load(f)
        out = fn(x, *a, **kw)
        np.save(f, out)
        return out

    return wrapped


def eval_data(args, dev, cfg, rng, hours, keywords):
    """Embedded evaluation streams per keyword, from --cache if there (words missing there are built and added)."""
    import pickle

    from earmuff.audio.files import read_audio
    from earmuff.wakeword.train import features

    name = f"eval2_{'quick' if args.quick else f'{hours:g}h'}{'' if args.jam else '_unjammed'}.pkl"
    cache = Path(args.cache) / name if args.cache else None
    data = pickle.loads(cache.read_bytes()) if cache is not None and cache.exists() else {}
    missing = [w for w in keywords if w not in data]
    if not missing:
        return data
    all_kw = sorted(p.name for p in dev.iterdir() if p.is_dir())
    if data:  # the same conversation as the cached words
        talk_frames, talk_s, talk_spans = (
            next(iter(data.values()))["negs"][1][k] for k in ("frames", "seconds", "labels")
        )
    else:
        t0 = time.perf_counter()
        talk, talk_s, talk_spans = conversation(hours, 1, ("computer", "jarvis", "alexa"))
        talk_frames = features.embed(render(talk, talk_s, 21, cfg, args.jam))
        print(
            f"conversation: {talk_s / 3600:.2f} h rendered and embedded in {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
    for word in missing:
        folder = keywords[word]
        files = sorted(glob.glob(str(dev / folder / "*.flac")))
        enrol, test = files[:5], files[5:]
        if args.quick:
            test = test[:40]
        pos = sayings_heard([read_audio(f) for f in test], rng, 31, cfg, args.jam)
        others = [f for kw in all_kw if kw != folder for f in sorted(glob.glob(str(dev / kw / "*.flac")))]
        if args.quick:
            others = others[::5]
        talkers, spans, secs = place_clips([read_audio(f) for f in others], rng, gap_s=3.0)
        labels = [(a, b, str(Path(f).relative_to(dev))) for (a, b), f in zip(spans, others)]
        negs = [
            {
                "name": "other keywords",
                "frames": features.embed(render(talkers, secs, 41, cfg, args.jam)),
                "seconds": secs,
                "labels": labels,
            },
            {"name": "conversation", "frames": talk_frames, "seconds": talk_s, "labels": talk_spans},
        ]
        data[word] = {"pos": pos, "negs": negs, "enrol": enrol, "n_pos": len(test), "n_other": len(others)}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(data))
    return data


class FileModel:
    """An openWakeWord model file (ours or one trained elsewhere, such as the pretrained alexa.tflite) as logits."""

    def __init__(self, path: Path) -> None:
        from earmuff.wakeword.registry.publish import file_scores

        self.score = file_scores(path)

    def logits(self, windows: np.ndarray) -> np.ndarray:
        p = np.clip(self.score(windows), 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.environ.get("EARMUFF_CORPUS", "../shared/corpus"))
    ap.add_argument("--quick", action="store_true", help="fewer clips and 10 min of conversation (a smoke run)")
    ap.add_argument("--hours", type=float, default=1.0, help="synthetic conversation for false accepts")
    ap.add_argument("--labels", default="typed,typed+5", help="which models: typed (text only), typed+5 (5 takes)")
    ap.add_argument("--words", default="computer,jarvis", help="which wake words to train (dev-split keywords)")
    ap.add_argument(
        "--model",
        default=None,
        help="score this wake word (a built-in name or a model file, as wake_word in config.toml) for --words "
        "instead of training one; e.g. alexa: what openWakeWord's model, trained on far more speech, reaches here",
    )
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument(
        "--recipe",
        choices=("full", "quick"),
        default="full",
        help="full: what the service's background training installs; quick: what `set` installs first",
    )
    ap.add_argument("--cache", default=None, help="folder (outside the repo) for embedded evaluation streams")
    ap.add_argument("--cache-eval-only", action="store_true", help="with --cache: do not cache training embeddings")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="override a recipe constant, e.g. rounds.HARD_NEGATIVES=4000 (experiments)",
    )
    ap.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a TrainOptions field, e.g. negative_sentences=600 (experiments)",
    )
    ap.add_argument(
        "--unjammed",
        dest="jam",
        action="store_false",
        help="evaluate without earmuff's own jamming residual (the room and the microphone's noise only)",
    )
    ap.add_argument("--json", default="/tmp/bench_wakeword_results.json")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--plot", default=str(REPO / "docs/img/wakeword_recall_vs_fa.png"))
    args = ap.parse_args()
    dev = Path(args.corpus) / "wake-word-benchmark" / "dev"
    if not dev.is_dir():
        print(f"SKIPPED: no corpus at {dev} (pass --corpus PATH); nothing was measured")
        return 0
    import tempfile

    os.environ["EARMUFF_HOME"] = tempfile.mkdtemp(prefix="bench-ww-")
    from earmuff import config
    from earmuff.audio.files import read_audio
    from earmuff.paths import Paths
    from earmuff.wakeword.registry import store
    from earmuff.wakeword.train import features
    from earmuff.wakeword.train import trainer as train_mod
    from earmuff.wakeword.train.trainer import options_from, quick, train

    print(f"earmuff from {Path(train_mod.__file__).parent}", file=sys.stderr)
    apply_settings(args.set, "earmuff.wakeword.train")
    cfg = config.load(Paths.from_env().config)
    rng = np.random.default_rng(7)
    hours = 10 / 60 if args.quick else args.hours
    results, timing = {}, {}
    keywords = {w: w for w in args.words.split(",")}
    t0 = time.perf_counter()
    data = eval_data(args, dev, cfg, rng, hours, {"computer": "computer", "jarvis": "jarvis", **keywords})
    timing["eval_streams_s"] = round(time.perf_counter() - t0, 1)
    if args.cache and not args.cache_eval_only:
        features.embed = _memo(features.embed, Path(args.cache) / "emb")
        features.embed_batch = _memo(features.embed_batch, Path(args.cache) / "emb")
    for label in ["file"] if args.model else args.labels.split(","):
        for word in keywords:
            d = data[word]
            pos, negs, n_pos, n_other = d["pos"], d["negs"], d["n_pos"], d["n_other"]
            owner = tuple(read_audio(f) for f in d["enrol"]) if label == "typed+5" else ()
            t1 = time.perf_counter()
            if args.model:
                res = None
                model = FileModel(store.resolve(Paths.from_env(), args.model))
            else:
                opts = options_from(cfg, word, "en-us", owner_clips=owner, quiet=True, seed=args.seed)
                opts = quick(opts) if args.recipe == "quick" else opts
                changes = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.opt)}
                res = train(dataclasses.replace(opts, **changes), cfg)
                model = res.model
            took = time.perf_counter() - t1
            curve, neg_h, best, neg_scores = evaluate(model, pos, negs)
            op = next(c for c in curve if abs(c[4]) < 1e-9)
            budget, budget2 = at_budget(curve, 0.5), at_budget(curve, 2.0)
            strict = budget[4] if budget[4] is not None else float(GRID_LOGITS[-1])
            sources = {
                f"logit {t:g}": false_accept_sources(neg_scores, negs, t)
                for t in sorted({0.0, budget2[4] or 0.0, strict})
            }
            trained = (
                {}
                if res is None
                else {
                    "stage_s": res.meta["timings"],
                    "validation": res.meta["validation"],
                    "samples": {k: v for k, v in res.meta["samples"].items() if k != "sound_alikes"},
                }
            )
            results[f"{word} {label}"] = {
                "train_s": round(took, 1),
                "model": args.model or "trained",
                **trained,
                "positives": n_pos,
                "other_keyword_clips": n_other,
                "negative_hours": round(neg_h, 3),
                "operating_point": op,
                "best_at_0.5_fa_per_h": budget,
                "best_at_2_fa_per_h": budget2,
                "false_accepts": sources,
                "curve": curve,
                "recall_by_direct_level": {
                    f"logit {t:g}": recall_by_level(best, pos["direct_db"], t) for t in sorted({0.0, budget2[4] or 0.0})
                },
            }
            Path(args.json).write_text(
                json.dumps(
                    {"results": results, "timing": timing, "recipe": args.recipe, "set": args.set, "opt": args.opt},
                    indent=1,
                )
            )
            print(
                f"{word} {label} {args.recipe} {' '.join(args.set + args.opt)}: train {took:.0f} s; at its threshold recall {op[1]:.3f}, {op[2]:.2f} FA/h "
                f"({op[3]} in {neg_h:.2f} h); best recall at <= 0.5 FA/h {budget[1]:.3f} (logit {budget[4]}), "
                f"at <= 2 FA/h {budget2[1]:.3f} (logit {budget2[4]})",
                file=sys.stderr,
            )
            for name, bands in results[f"{word} {label}"]["recall_by_direct_level"].items():
                print(f"  recall at {name} by direct level at the mic (sayings, recall): {bands}", file=sys.stderr)
            for name, (counts, top) in sources.items():
                print(f"  false accepts at {name}: {counts}", file=sys.stderr)
                for e in top[:6]:
                    print(f"    logit {e[0]:6.2f} {e[1]:<16} +{e[2]:5.2f} s  {e[3]}", file=sys.stderr)
    if args.no_plot:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "curve"} for k, v in results.items()}, indent=1))
        return 0
    plot_recall_vs_fa(
        {name: [(x[2], x[1]) for x in r["curve"]] for name, r in results.items()},
        Path(args.plot),
        "false accepts per hour (other keywords + synthetic talk; 0 drawn at 0.05)",
        "recall (dev-split speakers, jammed room)",
    )
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "curve"} for k, v in results.items()}, indent=1))
    print(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
