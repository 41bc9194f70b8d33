"""Start the real daemon (`earmuff run`) as a subprocess on the PulseAudio null sink, and talk to it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from earmuff.service.control import ControlError, request

FAULT_RUNNER = (
    "import json, logging, sys\n"
    "from earmuff.paths import Paths\n"
    "from earmuff.service.daemon import run\n"
    "from earmuff.runtime.faults import Fault, FaultInjector\n"
    "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
    "sys.exit(run(Paths.from_env(), faults=FaultInjector(tuple(Fault(**f) for f in json.loads(sys.argv[1])))))\n"
)


def start(
    env: dict, home: Path, faults: list[dict] | None = None, log: Path | None = None, command: str = "run"
) -> subprocess.Popen:
    """Start `earmuff run` (or `audio`, `listen`, or run with injected faults) with its stderr in `log`."""
    env = dict(env, EARMUFF_HOME=str(home))
    cmd = (
        [sys.executable, "-m", "earmuff", *command.split()]
        if faults is None
        else [sys.executable, "-c", FAULT_RUNNER, json.dumps(faults)]
    )
    err = open(log or home / "daemon.log", "w")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)


def wait_ready(home: Path, timeout: float = 180.0) -> dict:  # a loaded machine took 51 s to load the detector
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
    """Stands in for systemd's Restart=always: starts `earmuff COMMAND` again whenever it exits.
    Its n-th start logs to NAME{n}.log (the listener's to daemon{n}.log, which wait_ready reads)."""

    def __init__(
        self, env: dict, home: Path, restart_s: float = 0.2, command: str = "run", name: str = "daemon"
    ) -> None:
        import threading

        self.env, self.home, self.restart_s, self.command, self.name = env, home, restart_s, command, name
        self.starts = 0
        self.exits: list[int] = []
        self.proc = self._start()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _start(self) -> subprocess.Popen:
        self.starts += 1
        return start(self.env, self.home, log=self.home / f"{self.name}{self.starts}.log", command=self.command)

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
        return (self.home / f"{self.name}{n}.log").read_text()

    def logs(self) -> str:
        """The stderr of every start so far."""
        return "".join(self.log(n) for n in range(1, self.starts + 1))

    def stop(self) -> None:
        """Stop supervising and stop the daemon."""
        self.stopping.set()
        self.thread.join(5)
        stop(self.proc)


def xruns(log: str) -> int:
    """Blocks the audio backend reported late or lost, from the daemon's last counters line."""
    found = re.findall(r"'xruns': (\d+)", log)
    return max(int(n) for n in found) if found else 0


def without_underruns(spans: list[tuple[float, float]], log: str) -> list[tuple[float, float]]:
    """Drop short quiet spans (<= 0.1 s), at most one per underrun the backend reported: an overloaded
    machine, not the firmware, silenced those. What is left is silence the firmware let happen."""
    allowed = xruns(log)
    kept = []
    for a, b in spans:
        if allowed and b - a <= 0.1 + 1e-9:  # 5 blocks of 20 ms, whatever the float rounding
            allowed -= 1
        else:
            kept.append((a, b))
    return kept
