"""The standby audio process: prepared, it waits for the playing one to exit (or ends it if hung), then takes over."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from earmuff.paths import Paths
from earmuff.runtime.shared import AttachError, Busy, SharedAudio, hold, shm_path
from earmuff.service.sdnotify import Heartbeat, notify

if TYPE_CHECKING:
    from earmuff.service.audio_process import AudioProcess

log = logging.getLogger("earmuff.audio")

HUNG_S = 1.0  # a playing process whose callback has not run for this long is ended by the standby


def lock_path(paths: Paths) -> Path:
    """The lock that keeps a second audio process from starting."""
    return paths.runtime / "audio.lock"


class PlayingWatch:
    """The standby's eye on the playing process: one that has played and then stops for HUNG_S (frozen, not
    dead, so its lock is not freed) is killed, so that the standby can take over without waiting for systemd."""

    def __init__(self, shm: Path) -> None:
        self.shm = shm
        self.shared: SharedAudio | None = None
        self.beat = Heartbeat(HUNG_S, time.monotonic())

    def check(self) -> None:
        """Call a few times a second."""
        now = time.monotonic()
        try:
            if self.shared is None or self.shared.replaced():
                self.shared, self.beat = SharedAudio.attach(self.shm), Heartbeat(HUNG_S, now)
        except AttachError:
            self.shared = None
            return
        counter = int(self.shared.gate.state[0])
        self.beat.update(counter, now)
        if counter > 0 and not self.beat.fresh(now):  # before its first block, its own EXIT_STALE_S decides
            pid = self.shared.audio_pid
            log.error(
                "the playing audio process (pid %d) has played nothing for %.1f s; ending it to take over", pid, HUNG_S
            )
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.shared = None


def stand_by(proc: AudioProcess) -> bool:
    """Wait, prepared, until the playing audio process exits; True to take over (it crashed), False to stop
    (the owner stopped it: its shared memory is gone). Systemd's watchdog is fed meanwhile."""
    try:
        hold(lock_path(proc.paths), "audio process")
        return True  # nobody was playing: this one plays
    except Busy:
        pass
    from earmuff.service.audio_backend import AudioDeviceError, choose

    try:
        choose(proc.cfg.audio)  # PortAudio lists and describes the devices now: taking over must not wait for it
    except AudioDeviceError:
        pass  # busy with the playing process: taking over lists them again

    taken = threading.Event()

    def take() -> None:
        hold(lock_path(proc.paths), "audio process", wait=True)
        taken.set()

    threading.Thread(target=take, daemon=True).start()
    notify("READY=1\nSTATUS=standing by")
    log.info("standing by (pid %d) to take over if the playing audio process dies", os.getpid())
    watch = PlayingWatch(shm_path(proc.paths))
    while not taken.wait(0.25):
        if proc.stopping:
            return False
        notify("WATCHDOG=1")
        watch.check()
    if not shm_path(proc.paths).exists():
        log.info("the playing audio process was stopped; stopping too")
        return False
    log.error("the playing audio process died; taking over")
    return True
