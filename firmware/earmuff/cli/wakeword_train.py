"""`earmuff wakeword set` and `refit`: train and install; and what the other wake-word commands share."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from earmuff import config as config_mod
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError, normalise


def wake_name(args: argparse.Namespace, paths: Paths) -> str:
    """The wake word --name names, or the active one."""
    return (
        normalise(args.name) if getattr(args, "name", None) else normalise(config_mod.load(paths.config).wake.wake_word)
    )


def trainable(args: argparse.Namespace, paths: Paths) -> str:
    """The named (or active) wake word, if it is one of ours: a built-in model cannot be retrained."""
    from earmuff.wakeword.registry.store import PRETRAINED

    name = wake_name(args, paths)
    if name in PRETRAINED:
        raise WakeWordError(
            f"wake word '{name}': is built in and cannot be retrained; "
            f'train one of your own first (`earmuff wakeword set "{name}"`) or pass --name'
        )
    return name


def quality(meta: dict) -> str:
    """What a model's sidecar says of how well it does."""
    v = meta.get("validation", {})
    if not v:
        return "no validation figures (imported model)"
    said = (
        f"on audio held back from fitting, in the jamming residual: recall {v['recall']:.0%} of "
        f"{v['positive_utterances']} synthetic sayings; {v['false_accepts']} false accepts in "
        f"{v['negative_hours'] * 60:.0f} min of other speech ({v.get('recorded_speech_hours', 0) * 60:.0f} min of it "
        f"recorded people) = {v['false_accepts_per_hour']}/h; threshold {meta['threshold']:.4g}."
    )
    if (v["false_accepts_per_hour"] or 0) > v.get("target_per_hour", float("inf")):
        said += (
            f" That is above the {v['target_per_hour']}/h aimed at: a stricter threshold would lose more than a "
            "fifth of the sayings. If it wakes when nobody said the name, a longer or rarer name does better."
        )
    return said + " Real voices score lower: add 5 of your own with `earmuff wakeword record` or `add-samples`."


def train_and_install(paths: Paths, *args: Any, **kw: Any) -> dict:
    """Train and install (`earmuff.wakeword.retrain`); a running daemon is told when the new model is selected."""
    from earmuff.service.control import ask_reload
    from earmuff.wakeword.retrain import retrain

    meta = retrain(paths, *args, **kw)
    if meta.get("selected"):
        print(f"'{meta['phrase']}': {ask_reload(paths)}")
    return meta


def lang_of(paths: Paths, name: str) -> str:
    """The language a wake word was trained in (en-us if it does not say)."""
    from earmuff.wakeword.registry import store

    try:
        return store.info(paths, name).get("language", "en-us")
    except WakeWordError:
        return "en-us"


def cmd_set(args: argparse.Namespace, paths: Paths) -> int:
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
        meta = train_and_install(paths, args.phrase, args.lang, args.seed, export=Path(args.export))
        print(
            f"wrote '{meta['phrase']}' to {args.export}; install it with "
            f'`earmuff wakeword import {args.export} --name "{meta["phrase"]}"`'
        )
        print(quality(meta))
        return 0
    quick = config_mod.load(paths.config).wakeword.background
    meta = train_and_install(
        paths, args.phrase, args.lang, args.seed, select=True, recipe=background.QUICK if quick else background.FULL
    )
    print(f"'{meta['phrase']}' is now the wake word ({meta['timings']['total_s']:.0f} s to train).")
    print(quality(meta))
    if quick:
        print(
            "This is a quick model: the earmuff service (now, or from its next start) trains a better one in the "
            "background, at low priority, and switches to it if it scores better; `earmuff status` shows how far it is."
        )
    return 0


def cmd_refit(args: argparse.Namespace, paths: Paths) -> int:
    """Retrain the active wake word: the better model after a quick one, else with the room bank (the daemon runs this)."""
    from earmuff.wakeword.registry import background, store
    from earmuff.wakeword.train import progress

    name = trainable(args, paths)
    lang, seed = lang_of(paths, name), int(store.info(paths, name).get("seed", 0))
    if not background.pending(paths, name):
        meta = train_and_install(paths, name, lang, seed=seed, quiet=args.quiet)
        s = meta["samples"]
        print(
            f"refitted '{name}' with {s['room_bank_windows']} windows of room talk and {s['room_positive_windows']} of yours"
        )
        return 0
    background.started(paths, name, background.quick_model(paths, name) or "")
    progress.reporter = functools.partial(background.progress, paths)
    try:
        meta = train_and_install(paths, name, lang, seed=seed, quiet=args.quiet, rival=True)
    except BaseException as exc:  # Ctrl-C, SIGTERM from the daemon, a full disk: the quick model stays
        background.finished(
            paths,
            f"failed ({type(exc).__name__}: {exc}); the quick model stays and it starts again when the room is quiet",
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
    background.finished(paths, outcome)
    print(f"'{name}': better model {outcome}")
    return 0
