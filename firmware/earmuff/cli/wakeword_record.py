"""`earmuff wakeword test`, `add-samples` and `record`: the owner's voice, heard through the jamming or from files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from earmuff import config as config_mod
from earmuff.cli.wakeword_train import lang_of, quality, train_and_install, trainable, wake_name
from earmuff.config import FRAME, SAMPLE_RATE
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError

if TYPE_CHECKING:
    import numpy as np

MAX_TAKES = 20
METER_FRAMES = 6  # the live meter asks for this many 80 ms frames at a time


def _meter(score: float, t: float, threshold: float = 0.5) -> str:
    bar = "#" * int(40 * min(1.0, score))
    return f"{t:7.2f} s {score:5.2f} |{bar:<40}|{' FIRE' if score >= threshold else ''}"


def cmd_test(args: argparse.Namespace, paths: Paths) -> int:
    """Print the score per 80 ms; on a file, the whole file, then a summary."""
    import numpy as np

    from earmuff.audio.files import read_audio
    from earmuff.wakeword.registry import store

    cfg = config_mod.load(paths.config)
    det = store.detector(paths, wake_name(args, paths), cfg.wake)
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
    with recorder.open_takes(paths) as source:
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


def _takes_of(args: argparse.Namespace, paths: Paths) -> tuple[str, str, float, Callable[[np.ndarray], float] | None]:
    """The wake word takes are for, its language, how long a take should be, and the installed model's best
    score over a take (None when the name has no trained model yet)."""
    import functools

    from earmuff.wakeword.registry import samples
    from earmuff.wakeword.retrain import installed_scores
    from earmuff.wakeword.train import scoring

    name = trainable(args, paths)
    lang = lang_of(paths, name)
    model = installed_scores(paths, name)
    scorer = None if model is None else functools.partial(scoring.best_in_take, model)
    return name, lang, samples.expected_duration(name, lang), scorer


def cmd_add_samples(args: argparse.Namespace, paths: Paths) -> int:
    """Check each file, keep the good ones, say why the others were refused, then retrain."""
    from earmuff.audio.files import read_audio
    from earmuff.wakeword.registry import samples

    name, lang, expected, scorer = _takes_of(args, paths)
    kept = 0
    for f in args.files:
        try:
            x = read_audio(f, max_s=samples.MAX_FILE_S)
            samples.check_take(x, f, expected, scorer)
        except ValueError as exc:  # WakeWordError or AudioFileError: the take is refused, the others go on
            print(f"refused: {exc}", file=sys.stderr)
            continue
        samples.save(paths, name, x)
        kept += 1
    total = len(samples.load_all(paths, name))
    print(f"kept {kept} of {len(args.files)} recordings; '{name}' now has {total} of your own")
    if kept and not args.no_retrain:
        print(quality(train_and_install(paths, name, lang)))
    return 0 if kept else 2


def cmd_record(args: argparse.Namespace, paths: Paths) -> int:
    """Record takes through the device microphone while the jamming stays on; a refused take is asked for again."""
    from earmuff.service import recorder
    from earmuff.wakeword.registry import samples

    if not 1 <= args.takes <= MAX_TAKES:
        raise WakeWordError(f"--takes {args.takes}: expected 1 to {MAX_TAKES}")
    name, lang, expected, scorer = _takes_of(args, paths)
    kept = tries = 0
    with recorder.open_takes(paths) as rec:
        while kept < args.takes and tries < 3 * args.takes:
            tries += 1
            print(f"take {kept + 1}/{args.takes}: say '{name}' now", file=sys.stderr)
            x = rec.take()
            try:
                samples.check_take(x, f"take {kept + 1}", expected, scorer)
            except WakeWordError as exc:
                print(f"refused: {exc}; once more, please", file=sys.stderr)
                continue
            samples.save(paths, name, x)
            kept += 1
    print(f"kept {kept} of {args.takes} takes ({tries} tried)")
    if kept and not args.no_retrain:
        print(quality(train_and_install(paths, name, lang)))
    return 0 if kept == args.takes else 2
