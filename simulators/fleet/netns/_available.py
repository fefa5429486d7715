"""Whether this process can build namespace fleets at all (root, iproute2, setns), probed."""

from __future__ import annotations

import functools
import os
import sys

from simulators.fleet.netns._entering import current_namespace_inode, entered
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._iproute import ip, ip_batch, ip_path
from simulators.fleet.netns._ownership import probe_name


@functools.cache
def netns_unavailable_reason() -> str | None:
    """None if this process can build namespace fleets, else why not (for a test skip).

    Probes for real, and only inside a throwaway namespace: creates it, makes a bridge and a
    veth pair in it, enters it with setns() and comes back, then deletes it. The root
    namespace is not touched. Cached for the life of the process.
    """
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return ("network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); "
                "run as root or use the loopback backend")
    if ip_path() is None:
        return "the 'ip' command (iproute2) is not installed: apt-get install iproute2"
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "/proc/thread-self/ns/net is missing (is /proc mounted? Linux >= 3.17 needed)"
    probe = probe_name()
    try:
        ip("netns", "add", probe)
    except (NetnsError, OSError) as exc:
        return f"'ip netns add' does not work here: {exc}"
    try:
        ip_batch(["link add name cfprobe-br type bridge",
                   "link add name cfprobe-a type veth peer name cfprobe-b",
                   "link set cfprobe-a master cfprobe-br"], namespace=probe)
        before = current_namespace_inode()
        with entered(probe):
            inside = current_namespace_inode()
        if inside == before or current_namespace_inode() != before:
            return "setns() into a network namespace did not take effect"
    except (NetnsError, OSError) as exc:
        return f"bridges, veth pairs or setns() do not work here: {exc}"
    finally:
        ip("netns", "delete", probe, check=False)
    return None
