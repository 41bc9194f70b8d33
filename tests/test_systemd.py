"""The two units pass systemd's offline checks; sd_notify reaches a real socket; the watchdog follows the audio."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daemonlib
from earmuff.service.sdnotify import Heartbeat, notify

UNITS = Path(__file__).parent.parent / "systemd"
AUDIO, STANDBY, LISTENER = (UNITS / f"earmuff{u}.service" for u in ("", "-standby", "-listener"))
needs_systemd = pytest.mark.tools("systemd-analyze")


def units_for_test(tmp_path) -> list[Path]:
    """The units with ExecStart pointing at this venv's earmuff, since verify checks that the command exists."""
    here = str(Path(sys.executable).parent / "earmuff")
    units = []
    for unit in (AUDIO, STANDBY, LISTENER):
        units.append(tmp_path / unit.name)
        units[-1].write_text(unit.read_text().replace("/opt/earmuff/venv/bin/earmuff", here))
    return units


@pytest.mark.unit
@needs_systemd
def test_units_verify_clean(tmp_path):
    r = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units_for_test(tmp_path))], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout == "" and "earmuff" not in r.stderr, r.stderr


@pytest.mark.unit
@needs_systemd
def test_units_exposure_at_most_1(tmp_path):
    for unit in units_for_test(tmp_path):
        r = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)], capture_output=True, text=True
        )
        level = float(re.search(rf"Overall exposure level for {unit.name}: ([0-9.]+)", r.stdout).group(1))
        assert level <= 1.0, r.stdout


@pytest.mark.unit
def test_unit_settings():
    for unit, command in ((AUDIO, "audio --standby"), (STANDBY, "audio --standby"), (LISTENER, "listen")):
        text = unit.read_text()
        for line in (
            "Type=notify",
            "Restart=always",
            "PrivateNetwork=yes",
            "IPAddressDeny=any",
            "StateDirectory=earmuff",
            "ConfigurationDirectory=earmuff",
            "RuntimeDirectory=earmuff",
            "RuntimeDirectoryPreserve=yes",
            "User=earmuff",
            f"ExecStart=/opt/earmuff/venv/bin/earmuff {command}",
        ):
            assert re.search(rf"^{re.escape(line)}$", text, re.M), (unit, line)
        assert re.search(r"^WatchdogSec=\d+s$", text, re.M) and re.search(r"^RestartSec=\d+ms$", text, re.M)
    audio, standby, listener = AUDIO.read_text(), STANDBY.read_text(), LISTENER.read_text()
    assert re.search(r"^SupplementaryGroups=audio$", audio, re.M) and re.search(r"^After=sound.target$", audio, re.M)
    assert re.search(r"^Wants=.*\bearmuff-standby.service\b", audio, re.M)
    for line in ("After=sound.target earmuff.service", "PartOf=earmuff.service", "Nice=-10"):
        assert re.search(rf"^{re.escape(line)}$", standby, re.M), line
    assert re.search(r"^SupplementaryGroups=.*\bgpio\b", listener, re.M)
    # /etc/earmuff: the mode scripts/install.sh gives it, and writable by the listener's refit under ProtectSystem=strict.
    made = re.search(
        r"install -d -m (0\d+) -o earmuff -g earmuff /etc/earmuff", (UNITS.parent / "scripts/install.sh").read_text()
    )
    for text in (audio, standby, listener):
        assert re.search(rf"^ConfigurationDirectoryMode={made.group(1)}$", text, re.M) and re.search(
            r"^ProtectSystem=strict$", text, re.M
        )
    assert re.search(r"^ReadWritePaths=/etc/earmuff$", listener, re.M)
    # The noise starts first and pulls the listener in; stopping it stops the listener; a listener restart stays alone.
    assert re.search(r"^Wants=.*\bearmuff-listener.service\b", audio, re.M)
    for line in ("After=earmuff.service", "PartOf=earmuff.service"):
        assert re.search(rf"^{re.escape(line)}$", listener, re.M), line
    assert "PartOf=" not in audio and "Requires=" not in listener and "BindsTo=" not in listener


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


@pytest.mark.unit
def test_notify_sends_a_datagram(notify_socket):
    assert notify("READY=1\nSTATUS=jamming")
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=jamming"


@pytest.mark.unit
def test_notify_without_systemd_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


@pytest.mark.unit
def test_notify_abstract_socket(monkeypatch):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"earmuff-test-{os.getpid()}"
    sock.bind("\0" + name)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    assert notify("WATCHDOG=1")
    assert sock.recv(100) == b"WATCHDOG=1"
    sock.close()


@pytest.mark.unit
def test_heartbeat_goes_stale_when_the_counter_stops():
    beat = Heartbeat(1.0, now=0.0)
    assert beat.update(320, 0.5) == 0.0 and beat.fresh(0.5)
    assert beat.update(640, 1.0) == 0.0 and beat.fresh(1.9)
    assert beat.update(640, 2.1) == pytest.approx(1.1) and not beat.fresh(2.1)


@pytest.mark.realtime
def test_audio_process_notifies_ready_and_feeds_the_watchdog_only_while_audio_runs(pulse, earmuff_home, notify_socket):
    env = dict(pulse, NOTIFY_SOCKET=os.environ["NOTIFY_SOCKET"])
    proc = daemonlib.start(env, earmuff_home, command="audio", log=earmuff_home / "audio.log")
    pa = int(pulse["TEST_PULSE_PID"])
    try:
        first = []
        deadline = time.monotonic() + 30.0
        while not any(m.startswith("READY=1") for m in first) and time.monotonic() < deadline:
            first += [m for _, m in received(notify_socket, time.monotonic() + 0.5)]
        assert any(m.startswith("READY=1") and "STATUS=jamming" in m for m in first), first
        first += [m for _, m in received(notify_socket, time.monotonic() + 4.0)]
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
        assert code == 3  # the process exits by itself so that Restart= starts a fresh one
        assert "the audio callback stopped" in (earmuff_home / "audio.log").read_text()
    finally:
        daemonlib.stop(proc)


@pytest.mark.realtime
def test_listener_notifies_ready_and_status_once_attached(pulse, earmuff_home, notify_socket):
    audio = daemonlib.start(pulse, earmuff_home, command="audio", log=earmuff_home / "audio.log")
    listener = daemonlib.start(dict(pulse, NOTIFY_SOCKET=os.environ["NOTIFY_SOCKET"]), earmuff_home, command="listen")
    try:
        msgs = []
        deadline = time.monotonic() + 60.0
        while "STATUS=jamming" not in msgs and time.monotonic() < deadline:
            msgs += [m for _, m in received(notify_socket, time.monotonic() + 0.5)]
        assert any(m.startswith("READY=1") for m in msgs) and "STATUS=jamming" in msgs, msgs
        msgs += [m for _, m in received(notify_socket, time.monotonic() + 2.0)]
        assert msgs.count("WATCHDOG=1") >= 3, msgs  # fed while its worker keeps up
    finally:
        assert daemonlib.stop(listener) == 0
        daemonlib.stop(audio)
