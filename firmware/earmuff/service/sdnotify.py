"""systemd's notify protocol with a plain datagram, and the heartbeat that decides when to feed the watchdog."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one sd_notify message to $NOTIFY_SOCKET with a plain datagram; False when there is none."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(message.encode(), address)
        return True
    except OSError as exc:
        log.warning("cannot notify systemd on %s: %s", path, exc)
        return False


class Heartbeat:
    """Whether a counter has moved within the last `stale_s` seconds."""

    def __init__(self, stale_s: float, now: float) -> None:
        self.stale_s = stale_s
        self.value: int | None = None
        self.moved_at = now

    def update(self, value: int, now: float) -> float:
        """Record the counter; return the seconds since it last moved."""
        if value != self.value:
            self.value, self.moved_at = value, now
        return now - self.moved_at

    def fresh(self, now: float) -> bool:
        """True while the counter moved recently."""
        return now - self.moved_at < self.stale_s
