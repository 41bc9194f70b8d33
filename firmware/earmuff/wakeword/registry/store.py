"""Trained wake words on disk: install atomically, list, activate, remove, import.

Layout: Paths.state/wakewords/<phrase_with_underscores> is a symlink to a complete version folder
(.v-<name>-<time>) holding model.onnx and model.json; replacing the symlink is one atomic rename,
so the previous model stays in use until the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from earmuff import config as config_mod
from earmuff.audio.files import AudioFileError, check_readable
from earmuff.config import WakeConfig
from earmuff.paths import Paths, user_name
from earmuff.runtime.detector import Detector, pretrained_dir
from earmuff.wake_name import WakeWordError, normalise
from earmuff.wakeword.train.phrase import folder_name

MODEL = "model.onnx"  # what training writes; an imported TFLite model is model.tflite
SIDECAR = "model.json"
MODELS = (MODEL, "model.tflite")
PRETRAINED = ("hey jarvis", "hey mycroft", "hey rhasspy", "okay nabu", "alexa")  # openWakeWord's, in its wheel


def root(paths: Paths) -> Path:
    """The folder of trained wake words."""
    return paths.state / "wakewords"


def samples_dir(paths: Paths, phrase: str) -> Path:
    """Where the owner's own recordings of a wake word are kept."""
    return paths.state / "wakeword-samples" / folder_name(phrase)


def resolve(paths: Paths, wake_word: str) -> Path:
    """Map a wake word's phrase ('hey jarvis') or a model file path to the model file."""
    try:
        return _resolve(paths, wake_word)
    except OSError as exc:  # e.g. a folder the service's user may not read: a fault to show, never a dead thread
        raise WakeWordError(
            f"wake word '{wake_word}': {exc.filename} cannot be read ({exc.strerror}); "
            f"expected files user {user_name()} may read"
        ) from None


def _resolve(paths: Paths, wake_word: str) -> Path:
    key = normalise(wake_word)
    candidates = [root(paths) / folder_name(key) / m for m in MODELS]
    if key in PRETRAINED:
        candidates.append(pretrained_dir() / f"{folder_name(key)}.tflite")
    for path in candidates:
        if path.exists():
            return path
    path = Path(wake_word).expanduser()
    if path.suffix in (".tflite", ".onnx"):
        if not path.exists():
            raise WakeWordError(f"wake-word model file {path}: does not exist")
        return path
    raise WakeWordError(
        f"wake word '{wake_word}': no such wake word; expected one of {list(PRETRAINED)}, "
        f"a trained one under {root(paths)}, or a .onnx or .tflite model file"
    )


def detector(paths: Paths, wake_word: str, cfg: WakeConfig) -> Detector:
    """A detector for a wake word's phrase or model file (loads the model: takes a moment)."""
    return Detector(resolve(paths, wake_word), cfg, wake_word)


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to the disk: what is reported kept survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_version(paths: Paths, phrase: str) -> Path:
    """A fresh, empty version folder to write a model into before `install`; clears those left by a crash."""
    root(paths).mkdir(parents=True, exist_ok=True)
    cleanup_unfinished(paths)
    prefix = f".v-{folder_name(phrase)}-{time.strftime('%Y%m%dT%H%M%S')}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root(paths)))


def install(paths: Paths, version: Path, phrase: str) -> Path:
    """Make a complete version folder the wake word `phrase` in one atomic step; return its path."""
    model = next((version / m for m in MODELS if (version / m).is_file()), version / MODEL)
    for f in (model, version / SIDECAR):
        if not f.is_file() or f.stat().st_size == 0:
            raise WakeWordError(f"model folder {version}: {f.name} is missing or empty; nothing was installed")
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    link = root(paths) / folder_name(phrase)
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # a folder someone made by hand: keep it beside
        link.rename(root(paths) / f".old-{link.name}-{int(time.time())}")
    tmp = root(paths) / f".link-{link.name}-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(version.name, tmp)
    os.replace(tmp, link)
    fsync(root(paths))
    if previous and previous != version.resolve() and previous.parent == root(paths).resolve():
        shutil.rmtree(previous, ignore_errors=True)
    return link


def discard(version: Path) -> None:
    """Delete an unfinished version folder (after Ctrl-C, disk full or an error)."""
    shutil.rmtree(version, ignore_errors=True)


