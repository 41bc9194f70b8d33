"""The `earmuff wakeword ...` commands: set, list, use, remove, import, test, add-samples, record, refit, forget-room."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earmuff import config as config_mod
from earmuff.config import FRAME, SAMPLE_RATE
from earmuff.runtime.detector import PRETRAINED, WakeWordError

if TYPE_CHECKING:
    import numpy as np

MAX_TAKES = 20
METER_FRAMES = 6  # the live meter asks for this many 80 ms frames at a time


def add_wakeword_commands(sub) -> None:
    """Register `earmuff wakeword` and its subcommands on the top-level subparsers."""
    p = sub.add_parser("wakeword", help="train, choose and test wake words")
    ws = p.add_subparsers(dest="wakeword_command", required=True)
    s = ws.add_parser("set", help="train a wake word from a typed phrase and make it active")
    s.add_argument("phrase", help='the wake name, e.g. "hey bramble"')
    s.add_argument("--lang", default="en-us", help="espeak-ng language code (default en-us; see `espeak-ng --voices`)")
    s.add_argument("--seed", type=int, default=0, help="random seed for synthesis and training")
    s.add_argument(
        "--export",
        metavar="FILE",
        help="write the (full) model to FILE for `wakeword import` on another device, instead of installing it here",
    )
    s.set_defaults(func=cmd_set)
    s = ws.add_parser("list", help="installed wake words")
    s.set_defaults(func=cmd_list)
    s = ws.add_parser("use", help="make an installed wake word active")
    s.add_argument("name")
    s.set_defaults(func=cmd_use)
    s = ws.add_parser("remove", help="delete a trained wake word")
    s.add_argument("name")
    s.set_defaults(func=cmd_remove)
    s = ws.add_parser("import", help="install an openWakeWord model (.onnx or .tflite) made elsewhere")
    s.add_argument("model")
    s.add_argument("--name", help="its phrase (default: the file name)")
    s.set_defaults(func=cmd_import)
    s = ws.add_parser("test", help="score meter on the microphone, or on a file")
    s.add_argument("--file", help="a wav or flac file instead of the microphone")
    s.add_argument("--name", help="wake word to test (default: the active one)")
    s.add_argument("--seconds", type=float, default=30.0, help="how long to listen to the microphone")
    s.set_defaults(func=cmd_test)
    s = ws.add_parser("add-samples", help="add your own recordings of the name, then retrain")
    s.add_argument("files", nargs="+")
    s.add_argument("--name", help="wake word (default: the active one)")
    s.add_argument("--no-retrain", action="store_true", help="only check and keep the recordings")
    s.set_defaults(func=cmd_add_samples)
    s = ws.add_parser("record", help="record takes of the name through the device microphone, then retrain")
    s.add_argument("--takes", type=int, default=5)
    s.add_argument("--name", help="wake word (default: the active one)")
    s.add_argument("--no-retrain", action="store_true", help="only check and keep the takes")
    s.set_defaults(func=cmd_record)
    s = ws.add_parser("refit", help="retrain the active wake word with what it learnt of this room")
    s.add_argument("--quiet", action="store_true", help="no progress bars (the daemon runs it like this)")
    s.set_defaults(func=cmd_refit)
    s = ws.add_parser("forget-room", help="delete the room bank of household speech")
    s.set_defaults(func=cmd_forget_room)


def _name(args: argparse.Namespace) -> str:
    from earmuff.wakeword.train.phrase import normalise

    return normalise(args.name) if getattr(args, "name", None) else normalise(config_mod.load().wake.wake_word)


def _trainable(args: argparse.Namespace) -> str:
    """The named (or active) wake word, if it is one of ours: a built-in model cannot be retrained."""
    name = _name(args)
    if name in PRETRAINED:
        raise WakeWordError(
            f"wake word '{name}': is built in and cannot be retrained; "
            f'train one of your own first (`earmuff wakeword set "{name}"`) or pass --name'
        )
    return name


def _quality(meta: dict) -> str:
    v = meta.get("validation", {})
    if not v:
        return "no validation figures (imported model)"
    return (
        f"on its own validation audio (synthetic voices held back from fitting, in the jamming residual): "
        f"recall {v['recall']:.0%} of {v['positive_utterances']} sayings; "
        f"{v['false_accepts']} false accepts in {v['negative_hours'] * 60:.1f} min of other speech "
        f"({v['false_accepts_per_hour']}/h); threshold {meta['threshold']:.2f}. Real voices score lower: "
        f"add 5 of your own with `earmuff wakeword record` or `add-samples`."
    )


def _retrain(*args: Any, **kw: Any) -> dict:
    """Train and install (`earmuff.wakeword.retrain`); a running daemon is told when the new model is selected."""
    from earmuff.service.control import ask_reload
    from earmuff.wakeword.retrain import retrain

    meta = retrain(*args, **kw)
    if meta.get("selected"):
        print(f"'{meta['phrase']}': {ask_reload()}")
    return meta


def cmd_set(args: argparse.Namespace) -> int:
    """Advise on the name, train from the typed phrase, install, activate, print its measured quality."""
    from earmuff.wakeword.registry import background
    from earmuff.wakeword.train.advice import GOOD, advise
    from earmuff.wakeword.train.phrase import check_language, check_phrase

    warnings = advise(check_phrase(args.phrase), check_language(args.lang))
    for line in warnings:
        print(f"advice: {line}", file=sys.stderr)
    if warnings:
        print(f"advice: {GOOD}; training '{args.phrase}' anyway (Ctrl-C to stop)", file=sys.stderr)
    if args.export:
        meta = _retrain(args.phrase, args.lang, args.seed, export=Path(args.export))
        print(
            f"wrote '{meta['phrase']}' to {args.export}; install it with "
            f'`earmuff wakeword import {args.export} --name "{meta["phrase"]}"`'
        )
        print(_quality(meta))
        return 0
    quick = config_mod.load().wakeword.background
    meta = _retrain(
        args.phrase, args.lang, args.seed, select=True, recipe=background.QUICK if quick else background.FULL
    )
    print(f"'{meta['phrase']}' is now the wake word ({meta['timings']['total_s']:.0f} s to train).")
    print(_quality(meta))
    if quick:
        print(
            "This is a quick model: the earmuff service (now, or from its next start) trains a better one in the "
            "background, at low priority, and switches to it if it scores better; `earmuff status` shows how far it is."
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print installed and built-in wake words, marking the active one."""
    from earmuff.wakeword.registry import background, store
    from earmuff.wakeword.train.phrase import normalise

    current = normalise(store.active())
    for name in store.names():
        meta = store.info(name)
        v = meta.get("validation", {})
        extra = f"recall {v['recall']:.0%} on validation" if v else "imported"
        extra += f", {meta['recipe']} model" if "recipe" in meta else ""
        print(
            f"{'*' if name == current else ' '} {name:<24} {meta.get('language', '?'):<6} {meta.get('created', '')}  {extra}"
        )
        line = background.describe(name)
        if line:
            print(f"  {'':<24} {line}")
    for name in PRETRAINED:
        print(f"{'*' if name == current else ' '} {name:<24} built-in (openWakeWord, CC BY-NC-SA 4.0)")
    return 0


