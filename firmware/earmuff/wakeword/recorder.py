"""Recording takes of the wake name through the device microphone while the jamming stays on."""

from __future__ import annotations

import sys
import threading
import time
from typing import Iterator

import numpy as np

from .. import config as config_mod
from ..config import SAMPLE_RATE

TAKE_S = 3.0


def takes(count: int, name: str) -> Iterator[np.ndarray]:
    """Yield `count` takes of TAKE_S seconds each of what the detector hears (after echo cancellation)."""
    from ..audio_backend import choose, start_stream
    from ..device import Device, sleep_wait

    cfg = config_mod.load()
    device = Device(cfg, lambda *a, **k: None, max_block=cfg.audio.block)
    buf = np.zeros(int(TAKE_S * SAMPLE_RATE), np.float32)
    state = {"pos": -1}
    done = threading.Event()

    def tap(start: int, x: np.ndarray) -> None:
        pos = state["pos"]
        if pos < 0:
            return
        n = min(len(x), len(buf) - pos)
        buf[pos : pos + n] = x[:n]
        state["pos"] = pos + n
        if state["pos"] >= len(buf):
            state["pos"] = -1
            done.set()

    device.listen_tap = tap
    device.start_worker(sleep_wait(cfg.audio.block / SAMPLE_RATE / 4))
    stream = start_stream(cfg.audio, choose(cfg.audio), device.callback)
    try:
        time.sleep(2.0)  # let the echo canceller adapt to the noise first
        for i in range(count):
            print(f"take {i + 1}/{count}: say '{name}' now", file=sys.stderr)
            done.clear()
            state["pos"] = 0
            done.wait(TAKE_S + 2.0)
            yield buf.copy()
    finally:
        stream.close()
        device.stop_worker()
