"""The listener's answers to control requests: one handler per command, in a table; anything else is refused."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from earmuff import config as config_mod
from earmuff.config import SAMPLE_RATE, ConfigError
from earmuff.runtime.state_machine import MAX_PAUSE_S
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import background, store

if TYPE_CHECKING:
    from earmuff.service.listener import Daemon

log = logging.getLogger("earmuff")

MAX_LISTEN_S = 10.0  # one take for `wakeword record`; one take at a time
LISTEN_BACK_S = 10.0  # a take may start this far back (the live meter follows on from its last take) ...
LISTEN_AHEAD_S = 1.0  # ... or this far ahead of the sample playing now
ENROLL_HOLD_S = 2.0  # detection stays off this long after a take: a name said at its very end must not fire

Reply = dict[str, Any]


class Commands:
    """Answers a daemon's control requests, from the control socket's threads."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.reload_lock = threading.Lock()  # one reload or forget_room at a time (requests are served at once)
        self.take_lock = threading.Lock()  # one take at a time: the device has one listen tap
        self.pause_lock = threading.Lock()
        self.pauses: deque[float] = deque()  # when the control socket granted its recent pauses (monotonic s)
        self.table: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "status": self.status,
            "pause": self.pause,
            "resume": self.resume,
            "reload": self.reload,
            "listen": self.listen,
            "forget_room": self.forget_room,
        }

    def handle(self, req: dict[str, Any]) -> Reply:
        """Answer one decoded control request; an unknown command changes nothing and says what is known."""
        command = req.get("command")
        handler = self.table.get(command) if isinstance(command, str) else None
        if handler is None:
            return {"ok": False, "error": f"command {command!r}: expected one of {list(self.table)}"}
        return handler(req)

    def pause(self, req: dict[str, Any]) -> Reply:
        """Pause the jamming for `minutes`, within the limits."""
        minutes = req.get("minutes", self.daemon.cfg.pause.default_minutes)
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_PAUSE_S / 60:
            return {
                "ok": False,
                "error": f"minutes = {minutes!r}: expected a number above 0 and at most {MAX_PAUSE_S / 60:.0f}",
            }
        if refused := self.pause_allowed():
            return {"ok": False, "error": refused}
        self.daemon.device.requests.put(("pause", float(minutes) * 60))
        return {"ok": True, "message": f"paused for {minutes:g} min; the noise returns by itself after that"}

    def resume(self, req: dict[str, Any]) -> Reply:
        """Jam again now."""
        self.daemon.device.requests.put(("resume", 0.0))
        return {"ok": True, "message": "jamming again"}

    def pause_allowed(self) -> str | None:
        """Count a pause asked over the socket; why it is refused, or None. The button is not limited."""
        limit, now = self.daemon.cfg.pause.max_per_hour, time.monotonic()
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

    def status(self, req: dict[str, Any]) -> Reply:
        """What `earmuff status` prints."""
        daemon = self.daemon
        device = daemon.device
        state, pause_left = device.state()
        counters = device.counters()
        return {
            "ok": True,
            "state": daemon.state(),
            "pause_left_s": round(pause_left),
            "wake_word": daemon.cfg.wake.wake_word,
            "noise_level_dbfs": daemon.cfg.noise.level_dbfs,
            "uptime_s": round(time.monotonic() - daemon.started, 1),
            "detections": counters["detections"],
            "late_frames": counters["xruns"] + counters["dropped_blocks"],
            "echo_reduction_db": round(device.echo.canceller.echo_reduction_db, 1),  # of its own noise, last second
            "echo_delay_ms": round(device.echo.drift.delay / SAMPLE_RATE * 1000) if device.echo.drift else None,
            "detector_errors": counters["detector_errors"],
            "last_relay": device.last_relay,  # {"seconds", "cut"}: a cut command says so here and in the log
            "restarts": daemon.previous_starts + daemon.worker_restarts + daemon.audio_restarts,
            "fault": daemon.problem(),
            "self_check": device.check.describe(),
            "config_note": daemon.config_note,
            "training": background.describe(daemon.paths, daemon.cfg.wake.wake_word),
        }

    def listen(self, req: dict[str, Any]) -> Reply:
        """A take of what the detector hears from now or from sample `since`; meanwhile nothing is detected or banked."""
        from earmuff.service.recorder import GRACE_S, Take, encode_take

        seconds, since = req.get("seconds"), req.get("since")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_LISTEN_S:
            return {
                "ok": False,
                "error": f"seconds = {seconds!r}: expected a number above 0 and at most {MAX_LISTEN_S}",
            }
        device = self.daemon.device
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
            return {"ok": False, "error": f"no audio from the microphone for {GRACE_S:g} s"}
        return {"ok": True, "audio": encode_take(audio), "end": take.since + len(audio)}

    def forget_room(self, req: dict[str, Any]) -> Reply:
        """Delete the room bank and what the device holds for it."""
        with self.reload_lock:
            return self.daemon.forget_room()

    def reload(self, req: dict[str, Any]) -> Reply:
        """Re-read the config; a bad one keeps the running one. The audio process keeps jamming throughout."""
        daemon = self.daemon
        with self.reload_lock:
            path = daemon.paths.config
            try:
                cfg = config_mod.load(path)
                detector = store.detector(daemon.paths, cfg.wake.wake_word, cfg.wake)
            except (ConfigError, WakeWordError, OSError) as exc:
                log.error("reload: %s; kept the running config", exc)
                return {"ok": False, "error": f"{exc}; kept the running config"}
            note = ""
            played = ("audio", "noise") if daemon.audio else ()
            changed = [name for name in played if getattr(cfg, name) != getattr(daemon.cfg, name)]
            if changed or cfg.window.trigger != daemon.cfg.window.trigger and daemon.audio:
                note = (
                    "; the noise and sound-device settings take effect when the audio process restarts "
                    "(systemctl restart earmuff, a gap of a fraction of a second)"
                )
            if path.exists():
                config_mod.atomic_write(daemon.paths.last_good, path.read_bytes())
            daemon.use(cfg, detector)
            log.info("reloaded %s; listening for %r%s", path, cfg.wake.wake_word, note)
            return {"ok": True, "message": f"reloaded {path}{note}"}
