"""One owner of the service's files: commands that write them run as the service's user, whoever starts them."""

from __future__ import annotations

import grp
import os
import pwd
import sys

from earmuff.paths import Paths

SERVICE_USER = "earmuff"
ADMIN_GROUP = "earmuff-admin"  # systemd/earmuff-admin.sudoers lets its members run earmuff as SERVICE_USER
# Commands that may write the service's files (config, wake words, recordings, the room bank, calibration).
WRITERS = ("wakeword", "calibrate", "run", "audio", "listen")


def become_service_user(command: str, argv: list[str], paths: Paths) -> None:
    """On an installed system, run a command that writes the service's files as the service's user.

    A root-owned model or recording is one the service cannot read, and a member of the admin group could not
    write them at all. Root starts the command afresh under util-linux's setpriv (always on Debian) as that user,
    with its groups and no capabilities; a member of the admin group through sudo and the rule install.sh wrote.
    Either way it reads and writes only what the service itself could.
    """
    if paths.home is not None or command not in WRITERS:
        return
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return  # not installed (a development machine): nothing of the service's to own
    python = [sys.executable, "-P", "-m", "earmuff", *argv]  # -P: nothing from the caller's folder
    if os.geteuid() == 0:
        os.environ.update(HOME=user.pw_dir, USER=SERVICE_USER, LOGNAME=SERVICE_USER)
        os.umask(0o007)  # the units' UMask=
        os.execvp(
            "setpriv", ["setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--init-groups", "--", *python]
        )
    if os.geteuid() == user.pw_uid:
        os.umask(0o007)
    elif admin():
        try:
            os.execvp("sudo", ["sudo", "-n", "-H", "-u", SERVICE_USER, "--", *python])
        except FileNotFoundError:
            raise OSError(
                f"sudo: not installed; members of {ADMIN_GROUP} run earmuff through it (scripts/install.sh)"
            ) from None


def admin() -> bool:
    """The caller is a member of the admin group."""
    try:
        return grp.getgrnam(ADMIN_GROUP).gr_gid in os.getgroups()
    except KeyError:
        return False
