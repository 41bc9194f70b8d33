"""The service unit passes systemd's offline checks; sd_notify reaches a real socket; the watchdog follows the audio."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daemonlib
from conftest import needs_pulse
from earmuff.daemon import Heartbeat, notify

UNIT = Path(__file__).parent.parent / "systemd" / "earmuff.service"
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed (apt package systemd; setup.sh --test installs it)")


def unit_for_test(tmp_path) -> Path:
    """The unit with ExecStart pointing at this venv's earmuff, since verify checks that the command exists."""
    unit = tmp_path / "earmuff.service"
    here = str(Path(sys.executable).parent / "earmuff")
    unit.write_text(UNIT.read_text().replace("/opt/earmuff/venv/bin/earmuff", here))
    return unit


@needs_systemd
def test_unit_verifies_clean(tmp_path):
    r = subprocess.run(["systemd-analyze", "verify", str(unit_for_test(tmp_path))], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and "earmuff" not in r.stderr, r.stderr


@needs_systemd
def test_unit_exposure_at_most_2(tmp_path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit_for_test(tmp_path))],
                       capture_output=True, text=True)
    level = float(re.search(r"Overall exposure level for earmuff.service: ([0-9.]+)", r.stdout).group(1))
    assert level <= 2.0, r.stdout


def test_unit_settings():
    text = UNIT.read_text()
    for line in ("Type=notify", "Restart=always", "PrivateNetwork=yes", "IPAddressDeny=any", "After=sound.target",
                 "StateDirectory=earmuff", "ConfigurationDirectory=earmuff", "RuntimeDirectory=earmuff", "User=earmuff"):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
    assert re.search(r"^SupplementaryGroups=.*\baudio\b.*\bgpio\b", text, re.M)
    assert re.search(r"^WatchdogSec=\d+s$", text, re.M) and re.search(r"^RestartSec=\d+ms$", text, re.M)


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(0.5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock, until: float) -> list[tuple[float, str]]:
    """(arrival time, message) of every datagram until `until`."""
    msgs = []
    while time.monotonic() < until:
        try:
            msgs.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            pass
    return msgs


def test_notify_sends_a_datagram(notify_socket):
    assert notify("READY=1\nSTATUS=jamming")
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=jamming"


def test_notify_without_systemd_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_notify_abstract_socket(monkeypatch):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"earmuff-test-{os.getpid()}"
    sock.bind("\0" + name)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    assert notify("WATCHDOG=1")
    assert sock.recv(100) == b"WATCHDOG=1"
    sock.close()


def test_heartbeat_goes_stale_when_the_counter_stops():
    beat = Heartbeat(1.0, now=0.0)
    assert beat.update(320, 0.5) == 0.0 and beat.fresh(0.5)
    assert beat.update(640, 1.0) == 0.0 and beat.fresh(1.9)
    assert beat.update(640, 2.1) == pytest.approx(1.1) and not beat.fresh(2.1)


@needs_pulse
def test_daemon_notifies_ready_status_and_feeds_the_watchdog_only_while_audio_runs(pulse, earmuff_home, notify_socket, tmp_path):
    env = dict(pulse, NOTIFY_SOCKET=os.environ["NOTIFY_SOCKET"])
    proc = daemonlib.start(env, earmuff_home)
    pa = int(pulse["TEST_PULSE_PID"])
    try:
        first = []
        deadline = time.monotonic() + 30.0
        while not any(m.startswith("READY=1") for m in first) and time.monotonic() < deadline:
            first += [m for _, m in received(notify_socket, time.monotonic() + 0.5)]
        assert any(m.startswith("READY=1") for m in first), first
        first += [m for _, m in received(notify_socket, time.monotonic() + 4.0)]
        assert "STATUS=jamming" in first, first
        assert first.count("WATCHDOG=1") >= 5, first  # every 0.25 s while audio runs
        os.kill(pa, signal.SIGSTOP)  # the sound server hangs: the audio callback stops being called
        try:
            t0 = time.monotonic()
            later = [(t - t0, m) for t, m in received(notify_socket, t0 + 4.0)]
            code = proc.wait(10)
        finally:
            os.kill(pa, signal.SIGCONT)
        pings = [t for t, m in later if m == "WATCHDOG=1"]
        assert not pings or max(pings) < 1.5, later  # the watchdog goes unfed within the stale time
        assert code == 3  # the daemon exits by itself so that Restart= starts a fresh one
        assert "the audio callback stopped" in (earmuff_home / "daemon.log").read_text()
    finally:
        daemonlib.stop(proc)
