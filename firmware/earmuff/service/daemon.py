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
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from earmuff import config as config_mod
from earmuff.config import SAMPLE_RATE, Config, ConfigError
from earmuff.runtime.detector import Detector, WakeWordError
from earmuff.runtime.device import Device, JamOnly, realtime_wait
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.self_check import calibrated
from earmuff.runtime.shared import AttachError, SharedAudio, held, hold
from earmuff.runtime.state_machine import MAX_PAUSE_S
from earmuff.service.audio_process import lock_path as audio_lock_path
from earmuff.service.control import ControlServer, socket_path
from earmuff.service.room_learning import RoomLearning
from earmuff.service.sdnotify import Heartbeat, notify
from earmuff.wakeword.registry import background, room_bank

if TYPE_CHECKING:
    from earmuff.service.gpio import Panel

log = logging.getLogger("earmuff")

# onnxruntime (openWakeWord imports it) sends telemetry to Microsoft from 1.29 on, unless this is set
# before it initialises; strace caught DNS look-ups of its collector.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

TICK_S = 0.25
STALE_S = 1.0  # the audio process has played nothing for this long: a fault
HUNG_S = 2.0  # the worker has not finished a block for this long while audio arrives: a fault
MAX_LISTEN_S = 10.0  # one take for `wakeword record`; one take at a time
LISTEN_BACK_S = 10.0  # a take may start this far back (the live meter follows on from its last take) ...
LISTEN_AHEAD_S = 1.0  # ... or this far ahead of the sample playing now
ENROLL_HOLD_S = 2.0  # detection stays off this long after a take: a name said at its very end must not fire
ATTACH_WAIT_S = 0.1
NICE = 5  # the listener yields the CPU to the audio process (and to the sound server): a late listener costs
# a late window, a late audio process a gap in the noise


def listener_lock_path():
    """The lock that refuses a second listener."""
    return config_mod.runtime_dir() / "listener.lock"


def count_start() -> int:
    """Count this process start in the state directory; the number of earlier starts (0 if unknown)."""
    path = config_mod.state_dir() / "starts"
    try:
        before = int(path.read_text()) if path.exists() else 0
        config_mod.atomic_write(path, f"{before + 1}\n".encode())
        return before
    except (OSError, ValueError) as exc:
        log.warning("cannot count starts in %s: %s", path, exc)
        return 0


