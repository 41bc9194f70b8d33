"""`earmuff run`: the device as a service: systemd notify and watchdog on the audio heartbeat, control socket, GPIO.

The watchdog is fed only while the audio callback's sample counter keeps moving, so systemd restarts a
process whose audio has stopped. The noise never depends on this thread: the callback plays it alone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

from . import config as config_mod
from .config import SAMPLE_RATE, Config, ConfigError
from .control import ControlServer, socket_path
from .detector import Detector, WakeWordError
from .device import Device, JamOnly, sleep_wait
from .faults import FaultInjector
from .room_learning import RoomLearning
from .state_machine import MAX_PAUSE_S
from .wakeword import background, room_bank

log = logging.getLogger("earmuff")

# onnxruntime (openWakeWord imports it) sends telemetry to Microsoft from 1.29 on, unless this is set
# before it initialises; strace caught DNS look-ups of its collector.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

TICK_S = 0.25
STALE_S = 1.0  # no audio callback for this long: stop feeding the watchdog
EXIT_STALE_S = 3.0  # ... and for this long: exit, so Restart= starts a fresh process
HUNG_S = 2.0  # the worker has not finished a block for this long while audio arrives: a fault
MAX_LISTEN_S = 10.0  # one take for `wakeword record`; the control socket answers nothing else meanwhile
ENROLL_HOLD_S = 2.0  # detection stays off this long after a take: a name said at its very end must not fire


def notify(message: str) -> bool:
    """Send one sd_notify message to $NOTIFY_SOCKET with a plain datagram; False when there is none."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(message.encode(), address)
        return True
    except OSError as exc:
        log.warning("cannot notify systemd on %s: %s", path, exc)
        return False


