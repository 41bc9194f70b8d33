"""Runs the real firmware (Device) in the virtual room, faster than real time, and writes what everyone heard."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earmuff import memory
from earmuff.audio.files import read_audio, write_wav
from earmuff.audio.room import Room
from earmuff.config import SAMPLE_RATE, Config
from earmuff.paths import Paths
from earmuff.runtime.device import Device
from earmuff.runtime.faults import FaultInjector, path_gain
from earmuff.runtime.self_check import Expected
from earmuff.sim.scene import Scene, SceneError
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.room_bank import Collector


@dataclass(frozen=True)
class SimResult:
    """What a scene produced: the timeline and the three recordings."""

    events: list[dict]
    echo_mic: np.ndarray
    device_mic: np.ndarray
    speaker_out: np.ndarray
    heard: np.ndarray  # earmuff's microphone after echo cancellation: what its detector hears
    summary: dict
    device: Device | None = None  # the firmware as the scene left it (None with the shield switched off)


class Timeline:
    """Collects events from any thread (list.append is atomic), in scene time."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.items: list[dict] = []
        self.offset_s = offset_s

    def __call__(self, t: float, event: str, **fields: object) -> None:
        """Record one event."""
        self.items.append({"t": round(t - self.offset_s, 3), "event": event, **fields})


# Peak memory of `earmuff simulate` (/usr/bin/time): 258 MB for 60 s, 404 MB for 240 s (docs/virtual-room.md).
BASE_MB, MB_PER_S = 250.0, 0.85
WARMUP_S = 8.0  # the device has been running this long when the scene starts: its echo canceller has adapted
# and its self-check has heard the noise (until then the noise plays at its full level)


def simulate(
    scene: Scene, cfg: Config, collector: Collector | None = None, expected: Expected | None = None
) -> SimResult:
    """Play the scene through the room and the device (its real threads; `collector` learns what it hears;
    `expected`: what calibration measured, for its self-check)."""
    block = cfg.audio.block
    warm = int(np.ceil(WARMUP_S * SAMPLE_RATE / block)) * block
    n = warm + int(np.ceil(scene.duration_s * SAMPLE_RATE / block)) * block
    check_memory(n / SAMPLE_RATE)
    channels = cfg.audio.channels
    room = Room(scene.acoustics, n, channels, latency=2 * block, seed=scene.seed)
    for src in scene.sources:
        room.add_talker(read_audio(src.file), warm + int(src.start_s * SAMPLE_RATE), src.distance_m, src.level_db_spl)
    if scene.wake_word:
        cfg = dataclasses.replace(cfg, wake=dataclasses.replace(cfg.wake, wake_word=scene.wake_word))
    timeline = Timeline(offset_s=warm / SAMPLE_RATE)
    device = None
    faults = tuple(dataclasses.replace(f, at_s=f.at_s + warm / SAMPLE_RATE) for f in scene.faults)
    if scene.jam:
        device = Device(
            cfg,
            timeline,
            store.detector(Paths.from_env(), cfg.wake.wake_word, cfg.wake),  # the sim is an entry point
            FaultInjector(faults),
            max_block=block,
            seed=scene.seed,
            room=collector,
            expected=expected,
        )
        device.start_worker(lambda: time.sleep(0.0003))
    echo, mic, heard = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    out = np.zeros((n, channels), np.float32)
    if device:
        device.listen_tap = lambda start, x: heard.__setitem__(slice(start, start + len(x)), x)
    started, fault = time.perf_counter(), None
    for n0 in range(0, n, block):
        t = n0 / SAMPLE_RATE
        mic[n0 : n0 + block] = room.device_mic(n0, block) * path_gain(faults, "microphone", t)
        if device:
            device.callback(mic[n0 : n0 + block], out[n0 : n0 + block])
            _wait_for_worker(device, block / SAMPLE_RATE)
            if (device.check.fault is None) != (fault is None):  # raised or cleared
                fault = device.check.fault
                timeline(t, "self_check", fault=fault)
        room.play(n0, out[n0 : n0 + block] * path_gain(faults, "speakers", t))
        echo[n0 : n0 + block] = room.echo_mic(n0, block)
    wall = time.perf_counter() - started
    summary = {"duration_s": (n - warm) / SAMPLE_RATE, "wall_s": round(wall, 3), "jam": scene.jam}
    if device:
        device.stop_worker()
        if device.worker is not None and not device.worker.is_alive():
            device.drain_gate_events()
        if device.worker_error:
            timeline(n / SAMPLE_RATE, "worker_died", error=repr(device.worker_error))
        summary.update(device.counters())
        summary["leakage_db_spl_at_1m"] = round(room.leakage_db_spl(out[warm:]), 1)
    events = sorted((e for e in timeline.items if e["t"] >= 0), key=lambda e: e["t"])
    return SimResult(events, echo[warm:], mic[warm:], out[warm:, 0].copy(), heard[warm:], summary, device)


def check_memory(seconds: float) -> None:
    """Raise SceneError if a scene of `seconds` would need more memory than the kernel can give."""
    need, free = BASE_MB + MB_PER_S * seconds, memory.available_mb()
    if free is not None and need > free:
        raise SceneError(
            f"scene of {seconds:.0f} s: needs about {need:.0f} MB of memory and {free:.0f} MB is available; "
            f"expected a scene of at most {max(0.0, free - BASE_MB) / MB_PER_S:.0f} s here"
        )


def _wait_for_worker(device: Device, block_s: float) -> None:
    """Let the worker keep up, but never wait longer than real time would: a stuck worker falls behind."""
    deadline = time.perf_counter() + block_s
    while device.processed < device.ring.written and time.perf_counter() < deadline:
        time.sleep(0.0002)


def write_outputs(result: SimResult, out_dir: Path) -> None:
    """Write echo_mic.wav, device_mic.wav, speaker_out.wav, heard.wav, events.jsonl and summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_wav(out_dir / "echo_mic.wav", result.echo_mic)
    write_wav(out_dir / "device_mic.wav", result.device_mic)
    write_wav(out_dir / "speaker_out.wav", result.speaker_out)
    write_wav(out_dir / "heard.wav", result.heard)
    (out_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in result.events))
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
