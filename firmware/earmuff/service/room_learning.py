"""The daemon's side of learning the room: store what the collector settled, and refit the wake word when idle.

After `earmuff wakeword set` installs a quick model, the same refit trains the better one (wakeword/background.py):
it is due at once, and after a failed try in the next quiet spell.

The refit runs as a separate process at the lowest CPU priority (`earmuff wakeword refit`): it cannot take
the audio worker's interpreter lock, and a crash in it leaves the running wake word as it was. It installs
the new model atomically and asks this daemon to reload, which switches without a gap in the noise.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

from earmuff import config as config_mod
from earmuff import memory
from earmuff.config import SAMPLE_RATE, Config
from earmuff.paths import Paths
from earmuff.runtime.device import Device
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import background, room_bank, store
from earmuff.wakeword.train.phrase import folder_name

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0


def trained_model_time(paths: Paths, wake_word: str) -> float | None:
    """When the active wake word's model was trained here (epoch s); None for built-in or imported ones."""
    try:
        trained = "language" in store.info(paths, wake_word)  # imported models have no language
        return (store.root(paths) / folder_name(wake_word) / store.MODEL).stat().st_mtime if trained else None
    except (WakeWordError, OSError):
        return None


def refit_stamp(paths: Paths) -> Path:
    """The file holding when the service last started a refit (epoch s)."""
    return paths.state / "last-refit"


def last_refit(paths: Paths) -> float:
    """When the last refit started, on the monotonic clock; -inf if never (or the file is unreadable)."""
    try:
        at = float(refit_stamp(paths).read_text())
    except (OSError, ValueError):
        return float("-inf")
    return time.monotonic() - max(0.0, time.time() - at)  # a clock set back counts as "just now", not the future


class RoomLearning:
    """Called from the supervisor loop; owns the refit process."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.next_check = 0.0
        self.last_refit = last_refit(paths)  # on the monotonic clock the supervisor passes as `now`
        self.process: subprocess.Popen | None = None
        self.told_memory = False
        self.failed = False  # the last refit ended with an error: wait for a quiet spell before the next
        self.lock = threading.Lock()  # a write to the bank and `forget` never interleave

    @property
    def training(self) -> bool:
        """A refit is running."""
        return self.process is not None and self.process.poll() is None

    def tick(self, cfg: Config, device: Device, now: float) -> None:
        """Once a minute: write settled windows to the bank, then start a refit if it is due."""
        if device.room is None or now < self.next_check:
            return
        self.next_check = now + CHECK_EVERY_S
        self.save(cfg, device)
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return
            (log.info if code == 0 else log.error)("refit finished with exit code %d", code)
            self.process, self.failed = None, code != 0
        if self.due(cfg, device, now):
            self.refitting(now)
            log.info(
                "refitting %r (%s)",
                cfg.wake.wake_word,
                "the better model" if background.pending(self.paths, cfg.wake.wake_word) else "on the room bank, idle",
            )
            self.process = subprocess.Popen(
                ["nice", "-n", "19", sys.executable, "-m", "earmuff", "wakeword", "refit", "--quiet"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )

    def refitting(self, now: float) -> None:
        """A refit starts at `now` (monotonic): remembered on disk, so the once-a-day limit holds across restarts."""
        self.last_refit = now
        try:
            config_mod.atomic_write(
                refit_stamp(self.paths), f"{time.time() - (time.monotonic() - now)!r}\n".encode(), 0o640
            )
        except OSError as exc:
            log.error("cannot record the refit time in %s: %s", refit_stamp(self.paths), exc)

    def save(self, cfg: Config, device: Device) -> None:
        """Write the windows the device's collector has settled (also before a reload or a stop)."""
        with self.lock:
            if device.room is None:
                return
            try:
                device.room.write(cfg.wakeword.room_bank_max, cfg.wakeword.room_bank_max_days)
            except OSError as exc:  # a full disk loses some room windows, nothing else
                log.error("room bank %s: %s", room_bank.folder(self.paths), exc)

    def forget(self, cfg: Config, device: Device) -> int:
        """Delete the bank, the windows the device still holds for it, and a refit that read it; how many went."""
        with self.lock:
            if device.room is not None:  # a fresh collector: the worker's next step drops the old one's windows
                device.room = room_bank.collector(cfg, self.paths)
            try:
                # First: a refit past its training sees the stamp and installs nothing.
                return room_bank.forget(self.paths)
            finally:
                if self.training and self.process is not None:
                    self.process.terminate()
                    self.process.wait(10)

    def due(self, cfg: Config, device: Device, now: float) -> bool:
        """Idle for long enough, not refitted lately, and enough new room windows since the model was made."""
        w = cfg.wakeword
        quiet_s = (device.gate.counter - device.last_voice) / SAMPLE_RATE
        idle = quiet_s >= w.refit_idle_minutes * 60
        if device.state()[0] != "jamming":
            return False
        if background.pending(self.paths, cfg.wake.wake_word):
            if self.failed and not (idle and now - self.last_refit >= w.refit_idle_minutes * 60):
                return False
        else:
            if now - self.last_refit < w.refit_hours * 3600 or not idle:
                return False
            since = trained_model_time(self.paths, cfg.wake.wake_word)
            if since is None or room_bank.count(self.paths, room_bank.NEGATIVE, since) < w.refit_min_windows:
                return False
        free = memory.short_of_training(memory.REFIT_MB)
        if free is not None:  # a Zero 2 W: the kernel would kill the refit anyway
            if not self.told_memory:
                log.warning(
                    "room refit skipped: %.0f MB of memory available, it needs about %d MB", free, memory.REFIT_MB
                )
                self.told_memory = True
            return False
        self.told_memory = False  # say it again if memory runs short again later
        return True
