"""Who owns which fleet network, and how its pieces are deleted, also after a crash.

Each live fleet has a bookkeeping file naming its owner process (pid and start time) and a
bridge whose alias says the same; :func:`cleanup_stale` removes networks whose owner is gone
and never touches names it did not create. Subnet choice and bookkeeping are serialised
between processes by one lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._iproute import ip, ip_batch, links, netns_names

_LOG = logging.getLogger(__name__)

#: Our bookkeeping: one JSON file per live fleet; the directory is removed when the last fleet
#: goes. Under /run, usually a tmpfs cleared at reboot with the namespaces and links it
#: describes; where it is not, records of dead owners are ignored and removed by
#: cleanup_stale().
STATE_DIR = Path("/run/camfleet-netns")
#: The inter-process lock (an empty file in the FHS place for lock files; it stays there).
LOCK_FILE = Path("/run/lock/camfleet-netns.lock")
#: What a fleet prefix looks like (it names every link and namespace of the fleet).
PREFIX_RE = re.compile(r"[a-z][a-z0-9]*")
#: netns_unavailable_reason()'s throwaway namespaces.
_PROBE_RE = re.compile(r"cfprobe(\d+)-\d+")
#: Marks our bridges in ``ip link`` output (ifalias), for humans and :func:`cleanup_stale`.
ALIAS_MARK = "camfleet-netns"
#: Device groups of our links: 0x6366xxxx ("cf"). A fleet puts its bridge and veths in one
#: group so destroy() deletes them all with one ``ip link delete group``: the kernel then
#: unregisters them in one batch (~35 ms for 50 veths) instead of one RCU grace period per
#: device (~20 ms *each* here).
_GROUP_BASE = 0x63660000

_counter = itertools.count()
_lock_depth = threading.local()


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: tells a live owner from a recycled pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner_alive(record: dict[str, Any]) -> bool:
    try:
        pid, start = int(record["pid"]), int(record["start_time"])
    except (KeyError, TypeError, ValueError):
        return False
    return process_start_time(pid) == start


@contextlib.contextmanager
def state_lock() -> Iterator[None]:
    """Serialises subnet choice and bookkeeping between processes (xdist workers).

    Re-entrant per thread (create() cleans up under it, through destroy(), which takes it
    too): a second flock() on a new descriptor would wait for the first forever.
    """
    if getattr(_lock_depth, "n", 0):
        _lock_depth.n += 1
        try:
            yield
        finally:
            _lock_depth.n -= 1
        return
    LOCK_FILE.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _lock_depth.n = 1
        try:
            yield
        finally:
            _lock_depth.n = 0
    finally:
        os.close(fd)  # releases the lock


def record_path(prefix: str) -> Path:
    return STATE_DIR / f"{prefix}.json"


def read_records() -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(FileNotFoundError):
        for path in STATE_DIR.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(path.read_text())
                if isinstance(record, dict) and record.get("prefix") == path.stem:
                    records[path.stem] = record
    return records


def parse_alias(alias: str) -> dict[str, Any] | None:
    """Our bridge alias: ``camfleet-netns pid=<pid> start=<ticks> subnet=<cidr> group=<n>``."""
    words = alias.split()
    if not words or words[0] != ALIAS_MARK:
        return None
    fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    return {"pid": fields.get("pid"), "start_time": fields.get("start"),
            "subnet": fields.get("subnet"), "group": fields.get("group")}


def record_group(record: dict[str, Any] | None) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(record["group"])  # type: ignore[index]
    return None


def pick_group(links: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]]) -> int:
    """A device group no link and no live fleet uses (called under :func:`state_lock`)."""
    used = {str(link.get("group")) for link in links}
    used |= {str(record_group(record)) for record in records}
    for group in range(_GROUP_BASE + 1, _GROUP_BASE + 0x10000):
        if str(group) not in used:
            return group
    raise NetnsError("no free device group for a fleet network")


def default_prefix() -> str:
    pid = _base36(os.getpid()).rjust(5, "0")  # pid_max is at most 2**22 < 36**5
    return f"cf{pid}{_base36(next(_counter))}"


def probe_name() -> str:
    """A throwaway namespace's name for netns_unavailable_reason(), matched by _PROBE_RE."""
    return f"cfprobe{os.getpid()}-{next(_counter)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out



