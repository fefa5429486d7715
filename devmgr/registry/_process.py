"""Which process owns a running sweep, and whether that process still exists.

A sweep killed mid-way (SIGKILL, OOM killer, power loss) never gets to mark itself aborted;
it stays "running" in the database. ``Registry.open`` asks this module whether the owner is
gone. A bare pid is not enough: pids are reused, most of all after a reboot. On Linux the
owner is therefore identified by boot id + process start time as well, which no later process
can share.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessIdentity", "is_running"]

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    pid: int
    #: ``<boot id>:<start time in clock ticks>`` on Linux, ``""`` where /proc is not available.
    token: str
    user: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # a uid without a passwd entry (containers)
            user = str(os.getuid())
        return cls(host=socket.gethostname(), pid=os.getpid(), token=_start_token(os.getpid()),
                   user=user)


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (state) on, or None where it cannot be read."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may itself hold spaces and parentheses: split after the last ")".
    return stat.rpartition(")")[2].split()


def _start_token(pid: int) -> str:
    fields = _stat_fields(pid)
    try:
        boot_id = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
    # Field 22 is the start time in clock ticks since boot; fields[0] is field 3.
    return f"{boot_id}:{fields[19]}" if fields is not None and len(fields) > 19 else ""


def is_running(pid: int, token: str) -> bool:
    """Whether the process that wrote (``pid``, ``token``) on this host is still alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is not None and fields[:1] == ["Z"]:
        return False  # killed, not yet reaped by its parent: it will write nothing more
    if not token:
        return True  # no start time recorded: the pid is all we can go by
    current = _start_token(pid)
    # An unreadable /proc entry (hidepid mounts) proves nothing: assume alive.
    return current in ("", token)
