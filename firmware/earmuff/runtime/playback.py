"""What the audio callback does, and how the gate, the noise table and the ring are built for it: shared by the
audio process and the in-process device of the virtual room."""

from __future__ import annotations

import numpy as np

from earmuff.audio.files import trigger_audio
from earmuff.audio.noise import NoiseGenerator
from earmuff.config import SAMPLE_RATE, Config
from earmuff.runtime.noise_gate import GateArrays, NoiseGate, NoiseTable
from earmuff.runtime.ring import BlockRing

NOISE_TABLE_S = 8.0
RING_S = 2.0  # microphone and played blocks the listener may fall behind by before blocks are dropped


def scaled_trigger(cfg: Config) -> np.ndarray:
    """The trigger phrase at its configured level; AudioFileError if its file is bad."""
    trigger = trigger_audio(cfg.window.trigger)
    return trigger * (10 ** (cfg.window.trigger_level_dbfs / 20) / (np.sqrt(np.mean(trigger**2)) + 1e-12))


def relay_samples(cfg: Config) -> int:
    """Room for the longest command a relay plays."""
    return int(cfg.window.relay_max_s * SAMPLE_RATE)


def make_noise(cfg: Config, seed: int = 0) -> tuple[NoiseGenerator, NoiseTable]:
    """The noise generator and a table of its noise that the gate loops and the generator keeps refilling."""
    noise = NoiseGenerator(cfg.audio.channels, cfg.noise.level_dbfs, cfg.noise.modulation_depth, seed, cfg.noise.kind)
    return noise, NoiseTable(noise.generate(int(NOISE_TABLE_S * SAMPLE_RATE)))


def build_gate(
    cfg: Config,
    trigger: np.ndarray,
    table: NoiseTable,
    max_block: int,
    arrays: GateArrays | None = None,
    max_lease: int | None = None,
) -> NoiseGate:
    """The gate as configured."""
    return NoiseGate(
        table,
        trigger,
        pre_roll=int(cfg.window.pre_roll_s * SAMPLE_RATE),
        ramp=max(1, int(cfg.noise.ramp_ms * SAMPLE_RATE / 1000)),
        max_block=max_block,
        table_dbfs=cfg.noise.level_dbfs,
        arrays=arrays or GateArrays.private(relay_samples(cfg)),
        max_lease=max_lease,
    )


def play_block(
    gate: NoiseGate, ring: BlockRing, rows: np.ndarray, mic: np.ndarray, out: np.ndarray, late: bool
) -> None:
    """The audio callback's work: render `out`, and put `mic` beside what was played into the ring (via `rows`)."""
    start = gate.counter
    gate.render(out, late)
    row = rows[: len(out)]
    row[:, 0] = mic
    row[:, 1:] = out
    ring.put(start, row)


def ring_slots(block: int) -> int:
    """Slots of the ring for blocks of `block` samples."""
    return int(RING_S * SAMPLE_RATE / block) + 1
