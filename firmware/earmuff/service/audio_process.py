"""`earmuff audio`: the process that plays the noise. It imports numpy and sounddevice and nothing heavy.

It owns the full-duplex stream, the noise (generated here, ahead of playback), the gate with its lease
rule and the trigger phrase, and it publishes the microphone and what it played in shared memory
(`shared.py`). The listener (`listener.py`) grants leases there. No valid lease, noise: a listener that dies,
hangs or restarts changes nothing here. A stop the owner asks for (SIGTERM, Ctrl-C) stops the noise.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import time
from typing import Any

import numpy as np

from earmuff import config as config_mod
from earmuff.audio.files import AudioFileError
from earmuff.config import SAMPLE_RATE, Config
from earmuff.paths import Paths
from earmuff.runtime.playback import build_gate, make_noise, play_block, relay_samples, ring_slots, scaled_trigger
from earmuff.runtime.ring import BlockRing
from earmuff.runtime.shared import SharedAudio, hold, shm_path
from earmuff.service.fault_light import FaultLight
from earmuff.service.sdnotify import Heartbeat, notify
from earmuff.service.standby import lock_path, stand_by

log = logging.getLogger("earmuff.audio")

MAX_LEASE_S = 3.0  # [window] lease_s is at most 2 s: a lease reaching further is corrupt
TICK_S = 0.1
STALE_S = 1.0  # no audio callback for this long: stop feeding the watchdog
EXIT_STALE_S = 3.0  # ... and for this long: exit, so that Restart= starts a fresh process
LISTENER_GONE_S = 2.0  # no level lease renewed for this long: the light shows a fault
NICE = -10  # as earmuff.service's Nice=: ahead of everything else on a busy machine, where allowed
# Blocks per PortAudio callback. Each callback costs the same whatever its length (the sound server's
# plugin, the callback's own Python), so the stream's period is several gate blocks: the gate still renders,
# takes its lease and ramps its level block by block, and the listener still gets blocks; only the sound
# card's buffer, and so every reaction heard in the room, grows by the longer period (docs/benchmarks.md).
PERIOD_BLOCKS = 2


class AudioProcess:
    """The stream, the gate and the ring in shared memory; the main thread only refills noise and watches."""

    def __init__(self, cfg: Config, paths: Paths) -> None:
        """Everything that takes time, so that a standby can take over at once; no shared memory yet."""
        self.cfg, self.paths = cfg, paths
        try:
            self.trigger = scaled_trigger(cfg)
        except AudioFileError as exc:  # the noise matters more than the phrase
            log.error("%s; earmuff cannot say the trigger phrase, the jamming is not affected", exc)
            self.trigger = np.zeros(1, np.float32)
        self.noise, self.table = make_noise(cfg, seed=os.getpid())
        self._row = np.zeros((cfg.audio.block, 1 + cfg.audio.channels), np.float32)
        self.stream_cfg = dataclasses.replace(cfg.audio, block=cfg.audio.block * PERIOD_BLOCKS)
        self.stopping = False
        self.stream: Any = None  # a sounddevice stream
        self.reopens = 0
        self.light = FaultLight(cfg.gpio)

    def activate(self) -> None:
        """Put this process's shared memory in place, with the gate and the ring on it."""
        block, width = self.cfg.audio.block, 1 + self.cfg.audio.channels
        self.shared = SharedAudio.create(
            ring_slots(block), block, width, relay_samples(self.cfg), path=shm_path(self.paths)
        )
        self.gate = build_gate(
            self.cfg, self.trigger, self.table, block, self.shared.gate, max_lease=int(MAX_LEASE_S * SAMPLE_RATE)
        )
        self.ring = BlockRing(0, 0, 0, self.shared.ring)

    def callback(self, mic: np.ndarray, out: np.ndarray, late: bool = False) -> None:
        """Render `out` block by block and hand `mic` plus what was played to the listener: copies only."""
        block = self.cfg.audio.block
        for i in range(0, len(out), block):
            play_block(self.gate, self.ring, self._row, mic[i : i + block], out[i : i + block], late and i == 0)

    def choose_devices(self) -> None:
        """Find the configured devices before the shared memory exists: a listener must never attach to a
        process that will exit because its sound card is not there."""
        from earmuff.service.audio_backend import AudioDeviceError, choose, rescan

        try:
            self.choice = choose(self.cfg.audio)
        except AudioDeviceError:  # a standby listed the devices while another process held them: list again
            rescan()
            self.choice = choose(self.cfg.audio)

    def run(self) -> int:
        """Play until asked to stop (0), or until the callback has stopped being called (3)."""
        from earmuff.service.audio_backend import AudioDeviceError, choose, rescan, start_stream

        try:
            self.stream = start_stream(self.stream_cfg, self.choice, self.callback)
        except AudioDeviceError:  # listed while another process held the devices: list again
            rescan()
            self.choice = choose(self.cfg.audio)
            self.stream = start_stream(self.stream_cfg, self.choice, self.callback)
        beat = Heartbeat(STALE_S, time.monotonic())
        listener = Heartbeat(LISTENER_GONE_S, time.monotonic())
        ready, fed = False, 0.0
        while not self.stopping:
            time.sleep(TICK_S)
            self.gate.table.refill(self.gate.counter, self.noise.generate)
            now = time.monotonic()
            silent_for = beat.update(self.gate.counter, now)
            if not ready and self.gate.counter > 0:
                ready = True
                notify("READY=1\nSTATUS=jamming")
                log.info("jamming (pid %d, %s)", os.getpid(), self.shared.path)
            if silent_for >= EXIT_STALE_S:
                log.error("the audio callback stopped %.1f s ago; exiting so that systemd restarts earmuff", silent_for)
                notify("STATUS=fault: audio stopped")
                return 3
            if ready and beat.fresh(now) and now - fed >= 0.25:
                fed = now
                notify("WATCHDOG=1")
            if not self.stream.active:
                self._reopen_stream()
            listener.update(self.gate.counter if self.gate.level_valid else -1, now)
            self.light.show(not listener.fresh(now), int(now * 2) % 2 == 0)
        return 0

    def _reopen_stream(self) -> None:
        """PortAudio ended the stream (an error after an underrun, a lost device): open it again at once."""
        from earmuff.service.audio_backend import AudioDeviceError, start_stream

        self.reopens += 1
        log.error("the audio stream stopped; reopening it (reopen %d)", self.reopens)
        try:
            self.stream.close(ignore_errors=True)
        except Exception as exc:  # closing a broken stream may fail; a new one is what matters
            log.error("closing the stopped stream: %s", exc)
        try:
            self.stream = start_stream(self.stream_cfg, self.choice, self.callback)
        except AudioDeviceError as exc:
            log.error("%s; trying again", exc)  # the heartbeat stays stale: run() exits after EXIT_STALE_S

    def close(self) -> None:
        """The owner asked to stop: the noise ends here."""
        if self.stream is not None:
            self.stream.close()
        self.shared.remove()
        log.info(
            "stopped after %.1f s of audio; counters %s",
            self.gate.counter / SAMPLE_RATE,
            {"xruns": self.gate.xruns, "dropped_blocks": self.ring.dropped},
        )


