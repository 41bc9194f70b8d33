"""The control socket: one JSON object per line over a Unix stream socket, a thread per connection.

Who may ask is decided per request from the kernel's peer credentials (SO_PEERCRED, SO_PEERGROUPS): root, the
service's own user, or a member of [control] admin_group. Anyone may connect (mode 0666): the reply to anyone
else is a refusal naming the rule, sent before a byte of their request is read.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from earmuff.config import Config
from earmuff.paths import Paths
from earmuff.service.peers import peer, refusal

log = logging.getLogger(__name__)

MAX_REQUEST = 4096  # bytes; a request is a few dozen
MAX_DEPTH = 4  # nesting of [ and {; a request is one flat object
COMMANDS = ("status", "pause", "resume", "reload", "listen", "forget_room")
READ_S = 2.0  # the whole request must arrive within this, however it is sliced
SEND_S = 5.0  # the whole reply must be taken within this
MAX_CLIENTS = 8  # connections served at once; more are told to try again
REFUSAL_LOG_S = 60.0  # a refused connection is logged at most this often (anyone may connect: no log flood)


class ControlError(RuntimeError):
    """The daemon cannot be reached, or it refused a request: the message says which and why."""


class NotRunning(ControlError):
    """No daemon listens on the control socket."""


def socket_path(cfg: Config, paths: Paths) -> Path:
    """The configured socket, or control.sock in the runtime directory."""
    return Path(cfg.control.socket) if cfg.control.socket else paths.runtime / "control.sock"


def decode(data: bytes) -> dict[str, Any]:
    """Parse one request, or raise ValueError with a sentence for the reply."""
    if len(data) > MAX_REQUEST:
        raise ValueError(f"request of more than {MAX_REQUEST} bytes; expected one short JSON line")
    if (depth := nesting(data)) > MAX_DEPTH:  # json recurses per level: bounded here, never a RecursionError
        raise ValueError(
            f'request nested {depth} levels deep; expected one flat JSON object, e.g. {{"command": "status"}}'
        )
    try:
        req = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f'request is not JSON ({exc}); expected e.g. {{"command": "status"}}') from None
    if not isinstance(req, dict) or req.get("command") not in COMMANDS:
        got = req.get("command") if isinstance(req, dict) else req
        raise ValueError(f"command {got!r}: expected one of {list(COMMANDS)}")
    return req


def nesting(data: bytes) -> int:
    """The deepest nesting of brackets outside strings in JSON text `data` (linear, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == 0x5C, byte != 0x22)
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


class ControlServer:
    """Serves each connection in its own thread, at most MAX_CLIENTS at once; each gets one reply within a
    deadline; nothing a client sends can stop the noise."""

    def __init__(self, path: Path, handle: Callable[[dict[str, Any]], dict[str, Any]], admin_group: str = "") -> None:
        self.path = path
        self.handle = handle
        self.admin_group = admin_group
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # left over from a killed daemon
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.bind(os.fspath(path))
        os.chmod(path, 0o666)  # the peer credentials decide, with a reply that says why
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.stopping = threading.Event()
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self.refused, self.log_after = 0, 0.0  # refusals not yet logged, and when the next line may be written
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
            try:
                why = refusal(peer(conn), self.admin_group)
            except OSError as exc:
                why = f"cannot read the peer's credentials ({exc}); refused"
            if why is None and self.slots.acquire(blocking=False):
                threading.Thread(
                    target=self._connection, args=(conn,), name="earmuff-control-client", daemon=True
                ).start()
                continue
            with conn:  # refused or busy: answered at once from this thread, nothing read
                try:
                    _reply(
                        conn,
                        {"ok": False, "error": why or f"busy: {MAX_CLIENTS} requests are being served; try again"},
                        0.2,
                    )
                    conn.recv(MAX_REQUEST + 1, socket.MSG_DONTWAIT)  # what already came: closing on it resets the reply
                except OSError:
                    pass
                if why:
                    self.refused += 1
                    if time.monotonic() >= self.log_after:
                        log.warning("control socket: %s (%d refused since the last such line)", why, self.refused)
                        self.refused, self.log_after = 0, time.monotonic() + REFUSAL_LOG_S

    def _connection(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._one(conn)
        except OSError as exc:  # the client went before its reply (its own timeout on a busy machine)
            log.warning("control client gone: %s", exc)
        except Exception:  # one bad client must not end the service
            log.exception("control request failed")
        finally:
            self.slots.release()

    def _one(self, conn: socket.socket) -> None:
        data, deadline = b"", time.monotonic() + READ_S
        try:
            while b"\n" not in data and len(data) <= MAX_REQUEST:
                conn.settimeout(max(0.0, deadline - time.monotonic()) or 1e-3)
                chunk = conn.recv(MAX_REQUEST + 1)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:  # a deadline for the whole request: trickling bytes does not extend it
            _reply(conn, {"ok": False, "error": LATE}, SEND_S)
            return
        try:
            reply = self.handle(decode(data.split(b"\n")[0] if len(data) <= MAX_REQUEST else data))
        except ValueError as exc:
            reply = {"ok": False, "error": str(exc)}
        _reply(conn, reply, SEND_S)
        _drain(conn)


LATE = f'the request did not arrive within {READ_S:g} s; expected one JSON line, e.g. {{"command": "status"}}'


def _reply(conn: socket.socket, reply: dict[str, Any], seconds: float) -> None:
    """Send one reply line and end the stream; a client that does not take it within `seconds` loses it."""
    conn.settimeout(seconds)  # sendall's timeout bounds the whole send
    conn.sendall(json.dumps(reply).encode() + b"\n")
    conn.shutdown(socket.SHUT_WR)


def _drain(conn: socket.socket, limit: int = 1 << 20) -> None:
    """Read what an oversized request still sends, so closing does not reset the reply away; bounded."""
    deadline = time.monotonic() + 0.2
    try:
        while limit > 0 and (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            if not (chunk := conn.recv(65536)):
                break
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
            raise NotRunning(
                f"earmuff is not running (no daemon listening on {path}); start it with: sudo systemctl start earmuff"
            ) from None
        except PermissionError:
            raise ControlError(
                f"no permission to use {path}; expected root, the service's user "
                "or a member of its [control] admin_group"
            ) from None
        data = b""
        try:
            try:
                s.sendall(json.dumps({"command": command, **fields}).encode() + b"\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before it read the request: the reply says why
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


def ask_reload(paths: Paths) -> str:
    """Ask a running daemon to re-read the config (it switches wake word then); what happened, for the user."""
    from earmuff import config

    try:
        reply = request(socket_path(config.load(paths.config), paths), "reload", timeout=10.0)
    except NotRunning:
        return "no earmuff is running here; it is used from the next start"
    except (ControlError, OSError) as exc:
        return f"the running earmuff could not be told ({exc}); run `earmuff reload`"
    if reply.get("ok"):
        return "the running earmuff switched to it without a gap in the noise"
    return f"the running earmuff kept its wake word: {reply.get('error')}"