def owned_name(prefix: str, name: str) -> bool:
    head, sep, tail = name.rpartition("-")
    return head == prefix and bool(sep) and tail.isdigit()


def teardown(prefix: str, indexes: Iterable[int] | None, group: int | None) -> None:
    """Delete veths, namespaces, bridge and record of ``prefix``; None = whatever exists.

    Callers hold :func:`state_lock`.
    """
    bridge = f"{prefix}-br"
    now_present = links()
    if indexes is None:
        names = {name for name in netns_names() if owned_name(prefix, name)}
        names |= {str(link.get("ifname", "")) for link in now_present
                  if owned_name(prefix, str(link.get("ifname", "")))}
    else:
        names = {f"{prefix}-{index}" for index in indexes}
    ours = names | {bridge}
    present = {str(link.get("ifname", "")) for link in now_present}
    in_group = {str(link.get("ifname", "")) for link in now_present
                if group is not None and str(link.get("group")) == str(group)}
    lines: list[str] = []
    if in_group and in_group <= ours:
        # One batch unregistration for bridge and veths (see _GROUP_BASE). Only when every
        # member of the group is ours: never delete a link we did not make.
        lines.append(f"link delete group {group}")
        present -= in_group
    # Veths before namespaces: deleting the host end deletes eth0 in the namespace at once,
    # whereas a deleted namespace frees its interfaces later (and never while a process still
    # holds a socket in it). The bridge goes last: while it exists, cleanup_stale() finds the
    # rest.
    lines += [f"link delete dev {name}" for name in sorted(names & present)]
    netns = set(netns_names())
    lines += [f"netns delete {name}" for name in sorted(names & netns)]
    if bridge in present:
        lines.append(f"link delete dev {bridge}")
    if lines:
        ip_batch(lines, force=True)  # -force: keep going past pieces that vanished meanwhile
    with contextlib.suppress(FileNotFoundError):
        record_path(prefix).unlink()
    # Under state_lock (every caller holds it), so no create() is between mkdir and write.
    with contextlib.suppress(OSError):  # not empty: other fleets live
        STATE_DIR.rmdir()
    left = sorted({*(n for n in netns_names() if n in names),
                   *(str(link.get("ifname")) for link in links() if link.get("ifname") in ours)})
    if left:
        raise NetnsError(f"could not delete {', '.join(left)} of fleet network {prefix}")


def cleanup_stale(prefix_pattern: str = "cf*", *, include_live: bool = False) -> list[str]:
    """Remove fleet networks left by crashed processes; return the prefixes removed.

    Only networks we made are considered: those with a bookkeeping file in
    ``/run/camfleet-netns`` or a bridge marked with our alias, whose prefix matches
    ``prefix_pattern`` (fnmatch; the default matches the default prefixes). A network whose
    owner process is still running is left alone unless ``include_live``; that is what makes
    this safe to call from every pytest-xdist worker while the others run fleets.
    """
    with state_lock():
        owners: dict[str, dict[str, Any]] = dict(read_records())
        for link in links():
            name = str(link.get("ifname", ""))
            alias = parse_alias(str(link.get("ifalias", "")))
            if alias is not None and name.endswith("-br"):
                owners.setdefault(name.removesuffix("-br"), alias)
        removed = []
        for prefix, owner in sorted(owners.items()):
            if not PREFIX_RE.fullmatch(prefix) or not fnmatch.fnmatchcase(prefix, prefix_pattern):
                continue
            if owner_alive(owner) and not include_live:
                continue
            _LOG.info("removing stale fleet network %s (owner pid %s)", prefix, owner.get("pid"))
            teardown(prefix, None, record_group(owner))
            removed.append(prefix)
        # netns_unavailable_reason()'s throwaway namespaces live for milliseconds; one whose
        # prober died in that window is named after the dead pid.
        for name in netns_names():
            probe = _PROBE_RE.fullmatch(name)
            if probe and fnmatch.fnmatchcase(name, prefix_pattern) and (
                    include_live or process_start_time(int(probe[1])) is None):
                ip("netns", "delete", name, check=False)
                removed.append(name)
        return removed