def cleanup_unfinished(paths: Paths) -> None:
    """Remove version folders no wake word points at, over an hour old (left by a crash or a kill)."""
    if not root(paths).is_dir():
        return
    used = {p.resolve() for p in root(paths).iterdir() if p.is_symlink()}
    for p in root(paths).glob(".v-*"):
        if p.resolve() not in used and time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


def info(paths: Paths, phrase: str) -> dict:
    """The sidecar of an installed wake word."""
    path = root(paths) / folder_name(phrase) / SIDECAR
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise WakeWordError(f"wake word '{normalise(phrase)}': not trained; expected one of {names(paths)}") from None
    except json.JSONDecodeError as exc:
        raise WakeWordError(f"wake word '{normalise(phrase)}': {path} is not valid JSON ({exc})") from None


def names(paths: Paths) -> list[str]:
    """Phrases of the installed (trained or imported) wake words."""
    if not root(paths).is_dir():
        return []
    return sorted(
        p.name.replace("_", " ")
        for p in root(paths).iterdir()
        if not p.name.startswith(".") and any((p / m).is_file() for m in MODELS)
    )


def active(paths: Paths) -> str:
    """The wake word the config selects."""
    return config_mod.load(paths.config).wake.wake_word


def activate(paths: Paths, phrase: str) -> None:
    """Select a wake word in config.toml (checked, then written atomically)."""
    model = resolve(paths, phrase)  # raises WakeWordError naming it if it does not exist
    given_file = Path(phrase).suffix in (".onnx", ".tflite")  # a name has letters only, never a dot
    config_mod.edit([("wake", "wake_word", str(model.resolve()) if given_file else normalise(phrase))], paths.config)


def installed(paths: Paths, phrase: str) -> bool:
    """A folder (or a link, even one whose model is gone) of this wake word exists."""
    link = root(paths) / folder_name(normalise(phrase))
    return link.exists() or link.is_symlink()


def remove(paths: Paths, phrase: str) -> None:
    """Delete a trained wake word; the active one cannot be removed."""
    name = normalise(phrase)
    link = root(paths) / folder_name(name)
    if not installed(paths, name):
        raise WakeWordError(f"wake word '{name}': not installed; expected one of {names(paths)}")
    if normalise(active(paths)) == name:
        raise WakeWordError(f"wake word '{name}': is the active wake word; `earmuff wakeword use` another one first")
    target = link.resolve()
    if link.is_symlink():
        link.unlink()
        if target.exists():  # an error deleting it is reported, never a silent "removed"
            shutil.rmtree(target)
    else:
        shutil.rmtree(link)


def check_model(path: Path) -> None:
    """Raise WakeWordError unless `path` is an openWakeWord model (ONNX or TFLite) taking [1, 16, 96] and scoring 0..1."""
    if path.suffix not in (".onnx", ".tflite"):
        raise WakeWordError(f"model file {path}: expected an openWakeWord .onnx or .tflite model (input [1, 16, 96])")
    try:
        check_readable(path, "model file", "an openWakeWord .onnx or .tflite model")
    except AudioFileError as exc:
        raise WakeWordError(str(exc)) from None
    det = Detector(path, WakeConfig())
    if det.input_shape[1:] != [16, 96]:
        raise WakeWordError(f"model file {path}: input shape {det.input_shape}; expected [1, 16, 96]")
    try:
        for i in range(30):
            det.process(np.zeros(1280, np.float32), (i + 1) * 1280)
    except Exception as exc:
        raise WakeWordError(f"model file {path}: fails on audio ({exc})") from exc
    if not 0.0 <= det.last_score <= 1.0:
        raise WakeWordError(f"model file {path}: score {det.last_score} on silence; expected a value in 0..1")


def import_model(paths: Paths, path: Path, phrase: str | None) -> str:
    """Install a model file made elsewhere under `phrase` (default: the file's name); return the phrase."""
    path = Path(path)
    check_model(path)
    name = normalise(phrase or path.stem.replace("_", " "))
    if name in PRETRAINED:
        raise WakeWordError(f"name '{name}': taken by a built-in wake word; choose another with --name")
    version = new_version(paths, name)
    try:
        shutil.copyfile(path, version / f"model{path.suffix}")
        meta = {
            "phrase": name,
            "imported_from": str(path.resolve()),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "threshold": 0.5,
            "calibrated_to_0_5": False,
        }
        (version / SIDECAR).write_text(json.dumps(meta, indent=2) + "\n")
        install(paths, version, name)
    except BaseException:
        discard(version)
        raise
    return name
