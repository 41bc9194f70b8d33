"""Training a wake word and installing it: the quick recipe, the full one, and the full one that must beat a quick model."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from earmuff import config as config_mod
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError, normalise
from earmuff.wakeword.registry import background
from earmuff.wakeword.train import scoring

TRAINING_LOCK = ".training.lock"


def retrain(
    paths: Paths,
    phrase: str,
    lang: str,
    seed: int = 0,
    quiet: bool = False,
    select: bool = False,
    recipe: str = background.FULL,
    rival: bool = False,
    export: Path | None = None,
) -> dict:
    """Train `phrase` (with any owner takes and the room bank) and install it; it becomes active if `select`.

    Without `select` it is selected again only if it is still the active wake word when training ends, so that
    a running device switches to the new model, and a `use` run meanwhile is not undone. The quick recipe is
    one round (`quick_rounds`) without the neural voices; with `rival` the installed model is scored on this
    training's held-back data and the new one is installed only if it does better there (meta["kept"] if not).
    With `export` the model is written to that file (for `earmuff wakeword import` elsewhere), not installed.
    One training at a time (a lock in the wake-word folder); it runs in a child process that the kernel ends first
    when memory runs out, and this one says so.
    """
    from earmuff import memory
    from earmuff.runtime.shared import hold
    from earmuff.wakeword.registry import store
    from earmuff.wakeword.train import worker

    lock = hold(store.root(paths) / TRAINING_LOCK, "wake-word training")
    try:
        free = memory.short_of_training()
        if free is not None and not quiet:
            print(
                f"warning: training needs about {memory.TRAINING_MB} MB of memory and {free:.0f} MB is available; "
                f"if it runs out, the training ends and nothing changes. {elsewhere(phrase)}",
                file=sys.stderr,
            )
        meta = worker.run(_retrain, paths, phrase, lang, seed, quiet, select, recipe, rival, export)
        assert isinstance(meta, dict)
        return meta
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; nothing was installed and '{config_mod.load(paths.config).wake.wake_word}' stays active",
            file=sys.stderr,
        )
        raise
    except worker.OutOfMemory as exc:
        raise worker.OutOfMemory(
            f"training '{phrase}' ran out of memory: {exc}; nothing was installed and "
            f"'{config_mod.load(paths.config).wake.wake_word}' stays active. {elsewhere(phrase)}"
        ) from None
    finally:
        os.close(lock)


def elsewhere(phrase: str) -> str:
    """What to do when this machine has too little memory to train."""
    return (
        f'To train on a machine with more memory (with earmuff installed): `earmuff wakeword set "{phrase}" '
        f'--export FILE` there, then `earmuff wakeword import FILE --name "{phrase}"` here (docs/hardware.md)'
    )


def _retrain(
    paths: Paths,
    phrase: str,
    lang: str,
    seed: int,
    quiet: bool,
    select: bool,
    recipe: str,
    rival: bool,
    export: Path | None,
) -> dict:
    """The body of `retrain`, in the child process."""
    from earmuff import memory
    from earmuff.wakeword.registry import room_bank, samples, store
    from earmuff.wakeword.registry.publish import publish
    from earmuff.wakeword.train.phrase import check_language, check_phrase
    from earmuff.wakeword.train.trainer import options_from, quick, train

    cfg = config_mod.load(paths.config)
    name, lang = check_phrase(phrase), check_language(lang)
    owner = tuple(samples.load_all(paths, name))
    room = cfg.wakeword.room_bank
    read_at = time.time()
    opts = options_from(
        cfg,
        name,
        lang,
        seed=seed,
        owner_clips=owner,
        quiet=quiet,
        extra_negatives=room_bank.chunks(paths) if room else (),
        extra_positives=room_bank.load(paths, room_bank.positive_kind(name)) if room else None,
        rival=installed_scores(paths, name) if rival else None,
    )
    if recipe == background.QUICK:
        opts = quick(opts)
    free = memory.short_of_training(memory.TRAINING_MB + memory.KOKORO_MB)
    if "kokoro" in opts.voices and free is not None:  # a Zero 2 W beside the service: the rest of the recipe fits
        print(
            f"voice family kokoro: left out of training (it needs about {memory.KOKORO_MB} MB more than the "
            f"{memory.TRAINING_MB} MB of the rest, and {free:.0f} MB is available; docs/hardware.md)",
            file=sys.stderr,
        )
        opts = dataclasses.replace(opts, voices=tuple(v for v in opts.voices if v != "kokoro"))
    before = cfg.wake.wake_word
    result = train(opts, cfg)
    result.meta["recipe"] = recipe
    if room and room_bank.forgotten_at(paths) > read_at:
        raise WakeWordError(
            f"wake word '{name}': the room bank was forgotten while this training used it; "
            f"nothing was installed and '{before}' stays active"
        )
    if export is not None:
        from earmuff.wakeword.registry.export import to_onnx

        tmp = export.with_name(f".{export.name}.tmp")
        to_onnx(result.model, tmp, name)
        tmp.replace(export)
        return result.meta
    if rival and not better(result.meta["validation"]):
        return {**result.meta, "kept": True}
    selected = select or normalise(store.active(paths)) == name
    publish(paths, result, activate=selected)
    return {**result.meta, "selected": selected}


def better(validation: dict) -> bool:
    """The new model beats the installed one on the new held-back data: more recall, or as much with fewer false accepts."""
    new, old = validation, validation["rival"]
    return (new["recall"], -new["false_accepts"]) > (old["recall"], -old["false_accepts"])


def installed_scores(paths: Paths, name: str) -> scoring.Scores | None:
    """The window scores of the installed model of `name`, or None if it has no trained one."""
    from earmuff.wakeword.registry import store
    from earmuff.wakeword.registry.publish import file_scores
    from earmuff.wakeword.train.phrase import folder_name

    path = store.root(paths) / folder_name(name) / store.MODEL
    return file_scores(path) if path.is_file() else None
