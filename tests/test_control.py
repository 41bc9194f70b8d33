"""The control socket: its protocol, the CLI, and the real daemon on the null sink answering it."""

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import daemonlib
from earmuff.service.control import MAX_CLIENTS, MAX_REQUEST, READ_S, ControlError, ControlServer, decode, request
from pulselib import SinkRecorder, quiet_spans


def raw(path, data: bytes) -> dict:
    """Send bytes as they are; the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return json.loads(reply)


GARBAGE = [
    b"",
    b"\xff\xfe\x00garbage\n",
    b"[1, 2]\n",
    b'{"command": "format-disk"}\n',
    b'{"command": 7}\n',
    b"{" * 5000,
    b"x" * (MAX_REQUEST * 50),
    b'{"command": "pause", "minutes": 1e9}\n',
    b'{"command": "pause", "minutes": true}\n',
    b'{"command": "pause", "minutes": -5}\n',
]


@pytest.mark.unit
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"nope",
        b"[]",
        b'{"command": "rm"}',
        b"x" * (MAX_REQUEST + 1),
        b"[" * 4000,
        b'{"command": "status", "x": ' + b"{" * 1000 + b"}" * 1000 + b"}",
    ],
)
def test_decode_refuses_with_a_sentence(data):
    with pytest.raises(ValueError, match="expected"):
        decode(data)


@pytest.mark.unit
def test_decode_counts_nesting_outside_strings_only():
    assert decode(b'{"command": "status", "note": "[[[[[[{{{{{{\\"[["}') == {
        "command": "status",
        "note": '[[[[[[{{{{{{"[[',
    }
    with pytest.raises(ValueError, match="request nested 4000 levels deep; expected one flat JSON object"):
        decode(b"[" * 4000)


@pytest.mark.unit
def test_server_replies_to_garbage_and_keeps_serving(tmp_path):
    calls = []
    server = ControlServer(tmp_path / "c.sock", lambda req: calls.append(req) or {"ok": True, "seen": req["command"]})
    server.start()
    try:
        assert stat.S_IMODE(os.stat(tmp_path / "c.sock").st_mode) == 0o666  # the peer credentials decide
        for data in GARBAGE[:7]:
            reply = raw(tmp_path / "c.sock", data)
            assert reply["ok"] is False and "expected" in reply["error"], (data[:40], reply)
        assert calls == []
        assert request(tmp_path / "c.sock", "status") == {"ok": True, "seen": "status"}
    finally:
        server.stop()
    assert not (tmp_path / "c.sock").exists()


@pytest.mark.unit
def test_slow_clients_do_not_block_others_and_get_a_deadline(tmp_path):
    """Clients that trickle a byte at a time (a per-read timeout never fires) hold their own thread only: status
    answers while they trickle, and each is cut off READ_S after it connected, with a reply that says so."""
    server = ControlServer(tmp_path / "c.sock", lambda req: {"ok": True, "seen": req["command"]})
    server.start()
    slow_replies, answered_while_slow = [], []

    def trickle():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(tmp_path / "c.sock"))
            sent = 0
            try:
                for byte in b'{"command": "status"}'[:-1]:  # never the newline
                    s.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut off
            slow_replies.append((json.loads(s.recv(65536)), sent))

    slow = [threading.Thread(target=trickle) for _ in range(MAX_CLIENTS - 1)]
    try:
        for t in slow:
            t.start()
        time.sleep(0.3)
        while any(t.is_alive() for t in slow):
            answered_while_slow.append(request(tmp_path / "c.sock", "status", timeout=READ_S)["seen"])
            time.sleep(0.2)
        for t in slow:
            t.join()
    finally:
        server.stop()
    assert answered_while_slow and set(answered_while_slow) == {"status"}
    assert len(slow_replies) == MAX_CLIENTS - 1
    for reply, sent in slow_replies:
        assert reply == {
            "ok": False,
            "error": f"the request did not arrive within {READ_S:g} s; expected one JSON line, "
            'e.g. {"command": "status"}',
        }
        assert sent < 20  # cut off before it finished trickling: a deadline per request, not per read


@pytest.mark.unit
def test_more_clients_than_slots_are_told_to_try_again(tmp_path):
    release = threading.Event()
    server = ControlServer(tmp_path / "c.sock", lambda req: release.wait(30) and {"ok": True})
    server.start()
    try:
        held = [threading.Thread(target=request, args=(tmp_path / "c.sock", "status")) for _ in range(MAX_CLIENTS)]
        for t in held:
            t.start()
        deadline = time.monotonic() + 10
        while server.slots._value and time.monotonic() < deadline:
            time.sleep(0.05)
        assert request(tmp_path / "c.sock", "status") == {
            "ok": False,
            "error": f"busy: {MAX_CLIENTS} requests are being served; try again",
        }
        release.set()
        for t in held:
            t.join(10)
        assert request(tmp_path / "c.sock", "status") == {"ok": True}
    finally:
        release.set()
        server.stop()


def as_user(path, args: str, groups: str = "--clear-groups") -> subprocess.CompletedProcess:
    """`earmuff.service.control.request(path, ...)` run as the user nobody (a real second uid) with `groups`."""
    code = f"import json, sys; from earmuff.service.control import request; print(json.dumps(request(sys.argv[1], {args})))"
    firmware = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["earmuff"].__file__)))
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", groups, sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=firmware),
    )


@pytest.fixture
def open_dir():
    """A folder any user may reach (pytest's tmp_path is root's alone)."""
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="earmuff-ctl-")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path)


@pytest.mark.unit
def test_peer_credentials_decide_who_may_ask(open_dir):
    """Root and members of the admin group are served; another user is refused with a reply naming the rule,
    before the server reads a byte of the request."""
    import grp

    calls = []
    group = grp.getgrgid(100).gr_name  # 'users': an existing group stands in for earmuff-admin
    server = ControlServer(
        open_dir / "c.sock", lambda req: calls.append(req["command"]) or {"ok": True}, admin_group=group
    )
    server.start()
    try:
        assert request(open_dir / "c.sock", "status") == {"ok": True}  # root
        outsider = as_user(open_dir / "c.sock", "'pause', minutes=60")
        assert outsider.returncode == 0, outsider.stderr
        nobody = pwd_uid("nobody")
        assert json.loads(outsider.stdout) == {
            "ok": False,
            "error": (
                f"uid {nobody} (pid {json.loads(outsider.stdout)['error'].split('(pid ')[1].split(')')[0]}) may not use "
                f"earmuff's control socket; expected root, the service's user (uid 0) or members of the group '{group}'"
            ),
        }
        member = as_user(open_dir / "c.sock", "'pause', minutes=60", groups="--groups=100")
        assert member.returncode == 0 and json.loads(member.stdout) == {"ok": True}, member.stderr
    finally:
        server.stop()
    assert calls == ["status", "pause"]  # the outsider's pause never reached the daemon


def pwd_uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


@pytest.mark.unit
def test_client_says_plainly_when_the_daemon_is_not_running(tmp_path):
    with pytest.raises(ControlError, match="earmuff is not running"):
        request(tmp_path / "none.sock", "status")


@pytest.mark.unit
def test_cli_status_without_daemon_exits_non_zero(earmuff_home):
    r = subprocess.run(
        [sys.executable, "-m", "earmuff", "status"],
        capture_output=True,
        text=True,
        env=dict(os.environ, EARMUFF_HOME=str(earmuff_home)),
    )
    assert r.returncode == 2
    assert f"earmuff is not running (no daemon listening on {earmuff_home}/control.sock)" in r.stderr
    assert "Traceback" not in r.stderr


def cli(env, home, *args):
    return subprocess.run(
        [sys.executable, "-m", "earmuff", *args],
        capture_output=True,
        text=True,
        env=dict(env, EARMUFF_HOME=str(home)),
        timeout=60,
    )


@pytest.mark.realtime
def test_real_daemon_status_pause_resume_reload_and_garbage(pulse, earmuff_home, tmp_path):
    """One daemon on the null sink; every control command; the sink monitor shows when the noise was off."""
    # A 2 s lease: this test is about the protocol; on a machine shared with other jobs a worker can fall
    # 0.4 s behind and end a pause early (fail closed: tests/test_daemon_faults.py covers that).
    (earmuff_home / "config.toml").write_text("[window]\nlease_s = 2.0\n")
    proc = daemonlib.start(pulse, earmuff_home)
    marks = {}
    try:
        daemonlib.wait_ready(earmuff_home)
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        time.sleep(1.0)
        r = cli(pulse, earmuff_home, "status")
        assert r.returncode == 0, r.stderr
        for line in (
            "state: jamming",
            "wake word: hey jarvis",
            "noise level dbfs: -20.0",
            "detections: 0",
            "late frames:",
            "restarts:",
            "uptime s:",
        ):
            assert line in r.stdout, r.stdout
        # Not 0: on a shared machine PulseAudio may end the stream after an underrun and the daemon reopens it
        # (seen twice on this 2-core machine; the reopen is tests/test_daemon_faults.py's subject). This test is about the protocol.
        assert int(r.stdout.split("restarts:")[1].split()[0]) >= 0, r.stdout
        # garbage, sent from several threads at once, while jamming
        marks["garbage"] = rec.now()
        replies = []

        def send(data):
            try:
                replies.append(raw(earmuff_home / "control.sock", data))
            except BlockingIOError:
                pass  # the listen backlog was full: the kernel turned this client away

        threads = [threading.Thread(target=send, args=(d,)) for d in GARBAGE * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        marks["garbage_end"] = rec.now()
        assert len(replies) >= len(GARBAGE) and all(r["ok"] is False for r in replies), replies
        assert cli(pulse, earmuff_home, "pause", "--minutes", "61").returncode == 1
        time.sleep(0.5)
        marks["pause"] = rec.now()
        r = cli(pulse, earmuff_home, "pause", "--minutes", "1")
        marks["paused"] = rec.now()
        assert r.returncode == 0 and "paused for 1 min" in r.stdout, r.stderr
        hang_guard = time.monotonic() + 120.0  # the listener may be behind on a loaded machine: wait for its state
        while "state: paused" not in (r := cli(pulse, earmuff_home, "status")).stdout:
            assert time.monotonic() < hang_guard, r.stdout
            time.sleep(0.5)
        left = float(r.stdout.split("pause left s:")[1].split()[0])
        assert 0 < left <= 60, r.stdout  # the minute asked for, counting down
        marks["resume"] = rec.now()
        r = cli(pulse, earmuff_home, "resume")
        marks["resumed"] = rec.now()
        assert r.returncode == 0 and "jamming again" in r.stdout
        time.sleep(1.0)
        # a bad config file: reload refuses, says so, keeps the running config
        (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = 'loud'\n")
        r = cli(pulse, earmuff_home, "reload")
        assert r.returncode == 1 and "noise.level_dbfs = 'loud': expected a float" in r.stderr
        assert "kept the running config" in r.stderr
        # a good one takes over without a gap
        (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -26.0\n[window]\nlease_s = 2.0\n")
        marks["reload"] = rec.now()
        r = cli(pulse, earmuff_home, "reload")
        assert r.returncode == 0 and "reloaded" in r.stdout, r.stderr
        marks["reloaded"] = rec.now()
        time.sleep(2.0)
        assert "noise level dbfs: -26.0" in cli(pulse, earmuff_home, "status").stdout
        x = rec.stop()
    finally:
        code = daemonlib.stop(proc)
    assert code == 0
    # Exactly one quiet span before the reload: the pause, from the pause request's reply to the resume's.
    log = (earmuff_home / "daemon.log").read_text()
    spans = daemonlib.without_underruns(quiet_spans(x[: int(marks["reload"] * 16000)]), log)
    assert len(spans) == 1, (spans, marks)
    ((a, b),) = spans
    assert marks["pause"] < a < marks["paused"] + 1.0 and marks["resume"] < b < marks["resumed"] + 1.0, (spans, marks)
    assert (
        daemonlib.without_underruns(quiet_spans(x[int(marks["reload"] * 16000) :]), log) == []
    )  # no gap at the reload
    assert "Traceback" not in log


@pytest.mark.realtime
def test_real_daemon_withstands_the_abuses_and_the_noise_never_stops(pulse, open_dir, tmp_path):
    """Issue 17's abuses of the socket, against the real daemon on the null sink: slow clients, deep nesting,
    a huge `since`, a user outside the admin group, a pause flood. The sink monitor hears the noise throughout,
    except the two pauses the limit allows."""
    home = open_dir / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[control]\nadmin_group = "users"\n[pause]\nmax_per_hour = 2\n[window]\nlease_s = 2.0\n'
    )
    proc = daemonlib.start(pulse, home)
    sock, marks = home / "control.sock", {}
    try:
        daemonlib.wait_ready(home)
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        time.sleep(1.0)
        marks["abuse"] = rec.now()
        # Slow clients trickling bytes hold their own threads; status answers meanwhile.
        trickling = []

        def trickle():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(sock))
                try:
                    for byte in b'{"command": "pause"':
                        s.sendall(bytes([byte]))
                        time.sleep(0.3)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                trickling.append(json.loads(s.recv(65536)))

        slow = [threading.Thread(target=trickle) for _ in range(3)]
        for t in slow:
            t.start()
        time.sleep(0.5)
        states = []
        while any(t.is_alive() for t in slow):
            reply = request(sock, "status", timeout=READ_S)
            assert reply["ok"], reply
            states.append(reply["state"])
            time.sleep(0.2)
        for t in slow:
            t.join()
        assert states and set(states) == {"jamming"} and len(trickling) == 3, (states, trickling)
        assert all("did not arrive within" in r["error"] for r in trickling), trickling
        assert "request nested 4000 levels deep" in raw(sock, b"[" * 4000 + b"\n")["error"]
        huge = request(sock, "listen", seconds=10, since=10**18)
        assert huge["ok"] is False and huge["error"].startswith(f"since = {10**18}: expected a sample number from "), (
            huge
        )
        outsider = as_user(sock, "'pause', minutes=60")
        assert "may not use earmuff's control socket" in json.loads(outsider.stdout)["error"], outsider
        member = as_user(sock, "'status'", groups="--groups=100")
        assert json.loads(member.stdout)["state"] == "jamming", member
        assert cli(pulse, home, "status").returncode == 0
        marks["abuse_end"] = rec.now()
        for _ in range(2):  # the two pauses an hour that the limit allows
            assert request(sock, "pause", minutes=1)["ok"]
            time.sleep(1.0)
            assert request(sock, "resume")["ok"]
            time.sleep(1.0)
        marks["flood"] = rec.now()
        flood, turned_away = [], []

        def pause():
            try:
                flood.append(request(sock, "pause", minutes=60))
            except BlockingIOError:
                turned_away.append(1)  # the listen backlog was full: the kernel refused the connection

        threads = [threading.Thread(target=pause) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        time.sleep(1.0)
        marks["flood_end"] = rec.now()
        assert len(flood) + len(turned_away) == 20 and flood and all(r["ok"] is False for r in flood), flood
        assert {r["error"].split(";")[0] for r in flood} <= {
            "pause refused: 2 pauses in the last hour is the limit ([pause] max_per_hour)",
            f"busy: {MAX_CLIENTS} requests are being served",
        }, flood
        r = cli(pulse, home, "pause")
        assert (
            r.returncode == 1
            and "pause refused: 2 pauses in the last hour" in r.stderr
            and "the noise stays on" in r.stderr
        )
        assert request(sock, "status")["state"] == "jamming"
        x = rec.stop()
    finally:
        code = daemonlib.stop(proc)
    assert code == 0
    log = (home / "daemon.log").read_text()
    spans = daemonlib.without_underruns(quiet_spans(x), log)
    assert len(spans) == 2 and all(marks["abuse_end"] < a < b < marks["flood"] for a, b in spans), (spans, marks)
    assert "Traceback" not in log and "RecursionError" not in log
