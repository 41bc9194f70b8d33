"""Checks on the shipped trigger WAVs in models/triggers (made by scripts/make_trigger_audio.py)."""

from __future__ import annotations

import hashlib
import os
import re
import wave
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.unit

TRIGGERS = Path(__file__).resolve().parents[1] / "models" / "triggers"
RATE = 16000


def read_wav(path: Path) -> np.ndarray:
    """Read a WAV, asserting 16 kHz mono 16-bit PCM, and return int16 samples."""
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2), path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def openwakeword_alexa(x: np.ndarray) -> float:
    """Return openWakeWord's max alexa score over the clip padded with 1 s silence each side."""
    import pyopen_wakeword
    from openwakeword import Model

    d = os.path.join(os.path.dirname(pyopen_wakeword.__file__), "models")
    m = Model(
        wakeword_models=[f"{d}/alexa.tflite"],
        inference_framework="tflite",
        melspec_model_path=f"{d}/melspectrogram.tflite",
        embedding_model_path=f"{d}/embedding_model.tflite",
    )
    np.random.seed(0)
    m.reset()
    a = np.pad(x, RATE)
    return max(float(m.predict(a[i : i + 1280])["alexa"]) for i in range(0, len(a) - 1279, 1280))


def test_alexa_format_and_length() -> None:
    """alexa.wav is 16 kHz mono int16 and shorter than 1.5 s."""
    x = read_wav(TRIGGERS / "alexa.wav")
    assert 0 < len(x) < 1.5 * RATE


def test_alexa_detected_by_openwakeword() -> None:
    """openWakeWord's alexa model scores > 0.5 on alexa.wav."""
    assert openwakeword_alexa(read_wav(TRIGGERS / "alexa.wav")) > 0.5


@pytest.mark.parametrize("name", ["hey_google", "ok_google"])
def test_google_triggers(name: str) -> None:
    """The Google triggers are 16 kHz mono and 0.3-2 s long."""
    x = read_wav(TRIGGERS / f"{name}.wav")
    assert 0.3 * RATE <= len(x) <= 2 * RATE


def test_provenance_sha256_matches() -> None:
    """PROVENANCE.md lists the sha256 of every shipped WAV, and they match."""
    text = (TRIGGERS / "PROVENANCE.md").read_text()
    listed = dict(re.findall(r"^\| (\w+\.wav) \|.*\| ([0-9a-f]{64}) \|$", text, re.M))
    assert set(listed) == {"alexa.wav", "hey_google.wav", "ok_google.wav"}
    for name, sha in listed.items():
        assert hashlib.sha256((TRIGGERS / name).read_bytes()).hexdigest() == sha, name