class Daemon:
    """One listener: attached device, worker supervision, control socket, button and light."""

    def __init__(self, cfg: Config, config_note: str | None = None, faults: FaultInjector | None = None) -> None:
        self.cfg = cfg
        self.faults = faults
        self.config_note = config_note
        self.started = time.monotonic()
        self.previous_starts = count_start()
        self.worker_restarts = 0
        self.audio_restarts = 0
        self.fault: str | None = None
        self.wake_fault: str | None = None
        self.stop = threading.Event()
        self.reload_lock = threading.Lock()  # one reload or forget_room at a time (requests are served at once)
        self.take_lock = threading.Lock()  # one take at a time: the device has one listen tap
        self.pause_lock = threading.Lock()
        self.pauses: deque[float] = deque()  # when the control socket granted its recent pauses (monotonic s)
        self.lock: int | None = None  # the listener lock's file descriptor, held until the process exits
        self.detector: Any = JamOnly()
        self.audio: SharedAudio | None = None  # until attached: an in-process device, which only tests drive
        self.device = self._device(cfg, self.detector)
        self.child: AudioChild | None = None
        self.panel: Panel | None = None
        self.server: ControlServer | None = None
        self.last_status = ""
        self.learning = RoomLearning()

    def _device(self, cfg: Config, detector: Any) -> Device:
        block = self.audio.ring.data.shape[1] if self.audio else cfg.audio.block
        return Device(
            cfg,
            self._event,
            self.faults,
            max_block=block,
            detector=detector,
            room=room_bank.collector(cfg),
            audio=self.audio,
            expected=calibrated(),
        )

    @staticmethod
    def _event(t: float, event: str, **fields: object) -> None:
        log.info("%.2f s %s %s", t, event, " ".join(f"{k}={v}" for k, v in fields.items()))

    def attach(self) -> None:
        """Map the audio process's shared memory, waiting for it; the worker starts on it."""
        told = False
        while not self.stop.is_set():
            try:
                self.audio = SharedAudio.attach()
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
            self.lock = hold(listener_lock_path(), "listener")

    def start(self) -> None:
        """Attach to the audio process, then everything that may fail or take time."""
        self.hold_lock()
        self.attach()
        notify("READY=1\nSTATUS=jamming (loading the wake word)")
        threading.Thread(target=self._load_detector, name="earmuff-load", daemon=True).start()
        try:
            self.server = ControlServer(socket_path(self.cfg), self.handle, self.cfg.control.admin_group)
            self.server.start()
        except OSError as exc:
            log.error("control socket %s: %s; running without it", socket_path(self.cfg), exc)
        self._start_panel()

    def _load_detector(self) -> None:
        try:
            self.detector = self.device.detector = Detector(self.cfg.wake.wake_word, self.cfg.wake)
            self.device.room = room_bank.collector(self.cfg)  # the worker starts using it with the detector
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
            backlog = device.ring.written - device.processed
            work.update(device.processed if backlog > 2 else -tick, now)  # idle with nothing to do is not hung
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

    # --- control requests, from the control thread -----------------------------------------------

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """Answer one decoded control request."""
        command = req["command"]
        if command == "status":
            return {"ok": True, **self.status()}
        if command == "pause":
            minutes = req.get("minutes", self.cfg.pause.default_minutes)
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, (int, float))
                or not 0 < minutes <= MAX_PAUSE_S / 60
            ):
                return {
                    "ok": False,
                    "error": f"minutes = {minutes!r}: expected a number above 0 and at most {MAX_PAUSE_S / 60:.0f}",
                }
            if refused := self.pause_allowed():
                return {"ok": False, "error": refused}
            self.device.requests.put(("pause", float(minutes) * 60))
            return {"ok": True, "message": f"paused for {minutes:g} min; the noise returns by itself after that"}
        if command == "resume":
            self.device.requests.put(("resume", 0.0))
            return {"ok": True, "message": "jamming again"}
        if command == "listen":
            return self.listen(req.get("seconds"), req.get("since"))
        if command == "forget_room":
            with self.reload_lock:
                return self.forget_room()
        return self.reload()

    def pause_allowed(self) -> str | None:
        """Count a pause asked over the socket; why it is refused, or None. The button is not limited."""
        limit, now = self.cfg.pause.max_per_hour, time.monotonic()
        with self.pause_lock:
            while self.pauses and self.pauses[0] <= now - 3600:
                self.pauses.popleft()
            if len(self.pauses) >= limit:
                wait = self.pauses[0] + 3600 - now
                return (
                    f"pause refused: {limit} pauses in the last hour is the limit ([pause] max_per_hour); "
                    f"the noise stays on; the next pause is possible in {wait / 60:.0f} min"
                )
            self.pauses.append(now)
        return None

    def status(self) -> dict[str, Any]:
        """What `earmuff status` prints."""
        device = self.device
        state, pause_left = device.state()
        counters = device.counters()
        return {
            "state": self.state(),
            "pause_left_s": round(pause_left),
            "wake_word": self.cfg.wake.wake_word,
            "noise_level_dbfs": self.cfg.noise.level_dbfs,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "detections": counters["detections"],
            "late_frames": counters["xruns"] + counters["dropped_blocks"],
            "detector_errors": counters["detector_errors"],
            "last_relay": device.last_relay,  # {"seconds", "cut"}: a cut command says so here and in the log
            "restarts": self.previous_starts + self.worker_restarts + self.audio_restarts,
            "fault": self.problem(),
            "self_check": device.check.describe(),
            "config_note": self.config_note,
            "training": background.describe(self.cfg.wake.wake_word),
        }

    def listen(self, seconds: Any, since: Any = None) -> dict[str, Any]:
        """A take of what the detector hears from now or from sample `since`; meanwhile nothing is detected or banked."""
        from earmuff.service.recorder import GRACE_S, Take, encode_take

        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_LISTEN_S:
            return {
                "ok": False,
                "error": f"seconds = {seconds!r}: expected a number above 0 and at most {MAX_LISTEN_S}",
            }
        device = self.device
        now = device.gate.counter
        lo, hi = max(0, now - int(LISTEN_BACK_S * SAMPLE_RATE)), now + int(LISTEN_AHEAD_S * SAMPLE_RATE)
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or not lo <= since <= hi):
            return {
                "ok": False,
                "error": f"since = {since!r}: expected a sample number from {lo} to {hi} "
                f"(at most {LISTEN_BACK_S:g} s back or {LISTEN_AHEAD_S:g} s ahead of sample {now})",
            }
        if not self.take_lock.acquire(blocking=False):
            return {"ok": False, "error": "listen: another take is being recorded; expected one at a time, try again"}
        try:
            take = Take(seconds, since)
            # A lease in samples, not a flag: it covers the take's last frames whenever the worker gets to them,
            # bridges the gaps between the live meter's takes, and ends by itself.
            until = device.gate.counter + len(take.audio) + int(ENROLL_HOLD_S * SAMPLE_RATE)
            device.enroll_until = max(device.enroll_until, until)
            audio = take.record(device)
        finally:
            self.take_lock.release()
        if audio is None:
            return {"ok": False, "error": f"no audio from the microphone for {seconds + GRACE_S:g} s"}
        return {"ok": True, "audio": encode_take(audio), "end": take.since + len(audio)}

    def forget_room(self) -> dict[str, Any]:
        """Delete the room bank, and the windows the running device holds that would have gone into it."""
        try:
            n = self.learning.forget(self.cfg, self.device)
        except OSError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "message": f"forgot the room bank ({n} windows) and what was not yet in it"}

    def reload(self) -> dict[str, Any]:
        """Re-read the config; a bad one keeps the running one. The audio process keeps jamming throughout."""
        with self.reload_lock:
            path = config_mod.config_path()
            try:
                cfg = config_mod.load(path)
                detector = Detector(cfg.wake.wake_word, cfg.wake)
            except (ConfigError, WakeWordError, OSError) as exc:
                log.error("reload: %s; kept the running config", exc)
                return {"ok": False, "error": f"{exc}; kept the running config"}
            note = ""
            played = ("audio", "noise") if self.audio else ()
            changed = [name for name in played if getattr(cfg, name) != getattr(self.cfg, name)]
            if changed or cfg.window.trigger != self.cfg.window.trigger and self.audio:
                note = (
                    "; the noise and sound-device settings take effect when the audio process restarts "
                    "(systemctl restart earmuff, a gap of a fraction of a second)"
                )
            if path.exists():
                config_mod.atomic_write(config_mod.last_good_path(), path.read_bytes())
            self.device.stop_worker()  # one writer of the lease and one reader of the ring at a time
            self.learning.save(self.cfg, self.device)
            self.cfg, self.detector = cfg, detector
            self.device = self._device(cfg, detector)
            self.device.start_worker(realtime_wait(cfg))
            self.config_note, self.wake_fault = None, None
            log.info("reloaded %s; listening for %r%s", path, cfg.wake.wake_word, note)
            return {"ok": True, "message": f"reloaded {path}{note}"}


