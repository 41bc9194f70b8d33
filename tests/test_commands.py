"""The listener's control dispatch: a table of the protocol's commands; anything else is refused and changes nothing."""

import json
import socket

import pytest

import daemonlib
from earmuff.config import Config
from earmuff.service.control import COMMANDS, request
from earmuff.service.listener import Daemon

UNKNOWN = ["format-disk", "Reload", "reload ", "", "__init__", "table"]


@pytest.mark.unit
def test_the_table_answers_exactly_the_protocols_commands(paths):
    assert list(Daemon(Config(), paths).commands.table) == list(COMMANDS)


@pytest.mark.unit
@pytest.mark.parametrize("command", [*UNKNOWN, 7, None, ["reload"]])
def test_an_unknown_command_is_refused_and_reloads_nothing(earmuff_home, command, paths):
    """Called past the socket's own check, as a handler could be: the table refuses, it does not fall through."""
    daemon = Daemon(Config(), paths)
    cfg, device = daemon.cfg, daemon.device
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -26.0\n")
    reply = daemon.commands.handle({"command": command})
    assert reply == {"ok": False, "error": f"command {command!r}: expected one of {list(COMMANDS)}"}
    assert daemon.cfg is cfg and daemon.device is device and daemon.cfg.noise.level_dbfs == -20.0
    assert not paths.last_good.exists()  # a reload would have saved config.toml there


@pytest.mark.unit
def test_reload_by_name_reloads(earmuff_home, paths):
    """The check above can see a reload: the command named reload does one."""
    daemon = Daemon(Config(), paths)
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -26.0\n")
    try:
        reply = daemon.commands.handle({"command": "reload"})
        assert reply["ok"] and reply["message"].startswith("reloaded "), reply
        assert daemon.cfg.noise.level_dbfs == -26.0 and paths.last_good.exists()
    finally:
        daemon.device.stop_worker()


def send(path, req: dict) -> dict:
    """One request line as it is, past the client's `request`; the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(json.dumps(req).encode() + b"\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return json.loads(reply)


@pytest.mark.realtime
def test_real_listener_refuses_unknown_commands_and_does_nothing_else(pulse, earmuff_home, paths):
    """`earmuff run` on the null sink: unknown commands on its control socket get a refusal naming the command and
    the known ones; the new config.toml waiting on disk is not loaded, nothing pauses; a real reload then is."""
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -20.0\n")
    proc = daemonlib.start(pulse, earmuff_home)
    sock = earmuff_home / "control.sock"
    try:
        daemonlib.wait_ready(earmuff_home)
        (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -26.0\n")
        for command in UNKNOWN:
            reply = send(sock, {"command": command, "minutes": 60})
            assert reply == {"ok": False, "error": f"command {command!r}: expected one of {list(COMMANDS)}"}
        status = request(sock, "status")
        # Not paused, no window, the level unchanged (a transient fault of the loaded machine's audio may show).
        assert status["state"] in ("jamming", "fault") and status["pause_left_s"] == 0, status
        assert status["noise_level_dbfs"] == -20.0, status
        assert "level_dbfs = -20.0" in paths.last_good.read_text()
        assert "reloaded" not in (earmuff_home / "daemon.log").read_text()
        assert request(sock, "reload")["ok"]
        assert request(sock, "status")["noise_level_dbfs"] == -26.0
    finally:
        code = daemonlib.stop(proc)
    assert code == 0
    log = (earmuff_home / "daemon.log").read_text()
    assert log.count("reloaded ") == 1 and "Traceback" not in log
