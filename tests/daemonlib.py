"""Start the real daemon (`earmuff run`) as a subprocess on the PulseAudio null sink, and talk to it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from earmuff.control import ControlError, request

FAULT_RUNNER = (
    "import json, logging, sys\n"
    "from earmuff.daemon import run\n"
    "from earmuff.faults import Fault, FaultInjector\n"
    "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
    "sys.exit(run(faults=FaultInjector(tuple(Fault(**f) for f in json.loads(sys.argv[1])))))\n"
)


def start(env: dict, home: Path, faults: list[dict] | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start `earmuff run` (or the same daemon with injected faults) with its stderr in `log`."""
    env = dict(env, EARMUFF_HOME=str(home))
    cmd = [sys.executable, "-m", "earmuff", "run"] if faults is None else [sys.executable, "-c", FAULT_RUNNER, json.dumps(faults)]
    err = open(log or home / "daemon.log", "w")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)


def wait_ready(home: Path, timeout: float = 30.0) -> dict:
    """Wait until the daemon answers status with its wake word loaded; its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = request(home / "control.sock", "status", timeout=5)
            logs = sorted(home.glob("daemon*.log"), key=lambda f: f.stat().st_mtime)
            if "listening for" in logs[-1].read_text():
                return status
        except ControlError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"daemon not ready after {timeout} s; log:\n{(home / 'daemon.log').read_text()}")


def stop(proc: subprocess.Popen) -> int:
    """SIGTERM and wait; the exit code."""
    if proc.poll() is None:
        proc.terminate()
    return proc.wait(15)


class Supervisor:
    """Stands in for systemd's Restart=always: starts the daemon again whenever it exits."""

    def __init__(self, env: dict, home: Path, restart_s: float = 0.2) -> None:
        import threading

        self.env, self.home, self.restart_s = env, home, restart_s
        self.starts = 0
        self.exits: list[int] = []
        self.proc = self._start()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _start(self) -> subprocess.Popen:
        self.starts += 1
        return start(self.env, self.home, log=self.home / f"daemon{self.starts}.log")

    def _watch(self) -> None:
        while not self.stopping.is_set():
            code = self.proc.poll()
            if code is not None:
                self.exits.append(code)
                time.sleep(self.restart_s)  # RestartSec=200ms
                if not self.stopping.is_set():
                    self.proc = self._start()
            time.sleep(0.02)

    def log(self, n: int) -> str:
        """The stderr of the n-th start (1-based)."""
        return (self.home / f"daemon{n}.log").read_text()

    def stop(self) -> None:
        """Stop supervising and stop the daemon."""
        self.stopping.set()
        self.thread.join(5)
        stop(self.proc)


def xruns(log: str) -> int:
    """Blocks the audio backend reported late or lost, from the daemon's last counters line."""
    found = re.findall(r"'xruns': (\d+)", log)
    return int(found[-1]) if found else 0


def without_underruns(spans: list[tuple[float, float]], log: str) -> list[tuple[float, float]]:
    """Drop short quiet spans (<= 0.1 s), at most one per underrun the backend reported: an overloaded
    machine, not the firmware, silenced those. What is left is silence the firmware let happen."""
    allowed = xruns(log)
    kept = []
    for a, b in spans:
        if allowed and b - a <= 0.1:
            allowed -= 1
        else:
            kept.append((a, b))
    return kept