def cmd_use(args: argparse.Namespace) -> int:
    """Make a wake word active."""
    from earmuff.service.control import ask_reload
    from earmuff.wakeword.registry import store

    store.activate(args.name)
    print(f"'{store.active()}' is now the wake word; {ask_reload()}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Delete a trained wake word, the owner's recordings of it and the windows of them saying it."""
    from earmuff.wakeword.registry import room_bank, samples, store
    from earmuff.wakeword.train.phrase import normalise

    name = normalise(args.name)
    kind = room_bank.positive_kind(name)
    if store.installed(name):
        store.remove(name)
        what = f"removed '{name}'"
    elif samples.count(name) or room_bank.count(kind):  # a name whose model is gone: its recordings still go
        what = f"'{name}' has no model; removed"
    else:
        raise WakeWordError(
            f"wake word '{name}': not installed and no recordings of it; expected one of {store.names()}"
        )
    takes, windows = samples.forget(name), room_bank.forget(kind)
    print(f"{what}, {takes} recordings of your voice saying it and {windows} windows of the room bank")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Install a model file."""
    from earmuff.wakeword.registry import store

    name = store.import_model(Path(args.model), args.name)
    print(f"imported '{name}'; make it active with `earmuff wakeword use \"{name}\"`")
    return 0


def _meter(score: float, t: float, threshold: float = 0.5) -> str:
    bar = "#" * int(40 * min(1.0, score))
    return f"{t:7.2f} s {score:5.2f} |{bar:<40}|{' FIRE' if score >= threshold else ''}"


def cmd_test(args: argparse.Namespace) -> int:
    """Print the score per 80 ms; on a file, the whole file, then a summary."""
    import numpy as np

    from earmuff.audio.files import read_audio
    from earmuff.runtime.detector import Detector

    cfg = config_mod.load()
    det = Detector(_name(args), cfg.wake)
    if args.file:
        x = np.r_[read_audio(args.file), np.zeros(SAMPLE_RATE, np.float32)]
        scores, fired = [], []
        for i in range(0, len(x) - FRAME + 1, FRAME):
            if det.process(x[i : i + FRAME], i + FRAME):
                fired.append((i + FRAME) / SAMPLE_RATE)
            scores.append(det.last_score)
            if det.last_score >= 0.05:
                print(_meter(det.last_score, (i + FRAME) / SAMPLE_RATE, cfg.wake.threshold))
        print(
            f"{args.file}: best score {max(scores, default=0):.3f} (fires at {cfg.wake.threshold}); "
            f"detections at {[round(t, 2) for t in fired]} s"
        )
        return 0
    from earmuff.service import recorder

    # What the detector hears while jamming, from the running daemon (which opens no window meanwhile) or
    # from a jamming device of our own: never a bare microphone stream, which would leave the room unjammed.
    with recorder.open_takes() as source:
        print(f"listening for '{det.name}' for {args.seconds:.0f} s (Ctrl-C stops)", file=sys.stderr)
        n = 0
        while n * FRAME < args.seconds * SAMPLE_RATE:
            x = source.take(METER_FRAMES * FRAME / SAMPLE_RATE, follow=n > 0)  # no gaps, even with a worker behind
            for i in range(0, len(x), FRAME):
                n += 1
                det.process(x[i : i + FRAME], n * FRAME)
                print("\r" + _meter(det.last_score, n * FRAME / SAMPLE_RATE, cfg.wake.threshold), end="", flush=True)
    print()
    return 0


def _lang_of(name: str) -> str:
    from earmuff.wakeword.registry import store

    try:
        return store.info(name).get("language", "en-us")
    except WakeWordError:
        return "en-us"


def _scorer(name: str):
    """Best score of the installed model over a take, or None when the name has no trained model."""
    import numpy as np

    from earmuff.wakeword.retrain import window_scorer
    from earmuff.wakeword.train import features

    windows = window_scorer(name)
    if windows is None:
        return None

    def score(x: np.ndarray) -> float:
        w = features.windows(
            features.embed(np.r_[np.zeros(SAMPLE_RATE, np.float32), x, np.zeros(SAMPLE_RATE // 2, np.float32)])
        )
        return float(windows(w).max(initial=0.0))

    return score


def cmd_add_samples(args: argparse.Namespace) -> int:
    """Check each file, keep the good ones, say why the others were refused, then retrain."""
    from earmuff.audio.files import read_audio
    from earmuff.wakeword.registry import samples

    name = _trainable(args)
    lang = _lang_of(name)
    expected, scorer = samples.expected_duration(name, lang), _scorer(name)
    kept = 0
    for f in args.files:
        try:
            x = read_audio(f, max_s=samples.MAX_FILE_S)
            samples.check_take(x, f, expected, scorer)
        except WakeWordError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            continue
        except ValueError as exc:  # AudioFileError
            print(f"refused: {exc}", file=sys.stderr)
            continue
        samples.save(name, x)
        kept += 1
    total = len(samples.load_all(name))
    print(f"kept {kept} of {len(args.files)} recordings; '{name}' now has {total} of your own")
    if kept and not args.no_retrain:
        print(_quality(_retrain(name, lang)))
    return 0 if kept else 2


def cmd_record(args: argparse.Namespace) -> int:
    """Record takes through the device microphone while the jamming stays on; a refused take is asked for again."""
    from earmuff.service import recorder
    from earmuff.wakeword.registry import samples

    if not 1 <= args.takes <= MAX_TAKES:
        raise WakeWordError(f"--takes {args.takes}: expected 1 to {MAX_TAKES}")
    name = _trainable(args)
    lang = _lang_of(name)
    expected, scorer = samples.expected_duration(name, lang), _scorer(name)
    kept = tries = 0
    with recorder.open_takes() as rec:
        while kept < args.takes and tries < 3 * args.takes:
            tries += 1
            print(f"take {kept + 1}/{args.takes}: say '{name}' now", file=sys.stderr)
            x = rec.take()
            try:
                samples.check_take(x, f"take {kept + 1}", expected, scorer)
            except WakeWordError as exc:
                print(f"refused: {exc}; once more, please", file=sys.stderr)
                continue
            samples.save(name, x)
            kept += 1
    print(f"kept {kept} of {args.takes} takes ({tries} tried)")
    if kept and not args.no_retrain:
        print(_quality(_retrain(name, lang)))
    return 0 if kept == args.takes else 2


def cmd_refit(args: argparse.Namespace) -> int:
    """Retrain the active wake word: the better model after a quick one, else with the room bank (the daemon runs this)."""
    from earmuff.wakeword.registry import background, store
    from earmuff.wakeword.train import progress

    name = _trainable(args)
    lang, seed = _lang_of(name), int(store.info(name).get("seed", 0))
    if not background.pending(name):
        meta = _retrain(name, lang, seed=seed, quiet=args.quiet)
        s = meta["samples"]
        print(
            f"refitted '{name}' with {s['room_bank_windows']} windows of room talk and {s['room_positive_windows']} of yours"
        )
        return 0
    background.started(name, background.quick_model(name) or "")
    progress.reporter = background.progress
    try:
        meta = _retrain(name, lang, seed=seed, quiet=args.quiet, rival=True)
    except BaseException as exc:  # Ctrl-C, SIGTERM from the daemon, a full disk: the quick model stays
        background.finished(
            f"failed ({type(exc).__name__}: {exc}); the quick model stays and it starts again when the room is quiet"
        )
        raise
    finally:
        progress.reporter = None
    v, r = meta["validation"], meta["validation"]["rival"]
    figures = (
        f"recall {v['recall']:.0%} at {v['false_accepts']} false accepts against the quick model's {r['recall']:.0%} "
        f"at {r['false_accepts']}, on held-back synthetic voices"
    )
    outcome = f"kept the quick model, it did as well ({figures})" if meta.get("kept") else f"installed ({figures})"
    background.finished(outcome)
    print(f"'{name}': better model {outcome}")
    return 0


def cmd_forget_room(args: argparse.Namespace) -> int:
    """Delete the room bank; a running daemon also drops the windows it holds in memory."""
    from earmuff.service.control import ControlError, NotRunning, request, socket_path
    from earmuff.wakeword.registry import room_bank

    try:
        reply = request(socket_path(config_mod.load()), "forget_room", timeout=20.0)
    except NotRunning:
        print(f"forgot the room bank ({room_bank.forget()} windows)")
        return 0
    if not reply.get("ok"):
        raise ControlError(f"the running earmuff did not forget all of the room bank: {reply.get('error')}")
    print(reply["message"])
    return 0
