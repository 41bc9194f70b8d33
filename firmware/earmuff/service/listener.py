"""The listener (`earmuff listen`, and `earmuff run` with its audio process): everything but the noise.

It attaches to the audio process's shared memory (`shared.py`), reads the microphone and played blocks,
runs clock drift, echo cancellation, the detector and the state machine, and grants the gate its leases;
it serves the control socket and drives the button and light. The audio process plays the noise alone:
this process dying, hanging or restarting leaves it jamming, and a new listener attaches to it again.
systemd's watchdog is fed while this process's worker keeps up, so a hung listener is restarted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from earmuff import config as config_mod
from earmuff.config import Config
from earmuff.paths import Paths
from earmuff.runtime.device import Device, JamOnly, realtime_wait
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.self_check import calibrated
from earmuff.runtime.shared import AttachError, SharedAudio, hold, shm_path
from earmuff.service.commands import Commands
from earmuff.service.control import ControlServer, socket_path
from earmuff.service.room_learning import RoomLearning
from earmuff.service.sdnotify import Heartbeat, notify
from earmuff.wakeword.registry import room_bank, store

if TYPE_CHECKING:
    from earmuff.service.daemon import AudioChild
    from earmuff.service.gpio import Panel

log = logging.getLogger("earmuff")

# onnxruntime (openWakeWord imports it) sends telemetry to Microsoft from 1.29 on, unless this is set
# before it initialises; strace caught DNS look-ups of its collector.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

TICK_S = 0.25
STALE_S = 1.0  # the audio process has played nothing for this long: a fault
HUNG_S = 2.0  # the worker has not finished a block for this long while audio arrives: a fault
ATTACH_WAIT_S = 0.1


def count_start(paths: Paths) -> int:
    """Count this process start in the state directory; the number of earlier starts (0 if unknown)."""
    path = paths.state / "starts"
    try:
        before = int(path.read_text()) if path.exists() else 0
        config_mod.atomic_write(path, f"{before + 1}\n".encode())
        return before
    except (OSError, ValueError) as exc:
        log.warning("cannot count starts in %s: %s", path, exc)
        return 0


class Daemon:
    """One listener: attached device, worker supervision, control socket, button and light."""

    def __init__(
        self, cfg: Config, paths: Paths, config_note: str | None = None, faults: FaultInjector | None = None
    ) -> None:
        self.cfg, self.paths, self.faults = cfg, paths, faults
        self.config_note = config_note
        self.started = time.monotonic()
        self.previous_starts = count_start(paths)
        self.worker_restarts = 0
        self.audio_restarts = 0
        self.fault: str | None = None
        self.wake_fault: str | None = None
        self.stop = threading.Event()
        self.lock: int | None = None  # the listener lock's file descriptor, held until the process exits
        self.detector: Any = JamOnly()
        self.audio: SharedAudio | None = None  # until attached: an in-process device, which only tests drive
        self.device = self._device(cfg, self.detector)
        self.child: AudioChild | None = None
        self.panel: Panel | None = None
        self.server: ControlServer | None = None
        self.last_status = ""
        self.learning = RoomLearning(paths)
        self.commands = Commands(self)

    def _device(self, cfg: Config, detector: Any) -> Device:
        block = self.audio.ring.data.shape[1] if self.audio else cfg.audio.block
        return Device(
            cfg,
            self._event,
            detector,
            self.faults,
            max_block=block,
            room=room_bank.collector(cfg, self.paths),
            audio=self.audio,
            expected=calibrated(self.paths),
        )

    @staticmethod
    def _event(t: float, event: str, **fields: object) -> None:
        log.info("%.2f s %s %s", t, event, " ".join(f"{k}={v}" for k, v in fields.items()))

    def attach(self) -> None:
        """Map the audio process's shared memory, waiting for it; the worker starts on it."""
        told = False
        while not self.stop.is_set():
            try:
                self.audio = SharedAudio.attach(shm_path(self.paths))
                break
            except AttachError as exc:
                if self.child is not None and (code := self.child.exited()) is not None:
                    raise SystemExit(code) from None  # it printed why (a missing sound card, say)
                if not told:
                    log.info("waiting for the audio process: %s", exc)
                    told = True
                notify("WATCHDOG=1")  # waiting is not hanging
                time.sleep(ATTACH_WAIT_S)
        else:
            return
        self.device.stop_worker()  # one writer of the lease and one reader of the ring at a time
        self.device = self._device(self.cfg, self.detector)
        self.device.start_worker(realtime_wait(self.cfg))
        log.info("attached to the audio process (pid %d)", self.audio.audio_pid)

    def hold_lock(self) -> None:
        """Refuse to run beside another listener: Busy names it."""
        if self.lock is None:
            self.lock = hold(self.paths.runtime / "listener.lock", "listener")

    def start(self) -> None:
        """Attach to the audio process, then everything that may fail or take time."""
        self.hold_lock()
        self.attach()
        notify("READY=1\nSTATUS=jamming (loading the wake word)")
        threading.Thread(target=self._load_detector, name="earmuff-load", daemon=True).start()
        sock = socket_path(self.cfg, self.paths)
        try:
            self.server = ControlServer(sock, self.commands.handle, self.cfg.control.admin_group)
            self.server.start()
        except OSError as exc:
            log.error("control socket %s: %s; running without it", sock, exc)
        self._start_panel()

    def _load_detector(self) -> None:
        try:
            self.detector = self.device.detector = store.detector(self.paths, self.cfg.wake.wake_word, self.cfg.wake)
            self.device.room = room_bank.collector(self.cfg, self.paths)  # the worker starts using it with the detector
            self.wake_fault = None
            log.info("jamming; listening for %r", self.cfg.wake.wake_word)
        except Exception as exc:  # whatever it is, status and the light must say so: never a silent "jamming"
            self.wake_fault = f"no wake word: {exc}"
            log.error("%s; jamming without a wake word", exc)

    def _start_panel(self) -> None:
        if not self.cfg.gpio.enabled:
            return
        try:
            from earmuff.service.gpio import Panel

            self.panel = Panel(self.cfg.gpio, self.press, self.long_press)
        except Exception as exc:  # no GPIO (not a Pi, pins busy): the noise matters, the light does not
            log.warning("no button or light (%s: %s)", type(exc).__name__, exc)

    def press(self) -> None:
        """Button short press: the same sequence as the wake word."""
        self.device.requests.put(("wake", 0.0))

    def long_press(self) -> None:
        """Button long press: pause for the configured time, or resume when paused."""
        self.device.requests.put(("toggle_pause", self.cfg.pause.default_minutes * 60))

    def run(self) -> int:
        """Supervise until stopped."""
        beat = Heartbeat(STALE_S, time.monotonic())
        work = Heartbeat(HUNG_S, time.monotonic())
        tick = 0
        while not self.stop.wait(TICK_S):
            now, tick = time.monotonic(), tick + 1
            if self.child is not None:
                self.child.keep_running()
            if self.audio is not None and self.audio.replaced():
                self.audio_restarts += 1
                log.error("the audio process is gone or was restarted; attaching again (%d)", self.audio_restarts)
                self.attach()
            device = self.device
            beat.update(device.gate.counter, now)
            if device.worker is not None and not device.worker.is_alive():
                self.worker_restarts += 1  # the noise never stopped: the audio process kept playing it
                log.error("worker died (%r); restarting it (restart %d)", device.worker_error, self.worker_restarts)
                device.start_worker(realtime_wait(self.cfg))
            # Blocks the worker took from the shared ring, counted there: a worker that takes none while blocks wait
            # is hung; with none waiting (the audio process stopped writing) it is idle, and that is the audio's fault.
            ring = device.ring
            work.update(ring.taken if ring.pending() > 2 else -tick, now)
            if work.fresh(now):
                notify("WATCHDOG=1")
            self.fault = "worker stalled" if not work.fresh(now) else ("audio stopped" if not beat.fresh(now) else None)
            self.learning.tick(self.cfg, device, now)
            state = self.state()
            if self.panel is not None:
                self.panel.show("training" if state == "jamming" and self.learning.training else state, tick)
            status = f"STATUS={state}" + (f" ({self.problem()})" if state == "fault" else "")
            if status != self.last_status:
                self.last_status = status
                notify(status)
                if device.check.fault:
                    log.error("self-check: %s", device.check.fault)
        return 0

    def state(self) -> str:
        """jamming, window or paused as the audio process plays it; fault when something needs attention."""
        gate = self.device.gate
        if self.fault == "audio stopped" or not gate.is_open and not gate.playing:
            return "fault"  # the audio process says nothing plays: never "jamming"
        if self.problem():
            return "fault" if not gate.is_open else self.device.state()[0]
        return self.device.state()[0]

    def problem(self) -> str | None:
        """What needs the owner's attention, most urgent first; None when nothing does."""
        return self.fault or self.device.check.fault or self.wake_fault

    def shutdown(self) -> None:
        """Revoke any lease (the noise returns at once), then stop the socket, GPIO and worker."""
        notify("STOPPING=1")
        self.device.gate.revoke()
        if self.server is not None:
            self.server.stop()
        if self.panel is not None:
            self.panel.show("fault", 0)  # whatever comes next, this listener no longer answers
            self.panel.close()
        self.device.stop_worker()
        self.learning.save(self.cfg, self.device)
        log.info("listener stopped; counters %s", self.device.counters())

    def forget_room(self) -> dict[str, Any]:
        """Delete the room bank, and the windows the running device holds that would have gone into it."""
        try:
            n = self.learning.forget(self.cfg, self.device)
        except OSError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "message": f"forgot the room bank ({n} windows) and what was not yet in it"}

    def use(self, cfg: Config, detector: Any) -> None:
        """Run on `cfg` and `detector` from now on, with a new device; the room learnt so far is saved first."""
        self.device.stop_worker()  # one writer of the lease and one reader of the ring at a time
        self.learning.save(self.cfg, self.device)
        self.cfg, self.detector = cfg, detector
        self.device = self._device(cfg, detector)
        self.device.start_worker(realtime_wait(cfg))
        self.config_note, self.wake_fault = None, None
