"""A private PulseAudio daemon with a real-time null sink, for the tests and the process benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def start(run: Path) -> tuple[subprocess.Popen, dict]:
    """Start it in folder `run`; the daemon and the environment that points PortAudio and parec at it."""
    run.mkdir(parents=True, exist_ok=True)
    (run / "default.pa").write_text(
        "load-module module-null-sink sink_name=jam rate=16000 channels=2\n"
        "set-default-sink jam\nset-default-source jam.monitor\n"
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={run}/pulse.sock\n"
    )
    (run / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    env = dict(os.environ, HOME=str(run), XDG_RUNTIME_DIR=str(run), PULSE_SERVER=f"unix:{run}/pulse.sock")
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(run / "default.pa"), "--exit-idle-time=-1", "--daemonize=no"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if (run / "pulse.sock").exists():
            break
        time.sleep(0.05)
    else:
        daemon.kill()
        raise RuntimeError("pulseaudio did not start")
    env["TEST_PULSE_PID"] = str(daemon.pid)  # to pause this sound server, never another engineer's
    return daemon, env


def stop(daemon: subprocess.Popen) -> None:
    """Stop it by its own pid."""
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(10)
