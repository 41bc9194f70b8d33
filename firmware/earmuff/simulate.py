"""Runs the real firmware (Device) in the virtual room, faster than real time, and writes what everyone heard."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio_io import read_audio, write_wav
from .config import SAMPLE_RATE, Config
from .device import Device
from .faults import FaultInjector
from .room import Room
from .scene import Scene


@dataclass(frozen=True)
class SimResult:
    """What a scene produced: the timeline and the three recordings."""

    events: list[dict]
    echo_mic: np.ndarray
    device_mic: np.ndarray
    speaker_out: np.ndarray
    heard: np.ndarray  # earmuff's microphone after echo cancellation: what its detector hears
    summary: dict


class Timeline:
    """Collects events from any thread (list.append is atomic)."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def __call__(self, t: float, event: str, **fields: object) -> None:
        """Record one event."""
        self.items.append({"t": round(t, 3), "event": event, **fields})


def simulate(scene: Scene, cfg: Config) -> SimResult:
    """Play the scene through the room and the device; the device runs its real threads."""
    block = cfg.audio.block
    n = int(np.ceil(scene.duration_s * SAMPLE_RATE / block)) * block
    channels = cfg.audio.channels
    room = Room(scene.acoustics, n, channels, latency=2 * block, seed=scene.seed)
    for src in scene.sources:
        room.add_talker(read_audio(src.file), int(src.start_s * SAMPLE_RATE), src.distance_m, src.level_db_spl)
    if scene.wake_word:
        cfg = dataclasses.replace(cfg, wake=dataclasses.replace(cfg.wake, wake_word=scene.wake_word))
    timeline = Timeline()
    device = None
    if scene.jam:
        device = Device(cfg, timeline, FaultInjector(scene.faults), max_block=block, seed=scene.seed)
        device.start_worker(lambda: time.sleep(0.0003))
    echo, mic, heard = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    out = np.zeros((n, channels), np.float32)
    if device:
        device.listen_tap = lambda start, x: heard.__setitem__(slice(start, start + len(x)), x)
    started = time.perf_counter()
    for n0 in range(0, n, block):
        mic[n0 : n0 + block] = room.device_mic(n0, block)
        if device:
            device.callback(mic[n0 : n0 + block], out[n0 : n0 + block])
            _wait_for_worker(device, block / SAMPLE_RATE)
        room.play(n0, out[n0 : n0 + block])
        echo[n0 : n0 + block] = room.echo_mic(n0, block)
    wall = time.perf_counter() - started
    summary = {"duration_s": n / SAMPLE_RATE, "wall_s": round(wall, 3), "jam": scene.jam}
    if device:
        device.stop_worker()
        if device.worker is not None and not device.worker.is_alive():
            device.drain_gate_events()
        if device.worker_error:
            timeline(n / SAMPLE_RATE, "worker_died", error=repr(device.worker_error))
        summary.update(device.counters())
        summary["leakage_db_spl_at_1m"] = round(room.leakage_db_spl(out), 1)
    events = sorted(timeline.items, key=lambda e: e["t"])
    return SimResult(events, echo, mic, out[:, 0].copy(), heard, summary)


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
