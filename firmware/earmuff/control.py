"""The control socket: one JSON object per line over a Unix stream socket, served by a daemon thread."""

from __future__ import annotations

import grp
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable

from .config import Config, runtime_dir

log = logging.getLogger(__name__)

MAX_REQUEST = 4096  # bytes; a request is a few dozen
COMMANDS = ("status", "pause", "resume", "reload", "listen", "forget_room")
CLIENT_TIMEOUT_S = 2.0


class ControlError(RuntimeError):
    """The daemon cannot be reached, or it refused a request: the message says which and why."""


class NotRunning(ControlError):
    """No daemon listens on the control socket."""


def socket_path(cfg: Config) -> Path:
    """The configured socket, or control.sock in the runtime directory."""
    return Path(cfg.control.socket) if cfg.control.socket else runtime_dir() / "control.sock"


def decode(data: bytes) -> dict[str, Any]:
    """Parse one request, or raise ValueError with a sentence for the reply."""
    if len(data) > MAX_REQUEST:
        raise ValueError(f"request of more than {MAX_REQUEST} bytes; expected one short JSON line")
    try:
        req = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"request is not JSON ({exc}); expected e.g. {{\"command\": \"status\"}}") from None
    if not isinstance(req, dict) or req.get("command") not in COMMANDS:
        got = req.get("command") if isinstance(req, dict) else req
        raise ValueError(f"command {got!r}: expected one of {list(COMMANDS)}")
    return req


class ControlServer:
    """Accepts one connection at a time; each gets one reply; nothing a client sends can stop the noise."""

    def __init__(self, path: Path, handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.path = path
        self.handle = handle
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # left over from a killed daemon
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.bind(os.fspath(path))
        os.chmod(path, 0o660)
        try:
            os.chown(path, -1, grp.getgrnam("earmuff").gr_gid)
        except (KeyError, PermissionError):
            pass  # no earmuff group on a development machine, or not ours to give
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="earmuff-control", daemon=True)

    def start(self) -> None:
        """Serve in the background."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and remove the socket file."""
        self.stopping.set()
        self.thread.join(2.0)
        self.sock.close()
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                log.error("control socket: %s", exc)
                continue
            with conn:
                try:
                    self._one(conn)
                except Exception:  # one bad client must not end the service
                    log.exception("control request failed")

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(CLIENT_TIMEOUT_S)
        data = b""
        try:
            while b"\n" not in data and len(data) <= MAX_REQUEST:
                chunk = conn.recv(MAX_REQUEST + 1)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        try:
            reply = self.handle(decode(data.split(b"\n")[0] if len(data) <= MAX_REQUEST else data))
        except ValueError as exc:
            reply = {"ok": False, "error": str(exc)}
        conn.sendall(json.dumps(reply).encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        _drain(conn)


def _drain(conn: socket.socket, limit: int = 1 << 20) -> None:
    """Read what an oversized request still sends, so closing does not reset the reply away; bounded."""
    conn.settimeout(0.2)
    try:
        while limit > 0 and (chunk := conn.recv(65536)):
            limit -= len(chunk)
    except OSError:
        pass


def request(path: Path, command: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
    """Send one request to the daemon and return its reply; ControlError if it is not running."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(timeout)
        try:
            s.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"earmuff is not running (no daemon listening on {path}); "
                             "start it with: sudo systemctl start earmuff") from None
        except PermissionError:
            raise ControlError(f"no permission to use {path}; expected to be root or in the group 'earmuff'") from None
        data = b""
        try:
            s.sendall(json.dumps({"command": command, **fields}).encode() + b"\n")
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise ControlError(f"the daemon on {path} did not answer '{command}' within {timeout:g} s") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise ControlError(f"the daemon on {path} sent no valid reply: {data[:200]!r}") from None
