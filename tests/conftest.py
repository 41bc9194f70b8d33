"""Shared test helpers: real synthesized speech, real openWakeWord scoring, scene files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from earmuff.audio_io import read_audio, write_wav
from earmuff.config import FRAME, WakeConfig
from earmuff.detector import Detector


def synth(path: Path, text: str, engine: str = "espeak-ng", voice: str = "en-us") -> Path:
    """Speak text with espeak-ng or flite into a 16 kHz WAV at `path`."""
    raw = path.with_suffix(".raw.wav")
    cmd = ["espeak-ng", "-v", voice, "-w", str(raw), text] if engine == "espeak-ng" else [
        "flite", "-voice", voice, "-t", text, "-o", str(raw)]
    subprocess.run(cmd, check=True, capture_output=True)
    write_wav(path, read_audio(raw))
    raw.unlink()
    return path


def max_score(audio: np.ndarray, wake_word: str, start_s: float = 0.0, end_s: float | None = None) -> float:
    """Highest openWakeWord score of `wake_word` over frames ending between start_s and end_s."""
    det = Detector(wake_word, WakeConfig())
    best = 0.0
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        det.process(audio[i : i + FRAME], i + FRAME)
        t = (i + FRAME) / 16000
        if t >= start_s and (end_s is None or t <= end_s):
            best = max(best, det.last_score)
    return best


def write_scene(folder: Path, body: str) -> Path:
    """Write a scene TOML into folder and return its path."""
    path = folder / "scene.toml"
    path.write_text(body)
    return path


@pytest.fixture(autouse=True)
def earmuff_home(tmp_path, monkeypatch):
    """Every test gets its own empty EARMUFF_HOME, so no system config leaks in."""
    home = tmp_path / "earmuff-home"
    home.mkdir()
    monkeypatch.setenv("EARMUFF_HOME", str(home))
    return home
