"""`earmuff listen` and `earmuff run`: the listener's process (`listener.py`), and `earmuff run`'s audio processes.

A stop leaves the noise on under systemd (the audio process is its own service); `earmuff run` in the foreground
starts the audio processes itself, keeps them running and stops them with the listener.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

from earmuff import config as config_mod
from earmuff.paths import Paths
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.shared import SharedAudio, held
from earmuff.service.listener import Daemon
from earmuff.service.standby import lock_path as audio_lock_path

log = logging.getLogger("earmuff")

NICE = 5  # the listener yields the CPU to the audio process (and to the sound server): a late listener costs
# a late window, a late audio process a gap in the noise


class AudioChild:
    """`earmuff run`'s audio processes, a playing one and a standby (or a standby beside one found running),
    each started again if it exits: what systemd does for earmuff.service and earmuff-standby.service."""

    def __init__(self, paths: Paths, input_device: str | None, output_device: str | None) -> None:
        self.lock = audio_lock_path(paths)
        self.args = [sys.executable, "-m", "earmuff", "audio", "--standby"]
        self.args += ["--input", input_device] if input_device is not None else []
        self.args += ["--output", output_device] if output_device is not None else []
        self.adopted = held(self.lock)
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
        while held(self.lock) and time.monotonic() < deadline:
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


def _daemon(paths: Paths, faults: FaultInjector | None) -> Daemon:
    cfg, note = config_mod.load_or_last_good(paths)
    if note:
        log.error("config: %s", note)
    return Daemon(cfg, paths, note, faults)


def listen(paths: Paths, faults: FaultInjector | None = None) -> int:
    """The body of `earmuff listen` (earmuff-listener.service): a stop leaves the noise on."""
    os.nice(NICE)
    code = _serve(_daemon(paths, faults))
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)  # without the interpreter's slow teardown: a restart must not wait for it


def run(
    paths: Paths,
    input_device: str | None = None,
    output_device: str | None = None,
    faults: FaultInjector | None = None,
) -> int:
    """The body of `earmuff run`: audio process and listener in the foreground; a stop stops both."""
    daemon = _daemon(paths, faults)
    daemon.hold_lock()  # before starting an audio process: a refused run starts nothing
    daemon.child = AudioChild(daemon.paths, input_device, output_device)
    os.nice(NICE)  # after starting the audio process, which keeps the priority it was started with
    try:
        code = _serve(daemon)
    finally:
        daemon.child.stop(daemon.audio)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
