"""`earmuff calibrate`: measure the path from earmuff's speakers to its microphone and set levels from it.

The noise keeps playing throughout (it is the test signal), so the smart speaker stays jammed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from earmuff import config as config_mod
from earmuff.audio.clock_drift import gcc_phat_lag
from earmuff.audio.echo_path import EchoPath
from earmuff.audio.noise import NoiseGenerator
from earmuff.audio.room import Acoustics, Room
from earmuff.audio.vad import level_dbfs
from earmuff.config import SAMPLE_RATE, Config
from earmuff.paths import Paths

SECONDS = 12.0
VOICE_MARGIN_DB = 8.0  # voice activity: this far above the room after cancellation (-72 dBFS in the default room)


@dataclass(frozen=True)
class Calibration:
    """What calibration measured, and the voice threshold it chose."""

    delay_ms: float  # playback to microphone: sound card latency plus the acoustic path
    drift_ppm: float
    coupling_db: float  # microphone level minus output level (both dBFS)
    echo_reduction_db: float  # of the echo canceller over the last 4 s, clock drift compensated
    floor_dbfs: float  # the quiet room plus what is left of the noise after cancellation
    voice_threshold_dbfs: float


def measure(mic: np.ndarray, played: np.ndarray) -> Calibration:
    """Derive the calibration from a recording `mic` of the noise `played` (samples x channels)."""
    played = played.reshape(len(played), -1)
    found = [
        gcc_phat_lag(mic[i : i + SAMPLE_RATE], played[i : i + SAMPLE_RATE, 0])
        for i in range(0, 2 * SAMPLE_RATE, SAMPLE_RATE // 2)
    ]
    lags = [lag for lag in found if lag is not None]
    if not lags:
        raise RuntimeError(
            "calibration: the microphone does not hear earmuff's own speakers; check the wiring and the seal"
        )
    echo = EchoPath("fdaf", played.shape[1])
    out = np.concatenate(
        [echo.process(mic[i : i + 1280], played[i : i + 1280]) for i in range(0, len(mic) - 1279, 1280)]
    )
    tail = slice(len(out) - 4 * SAMPLE_RATE, len(out))
    floor = level_dbfs(out[tail])
    return Calibration(
        delay_ms=round(float(np.median(lags)) / SAMPLE_RATE * 1000, 3),
        drift_ppm=round(echo.drift.ppm, 1) if echo.drift else 0.0,
        coupling_db=round(level_dbfs(mic[tail]) - level_dbfs(played[tail]), 1),
        echo_reduction_db=round(level_dbfs(mic[tail]) - floor, 1),
        floor_dbfs=round(floor, 1),
        voice_threshold_dbfs=round(floor + VOICE_MARGIN_DB, 1),
    )


def record_virtual(cfg: Config, acoustics: Acoustics, latency: int = 640, seconds: float = SECONDS, seed: int = 0):
    """Play the configured noise into the virtual room's shield; return (mic, played)."""
    n, block = int(seconds * SAMPLE_RATE), cfg.audio.block
    room = Room(acoustics, n, cfg.audio.channels, latency, seed)
    noise = NoiseGenerator(cfg.audio.channels, cfg.noise.level_dbfs, cfg.noise.modulation_depth, seed)
    played = noise.generate(n // 160 * 160)
    mic = np.zeros(len(played), np.float32)
    for n0 in range(0, len(played) - block + 1, block):
        mic[n0 : n0 + block] = room.device_mic(n0, block)
        room.play(n0, played[n0 : n0 + block])
    return mic, played


def record_real(cfg: Config, seconds: float = SECONDS):
    """Play the configured noise on the sound card while recording earmuff's microphone."""
    import sounddevice as sd

    from earmuff.service.audio_backend import choose

    choice = choose(cfg.audio)
    noise = NoiseGenerator(cfg.audio.channels, cfg.noise.level_dbfs, cfg.noise.modulation_depth, seed=0)
    played = noise.generate(int(seconds * SAMPLE_RATE) // 160 * 160)
    mic = sd.playrec(played, SAMPLE_RATE, input_mapping=[1], device=(choice.input, choice.output), blocking=True)
    return mic[:, 0].astype(np.float32), played


def save(cal: Calibration, paths: Paths) -> Path:
    """Store the report as calibration.json and the chosen voice threshold in config.toml, each atomically."""
    # The config first: the edit may be refused.
    config_mod.edit([("window", "voice_threshold_dbfs", cal.voice_threshold_dbfs)], paths.config)
    report = paths.state / "calibration.json"
    config_mod.atomic_write(report, (json.dumps(asdict(cal), indent=2) + "\n").encode())
    return report


def report_text(cal: Calibration) -> str:
    """A short report a person can read."""
    seal = "good" if cal.echo_reduction_db >= 25 else "poor: check that the cups sit flat and the seal is closed"
    return (
        f"delay, speakers to microphone : {cal.delay_ms:.2f} ms\n"
        f"clock drift                   : {cal.drift_ppm:+.1f} ppm\n"
        f"coupling, output to microphone: {cal.coupling_db:+.1f} dB\n"
        f"echo reduction                : {cal.echo_reduction_db:.1f} dB ({seal})\n"
        f"room floor after cancellation : {cal.floor_dbfs:.1f} dBFS\n"
        f"voice threshold set to        : {cal.voice_threshold_dbfs:.1f} dBFS"
    )
