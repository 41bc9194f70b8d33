"""Helpers shared by the tests and the benchmarks: synthesized speech, openWakeWord scores, scenes, fail-closed checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from earmuff.audio.files import read_audio
from earmuff.config import FRAME, WakeConfig
from earmuff.paths import Paths
from earmuff.sim.demo import synthesize
from earmuff.wakeword.registry import store


def synth(path: Path, text: str, engine: str = "espeak-ng", voice: str = "en-us") -> Path:
    """Speak text with espeak-ng or flite into a 16 kHz WAV at `path`."""
    synthesize(engine, voice, text, path)
    return path


def frame_scores(audio: np.ndarray, wake_word: str) -> np.ndarray:
    """openWakeWord's score of `wake_word` for every 80 ms frame of `audio`."""
    det = store.detector(Paths.from_env(), wake_word, WakeConfig())
    scores = []
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        det.process(audio[i : i + FRAME], i + FRAME)
        scores.append(det.last_score)
    return np.array(scores)


def max_in(scores: np.ndarray, start_s: float, end_s: float) -> float:
    """Highest score of the frames ending between start_s and end_s."""
    ends = (np.arange(len(scores)) + 1) * FRAME / 16000
    inside = scores[(ends >= start_s) & (ends <= end_s)]
    return float(inside.max()) if len(inside) else 0.0


def write_scene(folder: Path, body: str) -> Path:
    """Write a scene TOML into folder and return its path."""
    path = folder / "scene.toml"
    path.write_text(body)
    return path


def windows(events: list[dict], end_s: float) -> list[tuple[float, float]]:
    """(jam_off, jam_on) time pairs; a window still open at the end closes at end_s."""
    spans, opened = [], None
    for e in events:
        if e["event"] == "jam_off":
            opened = e["t"]
        elif e["event"] == "jam_on" and opened is not None:
            spans.append((opened, e["t"]))
            opened = None
    if opened is not None:
        spans.append((opened, end_s))
    return spans


def assert_fail_closed(result, max_window_s: float) -> None:
    """The speakers play noise in every 20 ms block outside legitimate windows, none longer than the maximum."""
    from earmuff import config

    noise = config.load(Paths.from_env().config).noise
    quietest = min(noise.level_dbfs, noise.quiet_level_dbfs) if noise.adaptive else noise.level_dbfs
    out = result.speaker_out
    end_s = len(out) / 16000
    spans = windows(result.events, end_s)
    rms_db = 10 * np.log10(np.mean(out[: len(out) // 320 * 320].reshape(-1, 320) ** 2, axis=1) + 1e-20)
    for i, level in enumerate(rms_db):
        t0, t1 = i * 0.02, (i + 1) * 0.02
        if any(a - 0.001 <= t1 and t0 <= b + 0.021 for a, b in spans):
            continue  # inside a window or its 20 ms ramps
        assert level > quietest - 12, f"noise missing at {t0:.2f} s ({level:.1f} dBFS); windows {spans}"
    for a, b in spans:
        assert b - a <= max_window_s + 0.05, f"window {a:.2f}-{b:.2f} s exceeds {max_window_s} s"


def speech_span(path: Path) -> tuple[float, float]:
    """(first, last) second of a clip where its 10 ms level is within 35 dB of its loudest."""
    x = read_audio(path)
    power = np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, axis=1)
    loud = np.flatnonzero(power > power.max() * 10 ** (-3.5))
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01