class Heartbeat:
    """Whether a counter has moved within the last `stale_s` seconds."""

    def __init__(self, stale_s: float, now: float) -> None:
        self.stale_s = stale_s
        self.value: int | None = None
        self.moved_at = now

    def update(self, value: int, now: float) -> float:
        """Record the counter; return the seconds since it last moved."""
        if value != self.value:
            self.value, self.moved_at = value, now
        return now - self.moved_at

    def fresh(self, now: float) -> bool:
        """True while the counter moved recently."""
        return now - self.moved_at < self.stale_s


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
    """One running earmuff: device, audio stream, worker supervision, control socket, button and light."""

    def __init__(self, cfg: Config, config_note: str | None = None, faults: FaultInjector | None = None) -> None:
        self.cfg = cfg
        self.faults = faults
        self.config_note = config_note
        self.started = time.monotonic()
        self.previous_starts = count_start()
        self.worker_restarts = 0
        self.stream_restarts = 0
        self.fault: str | None = None
        self.wake_fault: str | None = None
        self.stop = threading.Event()
        self.reload_lock = threading.Lock()
        self.device = self._device(cfg, JamOnly())
        self.stream = None
        self.panel = None
        self.server: ControlServer | None = None
        self.last_status = ""
        self.learning = RoomLearning()

    def _device(self, cfg: Config, detector: Any) -> Device:
        return Device(cfg, self._event, self.faults, max_block=cfg.audio.block, detector=detector,
                      room=room_bank.collector(cfg))

    @staticmethod
    def _event(t: float, name: str, **fields: object) -> None:
        log.info("%.2f s %s %s", t, name, " ".join(f"{k}={v}" for k, v in fields.items()))

    def _callback(self, mic, out, late: bool) -> None:
        self.device.callback(mic, out, late)  # one attribute read: reload swaps the device under it

    def start(self) -> None:
        """Start the noise first, then everything that may fail or take time."""
        from .audio_backend import choose, start_stream

        wait = sleep_wait(self.cfg.audio.block / SAMPLE_RATE / 4)
        self.device.start_worker(wait)
        self.choice = choose(self.cfg.audio)
        self.stream = start_stream(self.cfg.audio, self.choice, self._callback)
        deadline = time.monotonic() + 5.0
        while self.device.gate.counter == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        notify("READY=1\nSTATUS=jamming (loading the wake word)")
        threading.Thread(target=self._load_detector, name="earmuff-load", daemon=True).start()
        try:
            self.server = ControlServer(socket_path(self.cfg), self.handle)
            self.server.start()
        except OSError as exc:
            log.error("control socket %s: %s; running without it", socket_path(self.cfg), exc)
        self._start_panel()

    def _load_detector(self) -> None:
        try:
            self.device.detector = Detector(self.cfg.wake.wake_word, self.cfg.wake)
            self.device.room = room_bank.collector(self.cfg)  # the worker starts using it with the detector
            self.wake_fault = None
            log.info("jamming; listening for %r", self.cfg.wake.wake_word)
        except WakeWordError as exc:
            self.wake_fault = f"no wake word: {exc}"
            log.error("%s; jamming without a wake word", exc)

    def _start_panel(self) -> None:
        if not self.cfg.gpio.enabled:
            return
        try:
            from .gpio import Panel

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
        """Supervise until stopped; the exit code (3: audio stopped, so systemd restarts the service)."""
        beat = Heartbeat(STALE_S, time.monotonic())
        work = Heartbeat(HUNG_S, time.monotonic())
        tick = 0
        while not self.stop.wait(TICK_S):
            now, tick = time.monotonic(), tick + 1
            device = self.device
            silent_for = beat.update(device.gate.counter, now)
            if silent_for >= EXIT_STALE_S:
                log.error("the audio callback stopped %.1f s ago; exiting so that systemd restarts earmuff", silent_for)
                notify("STATUS=fault: audio stopped")
                return 3
            if beat.fresh(now):
                notify("WATCHDOG=1")
            if self.stream is not None and not self.stream.active:
                self._reopen_stream()
            if device.worker is not None and not device.worker.is_alive():
                self.worker_restarts += 1  # the noise never stopped: the callback kept playing it
                log.error("worker died (%r); restarting it (restart %d)", device.worker_error, self.worker_restarts)
                device.start_worker(sleep_wait(self.cfg.audio.block / SAMPLE_RATE / 4))
            backlog = device.ring.written - device.processed
            work.update(device.processed if backlog > 2 else -tick, now)  # idle with nothing to do is not hung
            self.fault = "worker stalled" if not work.fresh(now) else ("audio stopped" if not beat.fresh(now) else None)
            self.learning.tick(self.cfg, device, now)
            state = self.state()
            if self.panel is not None:
                self.panel.show("training" if state == "jamming" and self.learning.training else state, tick)
            status = f"STATUS={state}" + (f" ({self.fault or self.wake_fault})" if state == "fault" else "")
            if status != self.last_status:
                self.last_status = status
                notify(status)
        return 0

    def _reopen_stream(self) -> None:
        """PortAudio ended the stream (an error after an underrun, a lost device): open it again at once."""
        from .audio_backend import AudioDeviceError, start_stream

        self.stream_restarts += 1
        log.error("the audio stream stopped; reopening it (reopen %d)", self.stream_restarts)
        try:
            self.stream.close(ignore_errors=True)
        except Exception as exc:  # closing a broken stream may fail; a new one is what matters
            log.error("closing the stopped stream: %s", exc)
        try:
            self.stream = start_stream(self.cfg.audio, self.choice, self._callback)
        except AudioDeviceError as exc:
            log.error("%s; trying again", exc)  # the heartbeat stays stale: run() exits after EXIT_STALE_S

    def state(self) -> str:
        """jamming, window, paused or fault."""
        if self.fault or self.wake_fault:
            return "fault" if not self.device.gate.is_open else self.device.state()[0]
        return self.device.state()[0]

    def shutdown(self) -> None:
        """Stop the socket, GPIO and worker first and the stream last: the noise plays until the very end."""
        notify("STOPPING=1")
        if self.server is not None:
            self.server.stop()
        if self.panel is not None:
            self.panel.close()
        self.device.stopping.set()
        self.learning.save(self.cfg, self.device)
        if self.stream is not None:
            self.stream.close()
        log.info("stopped; counters %s", self.device.counters())

    # --- control requests, from the control thread -----------------------------------------------

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """Answer one decoded control request."""
        command = req["command"]
        if command == "status":
            return {"ok": True, **self.status()}
        if command == "pause":
            minutes = req.get("minutes", self.cfg.pause.default_minutes)
            if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_PAUSE_S / 60:
                return {"ok": False, "error": f"minutes = {minutes!r}: expected a number above 0 and at most {MAX_PAUSE_S / 60:.0f}"}
            self.device.requests.put(("pause", float(minutes) * 60))
            return {"ok": True, "message": f"paused for {minutes:g} min; the noise returns by itself after that"}
        if command == "resume":
            self.device.requests.put(("resume", 0.0))
            return {"ok": True, "message": "jamming again"}
        if command == "listen":
            return self.listen(req.get("seconds"), req.get("since"))
        if command == "forget_room":
            return self.forget_room()
        return self.reload()

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
            "restarts": self.previous_starts + self.worker_restarts + self.stream_restarts,
            "fault": self.fault or self.wake_fault,
            "config_note": self.config_note,
            "training": background.describe(self.cfg.wake.wake_word),
        }

    def listen(self, seconds: Any, since: Any = None) -> dict[str, Any]:
        """A take of what the detector hears from now or from sample `since`; meanwhile nothing is detected or banked."""
        from .wakeword.recorder import GRACE_S, Take, encode_take

        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_LISTEN_S:
            return {"ok": False, "error": f"seconds = {seconds!r}: expected a number above 0 and at most {MAX_LISTEN_S}"}
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
            return {"ok": False, "error": f"since = {since!r}: expected a sample number, 0 or more"}
        take, device = Take(seconds, since), self.device
        # A lease in samples, not a flag: it covers the take's last frames whenever the worker gets to them,
        # bridges the gaps between the live meter's takes, and ends by itself.
        until = device.gate.counter + len(take.audio) + int(ENROLL_HOLD_S * SAMPLE_RATE)
        device.enroll_until = max(device.enroll_until, until)
        audio = take.record(device)
        if audio is None:
            return {"ok": False, "error": f"no audio from the microphone for {seconds + GRACE_S:g} s"}
        return {"ok": True, "audio": encode_take(audio), "end": take.since + len(audio)}

    def forget_room(self) -> dict[str, Any]:
        """Delete the room bank, and the windows the running device holds that would have gone into it."""
        n = self.learning.forget(self.cfg, self.device)
        return {"ok": True, "message": f"forgot the room bank ({n} windows) and what was not yet in it"}

    def reload(self) -> dict[str, Any]:
        """Re-read the config; a bad one keeps the running one. The new device takes over without a gap."""
        with self.reload_lock:
            path = config_mod.config_path()
            try:
                cfg = config_mod.load(path)
                detector = Detector(cfg.wake.wake_word, cfg.wake)
            except (ConfigError, WakeWordError) as exc:
                log.error("reload: %s; kept the running config", exc)
                return {"ok": False, "error": f"{exc}; kept the running config"}
            note = ""
            if cfg.audio != self.cfg.audio:
                cfg = dataclasses.replace(cfg, audio=self.cfg.audio)
                note = "; audio settings take effect after a restart (systemctl restart earmuff)"
            if path.exists():
                config_mod.atomic_write(config_mod.last_good_path(), path.read_bytes())
            new = self._device(cfg, detector)
            new.start_worker(sleep_wait(cfg.audio.block / SAMPLE_RATE / 4))
            old, self.device = self.device, new  # the next callback renders the new device's noise
            old.stop_worker()
            self.learning.save(self.cfg, old)
            self.cfg, self.config_note, self.wake_fault = cfg, None, None
            log.info("reloaded %s; listening for %r%s", path, cfg.wake.wake_word, note)
            return {"ok": True, "message": f"reloaded {path}{note}"}


def run(input_device: str | None = None, output_device: str | None = None, faults: FaultInjector | None = None) -> int:
    """The body of `earmuff run`: start, supervise until SIGTERM or SIGINT, shut down."""
    cfg, note = config_mod.load_or_last_good()
    if note:
        log.error("config: %s", note)
    audio = dataclasses.replace(
        cfg.audio,
        input=input_device if input_device is not None else cfg.audio.input,
        output=output_device if output_device is not None else cfg.audio.output,
    )
    daemon = Daemon(dataclasses.replace(cfg, audio=audio), note, faults)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: daemon.stop.set())
    try:
        daemon.start()
        code = daemon.run()
    except BaseException:
        daemon.shutdown()
        raise
    if code == 0:
        daemon.shutdown()
    # else the audio stack is stuck and closing the stream could hang too.
    # Exit now, without the interpreter's slow teardown: a restart must not wait for it.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
