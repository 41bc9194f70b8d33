"""Privacy: the daemon, running on the null sink and answering its control socket, opens no network socket."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

import daemonlib
from earmuff.service.control import request


@pytest.mark.realtime
@pytest.mark.tools("strace")
def test_daemon_creates_only_unix_sockets(pulse, earmuff_home, tmp_path):
    trace = tmp_path / "socket.trace"
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    env.pop("ORT_DISABLE_TELEMETRY", None)  # the daemon must set it itself
    proc = subprocess.Popen(
        [
            "strace",
            "-f",
            "-qq",
            "--seccomp-bpf",
            "-e",
            "trace=socket,socketpair,connect,bind,sendto,sendmsg,sendmmsg",
            "-s",
            "100",
            "-o",
            str(trace),
            sys.executable,
            "-m",
            "earmuff",
            "run",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(earmuff_home / "daemon.log", "w"),
    )
    try:
        daemonlib.wait_ready(earmuff_home)
        for command, fields in (("status", {}), ("pause", {"minutes": 1}), ("resume", {}), ("reload", {})):
            assert request(earmuff_home / "control.sock", command, **fields)["ok"]
        time.sleep(2.0)
    finally:
        daemon = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in daemon:
            os.kill(int(pid), signal.SIGTERM)  # the daemon itself; strace follows it out
        proc.wait(30)
    text = trace.read_text()
    assert re.search(r"socket\(AF_UNIX", text), "strace saw no socket() at all: the trace is not working"
    assert "events.data.microsoft" not in text  # onnxruntime's telemetry is off
    inet = [line for line in text.splitlines() if re.search(r"AF_INET|inet_addr|inet_pton|sin6?_port", line)]
    # The one exception: urllib3 (imported by openWakeWord via requests) probes for IPv6 support at import by
    # binding a TCP socket to ::1, the loopback address; it never connects or sends.
    probe = [
        l
        for l in inet
        if re.search(r"socket\(AF_INET6, SOCK_STREAM", l)
        or re.search(r"bind\(\d+, \{sa_family=AF_INET6, sin6_port=htons\(0\).*\"::1\"", l)
    ]
    assert len(probe) <= 2 and all(l in probe for l in inet), inet
    assert not [l for l in text.splitlines() if re.search(r"(connect|sendto|sendmsg|sendmmsg)\(.*AF_INET", l)]


@pytest.mark.unit
def test_recordings_happen_only_in_training():
    """No module of the running daemon writes audio: only the simulator, demo and training write WAV files."""
    import earmuff

    root = __import__("pathlib").Path(earmuff.__file__).parent
    writers = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if re.search(r"write_wav|soundfile\.write|sf\.write|wave\.open\(.*['\"]w", p.read_text())
    }
    assert {"audio/files.py", "sim/simulate.py"} <= writers, writers  # the search finds the writers there are
    # What the running device runs: the real-time path, the service, and DSP (whose files.py only defines write_wav).
    device_side = {w for w in writers if w.startswith(("runtime/", "service/", "audio/")) and w != "audio/files.py"}
    assert not device_side, device_side
