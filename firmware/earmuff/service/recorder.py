"""Recording takes of the wake name through the device microphone while the jamming stays on."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from earmuff import config as config_mod
from earmuff.config import SAMPLE_RATE, Config
from earmuff.paths import Paths
from earmuff.service.audio_backend import AudioDeviceError
from earmuff.service.control import ControlError, NotRunning, request, socket_path

TAKE_S = 3.0
SETTLE_S = 2.0  # the echo canceller adapts to the noise before the first take
GRACE_S = 2.0  # a take that gets no audio this long has none coming


class Take:
    """Collects `seconds` of what the detector hears from a device's listen tap (its worker thread)."""

    def __init__(self, seconds: float, since: int | None = None) -> None:
        self.audio = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
        self.pos = 0
        self.since = -1 if since is None else since  # the first sample; -1: from "now", set when recording starts
        self.done = threading.Event()
        self.taps = 0  # calls of the tap: audio is still coming, though a loaded worker may deliver it late

    def tap(self, start: int, x: np.ndarray) -> None:
        """The device's listen tap: copies in what was captured from `since` on."""
        self.taps += 1
        if start + len(x) <= self.since:
            return
        x = x[max(0, self.since - start) :]
        n = min(len(x), len(self.audio) - self.pos)
        self.audio[self.pos : self.pos + n] = x[:n]
        self.pos += n
        if self.pos >= len(self.audio):
            self.done.set()

    def record(self, device) -> np.ndarray | None:
        """Tap `device` until the take is full; None if no audio comes for GRACE_S."""
        # "Now" is the sample the callback is at, not the worker's: a worker running behind must not start
        # the take with audio from before the owner was asked to speak.
        if self.since < 0:
            self.since = device.gate.counter
        device.listen_tap = self.tap
        try:
            # Not a deadline: on a loaded machine the worker delivers a take later than its length, yet all of it.
            taps = -1
            while not self.done.wait(GRACE_S):
                if self.taps == taps:
                    return None
                taps = self.taps
        finally:
            device.listen_tap = None
        return self.audio


class LocalTakes:
    """With no daemon running: a device of our own, jamming as usual, its detector off."""

    def __init__(self, cfg: Config) -> None:
        from earmuff.runtime.device import Device, JamOnly

        self.cfg = cfg
        # Saying the name must not open the wake-word window: the noise stays on for every take.
        self.device = Device(cfg, lambda *a, **k: None, JamOnly(), max_block=cfg.audio.block)
        self.stream: Any = None  # a sounddevice stream
        self.end = 0  # the sample after the last take

    def __enter__(self) -> LocalTakes:
        from earmuff.runtime.device import sleep_wait
        from earmuff.service.audio_backend import choose, start_stream

        self.device.start_worker(sleep_wait(self.cfg.audio.block / SAMPLE_RATE / 4))
        try:
            self.stream = start_stream(self.cfg.audio, choose(self.cfg.audio), self.device.callback)
        except BaseException:
            self.device.stop_worker()
            raise
        time.sleep(SETTLE_S)
        return self

    def take(self, seconds: float = TAKE_S, follow: bool = False) -> np.ndarray:
        """The next `seconds` of what the detector hears (after echo cancellation), from now or on from the last take."""
        take = Take(seconds, self.end if follow else None)
        audio = take.record(self.device)
        self.end = take.since + len(take.audio)
        if audio is None:
            raise AudioDeviceError(
                f"microphone: no audio for {GRACE_S:.0f} s while recording; expected a running input stream"
            )
        return audio

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.device.stop_worker()


class DaemonTakes:
    """With the daemon running: it records the takes, jamming as usual and detecting nothing meanwhile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.end = 0  # the sample after the last take

    def __enter__(self) -> DaemonTakes:
        return self

    def take(self, seconds: float = TAKE_S, follow: bool = False) -> np.ndarray:
        """The next `seconds` of what the daemon's detector hears, from now or on from the last take."""
        since = {"since": self.end} if follow else {}
        reply = request(self.path, "listen", timeout=seconds + 10.0, seconds=seconds, **since)
        if not reply.get("ok"):
            raise ControlError(f"the running earmuff could not record a take: {reply.get('error')}")
        self.end = reply["end"]
        return decode_take(reply["audio"])

    def __exit__(self, *exc: object) -> None:
        pass


def open_takes(paths: Paths) -> DaemonTakes | LocalTakes:
    """Record through the running daemon if there is one (a second stream would add unknown noise), else alone."""
    cfg = config_mod.load(paths.config)
    path = socket_path(cfg, paths)
    try:
        request(path, "status", timeout=5.0)
    except NotRunning:
        return LocalTakes(cfg)
    return DaemonTakes(path)


def encode_take(audio: np.ndarray) -> str:
    """A take as base64 of 16-bit little-endian PCM, for a control reply."""
    return base64.b64encode(np.clip(audio * 32768, -32768, 32767).astype("<i2").tobytes()).decode()


def decode_take(text: str) -> np.ndarray:
    """The inverse of encode_take."""
    return np.frombuffer(base64.b64decode(text), "<i2").astype(np.float32) / 32768