def main(paths: Paths, input_device: str | None = None, output_device: str | None = None, standby: bool = False) -> int:
    """The body of `earmuff audio`: play until SIGTERM or SIGINT; with `standby`, first wait to take over."""
    cfg, note = config_mod.load_or_last_good(paths)
    if note:
        log.error("config: %s", note)
    audio = dataclasses.replace(
        cfg.audio,
        input=input_device if input_device is not None else cfg.audio.input,
        output=output_device if output_device is not None else cfg.audio.output,
    )
    cfg = dataclasses.replace(cfg, audio=audio)
    if not standby:
        hold(lock_path(paths), "audio process")
    try:  # threads started from here on (PortAudio's) inherit it
        os.setpriority(os.PRIO_PROCESS, 0, min(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:
        pass  # not privileged: systemd's Nice= gives it, a foreground `earmuff run` runs without
    proc = AudioProcess(cfg, paths)

    def stop(*_: object) -> None:
        proc.stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    if standby and not stand_by(proc):
        logging.shutdown()
        os._exit(0)
    proc.choose_devices()
    proc.activate()
    try:
        code = proc.run()
    except BaseException:
        proc.shared.remove()
        raise
    if code == 0:
        proc.close()
    # else the audio stack is stuck and closing the stream could hang too.
    # Exit now, without the interpreter's slow teardown: a restart must not wait for it.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
