"""Who is on the other end of the control socket (the kernel's peer credentials), and whether they may ask."""

from __future__ import annotations

import grp
import os
import socket
import struct
from dataclasses import dataclass

SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # Linux 4.13; Python names it from 3.14 on
MAX_GROUPS = 256  # getsockopt returns at most 1024 bytes; a peer in more groups is refused with the reason


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of a connection, as the kernel says."""

    pid: int
    uid: int
    gids: frozenset[int]


def peer(conn: socket.socket) -> Peer:
    """The connecting process's pid, uid and groups (primary and supplementary) from the kernel."""
    pid, uid, gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    raw = conn.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * MAX_GROUPS)
    return Peer(pid, uid, frozenset(struct.unpack(f"{len(raw) // 4}I", raw)) | {gid})


def admin_gid(group: str) -> int | None:
    """The gid of the admin group, or None when it is unset or does not exist here."""
    try:
        return grp.getgrnam(group).gr_gid if group else None
    except KeyError:
        return None


def refusal(who: Peer, group: str) -> str | None:
    """Why `who` may not use the socket, or None: root, the service's own user and the admin group may."""
    if who.uid in (0, os.geteuid()):
        return None
    gid = admin_gid(group)
    if gid is not None and gid in who.gids:
        return None
    if not group:
        others = "nobody else ([control] admin_group is empty)"
    else:
        others = f"members of the group '{group}'" + (" (no such group here)" if gid is None else "")
    return (
        f"uid {who.uid} (pid {who.pid}) may not use earmuff's control socket; expected root, "
        f"the service's user (uid {os.geteuid()}) or {others}"
    )
