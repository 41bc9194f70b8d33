"""A private PulseAudio daemon with a real-time null sink and a recorder of it, for the tests and the process benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np


def start(run: Path) -> tuple[subprocess.Popen, dict]:
    """Start it in folder `run`; the daemon and the environment that points PortAudio and parec at it."""
    run.mkdir(parents=True, exist_ok=True)
    # norewinds: a sink that rewinds (when a client's period or a new stream asks it to) has already passed the
    # rewound audio to its monitor, which then holds blocks twice or out of order. The monitor is both the
    # recording the tests judge and the microphone the listener hears; a loudspeaker plays each sample once.
    (run / "default.pa").write_text(
        "load-module module-null-sink sink_name=jam rate=16000 channels=2 norewinds=1\n"
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


class SinkRecorder:
    """Records the null sink's monitor with parec: what the smart speaker's microphones would get."""

    def __init__(self, env: dict, path: Path) -> None:
        self.path = path
        self.proc = subprocess.Popen(
            [
                "parec",
                "-d",
                "jam.monitor",
                "--rate=16000",
                "--channels=2",
                "--format=s16le",
                "--latency-msec=20",
                str(path),
            ],
            env=env,
        )
        self.started = time.monotonic()

    def now(self) -> float:
        """Seconds recorded so far: a mark on the recording's own timeline (within parec's 20 ms latency)."""
        return self.path.stat().st_size / 4 / 16000 if self.path.exists() else 0.0

    def stop(self) -> np.ndarray:
        """Stop recording; the samples (frames x 2) in [-1, 1)."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        return np.fromfile(self.path, np.int16).reshape(-1, 2) / 32768.0


def quiet_blocks(x: np.ndarray, floor_dbfs: float = -50.0, block: int = 320) -> np.ndarray:
    """Indices of 20 ms blocks below `floor_dbfs` on either channel: silence, not merely quieter noise
    (the adaptive level may lower the noise to its quiet minimum, -32 dBFS by default, in a quiet room)."""
    n = len(x) // block * block
    power = np.mean(x[:n].reshape(-1, block, x.shape[1]) ** 2, axis=1)
    db = 10 * np.log10(power + 1e-20)
    quiet = np.flatnonzero(np.any(db < floor_dbfs, axis=1))
    # Before the first block of noise the device had not started (parec writes exact zeros until the monitor's
    # first block arrives; a recorder started beside `earmuff run` also hears PortAudio's silent prefill). From
    # the first noise on, every quiet block counts.
    loud = np.flatnonzero(np.all(db >= floor_dbfs, axis=1))
    return quiet[quiet >= (loud[0] if len(loud) else len(db))]


def quiet_spans(x: np.ndarray, floor_dbfs: float = -50.0, block: int = 320) -> list[tuple[float, float]]:
    """(start, end) seconds of each run of quiet blocks."""
    spans: list[tuple[float, float]] = []
    for i in quiet_blocks(x, floor_dbfs, block):
        t = i * block / 16000
        if spans and abs(spans[-1][1] - t) < 1e-9:
            spans[-1] = (spans[-1][0], t + block / 16000)
        else:
            spans.append((t, t + block / 16000))
    return spans
