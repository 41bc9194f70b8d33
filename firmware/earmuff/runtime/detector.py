"""Wake-word detection on 80 ms frames: openWakeWord's features in TFLite, then the wake word's own model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from earmuff.config import FRAME, SAMPLE_RATE, WakeConfig
from earmuff.wake_name import WakeWordError

if TYPE_CHECKING:
    import numpy as np

RAW_BUFFER = FRAME + 480  # raw samples a frame's melspectrogram reads: the new 1280 and the 480 before them
MEL_WINDOW = 76  # melspectrogram frames per embedding
WINDOW = 16  # embeddings per wake-word window (1.28 s)


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


class Features:
    """openWakeWord's streaming front end, as its AudioFeatures computes it for 80 ms frames: each frame adds
    one 96-value embedding of the last 76 melspectrogram frames."""

    def __init__(self) -> None:
        import numpy as np

        folder = pretrained_dir()
        self.mel = _tflite((folder / "melspectrogram.tflite").read_bytes(), [1, RAW_BUFFER])[0]
        self.embed = _tflite((folder / "embedding_model.tflite").read_bytes(), None)[0]
        self.raw = np.zeros(RAW_BUFFER, np.float32)
        self.mels = np.zeros((MEL_WINDOW, 32), np.float32)
        self.window = np.zeros((WINDOW, 96), np.float32)
        silence = np.zeros(FRAME, np.float32)
        for _ in range(WINDOW + MEL_WINDOW // 8):  # start as if it had heard silence (openWakeWord: noise)
            self(silence)

    def __call__(self, pcm: np.ndarray) -> None:
        """Add one frame of 1280 samples on the int16 scale."""
        self.raw[:-FRAME] = self.raw[FRAME:]
        self.raw[-FRAME:] = pcm
        mel = self.mel(self.raw[None]).reshape(-1, 32) / 10 + 2  # openWakeWord's fit to Google's speech_embedding
        self.mels[: -len(mel)] = self.mels[len(mel) :]
        self.mels[-len(mel) :] = mel
        self.window[:-1] = self.window[1:]
        self.window[-1] = self.embed(self.mels[None, :, :, None]).reshape(96)


class Detector:
    """Streams 80 ms frames through the features and the wake word's model; threshold, patience, refractory time."""

    def __init__(self, path: Path, cfg: WakeConfig, name: str | None = None) -> None:
        self.name = name if name is not None else str(path)  # what detections report: the wake word's name
        self.path = path
        self.cfg = cfg
        self.score, self.input_shape = load_model(path)
        self.features = Features()
        self.above = 0
        self.quiet_until = 0
        self.last_score = 0.0

    def process(self, frame: np.ndarray, end_sample: int) -> Detection | None:
        """Score one frame of 1280 float samples ending at `end_sample`; return a detection or None."""
        import numpy as np  # here, not at the top: the registry (so the command line) imports this module to score nothing

        self.features(np.clip(frame * 32768.0, -32768, 32767).astype(np.int16))
        self.last_score = score = self.score(self.features.window[None])
        self.above = self.above + 1 if score >= self.cfg.threshold else 0
        if self.above < self.cfg.consecutive_frames or end_sample < self.quiet_until:
            return None
        self.above = 0
        self.quiet_until = end_sample + int(self.cfg.refractory_s * SAMPLE_RATE)
        return Detection(self.name, score, end_sample)

    def window(self) -> np.ndarray:
        """The embedding window (16, 96) the wake-word model scored last."""
        return self.features.window.copy()


def _tflite(model: bytes, input_shape: list[int] | None) -> tuple[Callable[[np.ndarray], np.ndarray], list[int]]:
    """A one-thread TFLite interpreter as a function of its one input, and that input's shape."""
    import tflite_runtime.interpreter as tflite

    interpreter = tflite.Interpreter(model_content=model, num_threads=1)
    if input_shape is not None:
        interpreter.resize_tensor_input(0, input_shape, strict=True)
    interpreter.allocate_tensors()
    feed, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(feed, x)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return run, interpreter.get_input_details()[0]["shape"].tolist()


def load_model(path: Path) -> tuple[Callable[[np.ndarray], float], list]:
    """The wake word's model (openWakeWord's format: [1, 16, 96] in, a score in 0..1 out) and its input shape.

    Read into memory: a runtime that maps the file would die (SIGBUS) if the file were rewritten later.
    """
    if path.suffix not in (".onnx", ".tflite"):
        raise WakeWordError(f"wake-word model file {path}: expected a .onnx or .tflite openWakeWord model")
    try:
        model = path.read_bytes()
        if path.suffix == ".tflite":
            run, shape = _tflite(model, None)
            return (lambda w: float(run(w).flat[0])), shape
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        return (lambda w: float(session.run(None, {feed.name: w})[0].flat[0])), list(feed.shape)
    except Exception as exc:  # the runtimes raise many kinds on a corrupt file
        raise WakeWordError(f"wake-word model file {path}: cannot be loaded ({exc})") from exc