class AudioChild:
    """`earmuff run`'s audio processes, a playing one and a standby (or a standby beside one found running),
    each started again if it exits: what systemd does for earmuff.service and earmuff-standby.service."""

    def __init__(self, input_device: str | None, output_device: str | None) -> None:
        self.args = [sys.executable, "-m", "earmuff", "audio", "--standby"]
        self.args += ["--input", input_device] if input_device is not None else []
        self.args += ["--output", output_device] if output_device is not None else []
        self.adopted = held(audio_lock_path())
        if self.adopted:
            log.info("an audio process is already running; this listener attaches to it")
        self.procs = [self._start() for _ in range(1 if self.adopted else 2)]

    def _start(self) -> subprocess.Popen:
        """Start one; it reports to this process's stderr, and to no systemd of its own."""
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        return subprocess.Popen(self.args, env=env, stdin=subprocess.DEVNULL)

    def exited(self) -> int | None:
        """The exit code of one of ours that failed (a missing sound card, say), else None."""
        codes = [p.poll() for p in self.procs]
        return next((c for c in codes if c), None)

    def keep_running(self) -> None:
        """Start again any that exited."""
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                log.error("audio process %d exited with code %d; starting it again", proc.pid, proc.returncode)
                self.procs[i] = self._start()

    def stop(self, audio: SharedAudio | None) -> None:
        """The owner asked to stop: the standbys first, then the playing one, ours or the one found running."""
        playing = audio.audio_pid if audio is not None else None
        ours = sorted(self.procs, key=lambda p: p.pid == playing)
        pids = [p.pid for p in ours] + ([playing] if self.adopted and playing else [])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if pid != playing:
                next(p for p in ours if p.pid == pid).wait(10)
        for proc in ours:
            proc.wait(10)
        deadline = time.monotonic() + 10
        while held(audio_lock_path()) and time.monotonic() < deadline:
            time.sleep(0.05)


def _serve(daemon: Daemon) -> int:
    """Start, supervise until SIGTERM or SIGINT, shut down."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: daemon.stop.set())
    try:
        daemon.start()
        code = daemon.run()
    finally:
        daemon.shutdown()
    return code


def _daemon(faults: FaultInjector | None) -> Daemon:
    cfg, note = config_mod.load_or_last_good()
    if note:
        log.error("config: %s", note)
    return Daemon(cfg, note, faults)


def listen(faults: FaultInjector | None = None) -> int:
    """The body of `earmuff listen` (earmuff-listener.service): a stop leaves the noise on."""
    os.nice(NICE)
    code = _serve(_daemon(faults))
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)  # without the interpreter's slow teardown: a restart must not wait for it


def run(input_device: str | None = None, output_device: str | None = None, faults: FaultInjector | None = None) -> int:
    """The body of `earmuff run`: audio process and listener in the foreground; a stop stops both."""
    daemon = _daemon(faults)
    daemon.hold_lock()  # before starting an audio process: a refused run starts nothing
    daemon.child = AudioChild(input_device, output_device)
    os.nice(NICE)  # after starting the audio process, which keeps the priority it was started with
    try:
        code = _serve(daemon)
    finally:
        daemon.child.stop(daemon.audio)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
