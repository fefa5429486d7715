"""Camera fleets in Linux network namespaces: one namespace per camera, one bridge per fleet.

Camera *i* of a fleet lives in the network namespace ``<prefix>-<i>``, whose only interfaces
are ``lo`` and ``eth0``. ``eth0`` is one end of a veth pair; the other end, ``<prefix>-<i>`` in
the root namespace, is a port of the fleet's bridge ``<prefix>-br``. The bridge carries the
manager's address (``.1`` of the subnet), camera *i* has ``.(i+2)``. WS-Discovery multicast,
ARP, HTTP and SNMP therefore cross a real L2 segment, as on a camera LAN::

    import socket
    from simulators.fleet.netns import NetnsNetwork, entered, netns_unavailable_reason

    if (reason := netns_unavailable_reason()) is not None:
        raise SystemExit(reason)
    with NetnsNetwork(3) as net:          # bridge + 3 namespaces: ~30 ms
        cam = net.hosts[0]                # NamespaceHost(name='cf00eqh0-0', address='10.213.0.2',
                                          #   interface='eth0', mac='02:cf:0a:d5:00:02', ...)
        with entered(cam.name):           # this thread is now in the camera's namespace
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((cam.address, 3702))    # the socket stays in the namespace it was made in
        ...
    # namespaces, veths, bridge and bookkeeping are gone

A worker process (one asyncio loop) hosts many cameras by creating each camera's sockets
*synchronously* inside ``with entered(name):`` and handing them to asyncio afterwards
(``loop.create_datagram_endpoint(sock=...)``, ``asyncio.start_server(sock=...)``,
``aiohttp.web.SockSite``). Only the creating thread's namespace matters, and only at socket
creation: bind, connect and sendto later act in the socket's own namespace.

Multicast from the root namespace: what the manager/client side must do
-------------------------------------------------------------------------
The root namespace's routing table is shared with every program on the machine, so
:meth:`NetnsNetwork.create` adds no ``224.0.0.0/4`` route there (two fleets could not both own
it, and it would redirect other programs' multicast). Without help, the kernel routes
``239.255.255.250`` like any other destination, i.e. by the default route out of the
machine's real NIC: away from the cameras, and onto a network we must not send to. So:

* a sender sets ``IP_MULTICAST_IF`` to :attr:`NetnsNetwork.manager_address` (what
  :func:`set_multicast_interface` does, with TTL 1 as SOAP-over-UDP asks). Binding the sender
  to the manager address works too (for multicast with a source address and no interface,
  Linux picks the device owning that address; :meth:`~NetnsNetwork.create` verifies this
  with ``ip route get 239.255.255.250 from <manager>``), but the option is explicit;
* a receiver joins the group with the manager address as interface
  (:func:`join_group`); a join on ``INADDR_ANY`` would pick the default-route NIC.

Inside each namespace ``eth0`` is the only way out, so :meth:`~NetnsNetwork.create` adds a
``224.0.0.0/4 dev eth0`` route there: a camera's Hello or ProbeMatch multicast leaves through
``eth0`` even if its sender sets no interface. The bridge has multicast snooping off, so it
floods every group to every port like the unmanaged switch of a small camera LAN. With
snooping on, delivery would depend on IGMP reports, and group entries expire after 260 s
because nothing on the segment sends IGMP queries.

Safety: traffic stays on our segment
------------------------------------
* subnets are RFC 1918 and must not overlap any route or address of the root namespace (the
  default pool is ``10.213.0.0/16``, one block per fleet; see :func:`_pick_subnet`);
* :meth:`NetnsNetwork.create` checks with ``ip route get`` that every camera address, and
  multicast from the manager address, is routed through the fleet's bridge; otherwise it
  deletes everything it made and raises :class:`NetnsError`;
* the namespaces get no default route, so a camera can reach only its own segment.

Lifetime and leftovers
----------------------
:meth:`NetnsNetwork.destroy` deletes the veths (which also removes the ``eth0`` ends), the
namespaces, the bridge and the bookkeeping file ``/run/camfleet-netns/<prefix>.json``. It is
idempotent and skips pieces that are already gone. A namespace whose ``eth0`` is deleted
stays alive in the kernel while some process still holds a socket in it, but it is no longer
named, connected or listed anywhere. Networks still alive at interpreter exit are destroyed
by an ``atexit`` hook. After a crash (SIGKILL, power cut of the test runner), the bookkeeping
file names the owner process (pid and start time); :func:`cleanup_stale` removes networks
whose owner is gone and never touches names it did not create.

Speed
-----
``create()`` runs one ``ip -batch`` in the root namespace for all namespaces and veths, then
one ``ip -n <ns> -batch`` per namespace (started in parallel, up to 64 at a time; about 3/4
of the time), and one batch of ``ip route get``. ``destroy()`` deletes bridge and veths with
one ``ip link delete group`` (see ``_GROUP_BASE``). Medians on a 2-vCPU VM, kernel 6.18:

=========  ========  =========
cameras    create    destroy
=========  ========  =========
10         0.04 s    0.07 s
50         0.15 s    0.06 s
250        1.0 s     0.15 s
=========  ========  =========

Hosts with Docker
-----------------
If ``br_netfilter`` is loaded with ``net.bridge.bridge-nf-call-iptables=1`` (Docker does
this), frames bridged between two cameras traverse iptables FORWARD, whose policy Docker sets
to DROP: camera-to-camera traffic (one camera hearing another's Hello) is then dropped, while
manager-to-camera traffic (INPUT/OUTPUT of the root namespace) still flows. The per-bridge
``nf_call_iptables`` option cannot switch that off; an ``iptables -I FORWARD -i <bridge>
-o <bridge> -j ACCEPT`` rule, or the sysctl at 0, can. We change neither: both are
host-wide policy.

Names fit IFNAMSIZ: interface names have at most 15 characters. A prefix is lower-case
letters and digits starting with a letter; ``<prefix>-br`` and ``<prefix>-<count-1>`` must fit.
The default prefix is ``cf`` + the pid (5 base-36 digits) + a per-process counter, so
parallel pytest-xdist workers and several fleets in one process never collide.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import fnmatch
import functools
import ipaddress
import itertools
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from devmgr.files import write_atomic
from devmgr.protocols.multicast import join_group, send_from

__all__ = [
    "DEFAULT_POOL",
    "NamespaceHost",
    "NetnsError",
    "NetnsNetwork",
    "cleanup_stale",
    "current_namespace_inode",
    "entered",
    "join_group",
    "netns_unavailable_reason",
    "set_multicast_interface",
    "socket_in",
]

_LOG = logging.getLogger(__name__)

#: linux/sched.h
CLONE_NEWNET = 0x40000000
#: Where ``ip netns add`` bind-mounts named namespaces.
NETNS_DIR = Path("/run/netns")
#: Our bookkeeping: one JSON file per live fleet; the directory is removed when the last fleet
#: goes. Under /run, usually a tmpfs cleared at reboot with the namespaces and links it
#: describes; where it is not, records of dead owners are ignored and removed by
#: cleanup_stale().
STATE_DIR = Path("/run/camfleet-netns")
#: The inter-process lock (an empty file in the FHS place for lock files; it stays there).
LOCK_FILE = Path("/run/lock/camfleet-netns.lock")
#: Pool the default subnets are carved from. 10/8 is private; 213 is arbitrary, chosen away
#: from 10.0/16 and 10.1/16 (home and office LANs, VPNs) and from the ranges Docker (172.17/16,
#: 192.168/20 pools), libvirt (192.168.122/24) and Kubernetes (10.96/12, 10.244/16) take.
DEFAULT_POOL = ipaddress.IPv4Network("10.213.0.0/16")
#: RFC 1918: the only ranges a caller-supplied subnet may come from.
_PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                     "192.168.0.0/16"))
#: IFNAMSIZ is 16 including the terminating NUL.
_IFNAME_MAX = 15
_PREFIX_RE = re.compile(r"[a-z][a-z0-9]*")
_PROBE_RE = re.compile(r"cfprobe(\d+)-\d+")
_MAC_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
#: Marks our bridges in ``ip link`` output (ifalias), for humans and :func:`cleanup_stale`.
_ALIAS_MARK = "camfleet-netns"
#: How many ``ip -n`` processes create() runs at once.
_PARALLEL = 64
#: Device groups of our links: 0x6366xxxx ("cf"). A fleet puts its bridge and veths in one
#: group so destroy() deletes them all with one ``ip link delete group``: the kernel then
#: unregisters them in one batch (~35 ms for 50 veths) instead of one RCU grace period per
#: device (~20 ms *each* here).
_GROUP_BASE = 0x63660000
#: The WS-Discovery group; create() checks that multicast from the manager reaches the bridge.
_PROBE_GROUP = "239.255.255.250"

_counter = itertools.count()
_live: set[NetnsNetwork] = set()
_live_lock = threading.Lock()
_lock_depth = threading.local()


class NetnsError(RuntimeError):
    """A namespace fleet could not be created, checked or entered."""


@dataclass(frozen=True)
class NamespaceHost:
    """One camera's place on the fleet segment (plain data: picklable for worker processes)."""

    #: Namespace name, for :func:`entered` and ``ip -n``.
    name: str
    #: The camera's IPv4 address on ``interface``.
    address: str
    #: The camera-side interface inside the namespace.
    interface: str
    #: MAC of ``interface`` (what ARP, and an SNMP ifPhysAddress that tells the truth, show).
    mac: str
    #: The veth end in the root namespace, a port of the bridge.
    host_interface: str = ""
    index: int = 0

    def entered(self) -> contextlib.AbstractContextManager[None]:
        """``with host.entered():`` is ``with entered(host.name):``."""
        return entered(self.name)


# -- entering namespaces ---------------------------------------------------------------------

@functools.cache
def _libc_setns() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    setns = libc.setns
    setns.argtypes = (ctypes.c_int, ctypes.c_int)
    setns.restype = ctypes.c_int
    return setns


def _setns(fd: int) -> None:
    if _libc_setns()(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


def _namespace_path(namespace: str | os.PathLike[str]) -> Path:
    path = Path(namespace)
    return path if path.is_absolute() else NETNS_DIR / path


def current_namespace_inode() -> int:
    """Inode of the calling *thread's* network namespace (``/proc/thread-self/ns/net``)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


@contextlib.contextmanager
def entered(namespace: str | os.PathLike[str]) -> Iterator[None]:
    """Run the body with the calling thread in ``namespace``, then switch back.

    ``namespace`` is a name under ``/run/netns`` (as ``ip netns`` makes them) or an absolute
    path to a namespace file (``/proc/<pid>/ns/net``). Sockets created in the body belong to
    that namespace for their whole life; nothing else about them changes on exit.

    Per thread: setns() moves only the calling thread, so other threads, the asyncio loop's
    executor threads, and subprocesses started before are unaffected. That is also why the
    thread to return to is read from ``/proc/thread-self/ns/net``: ``/proc/self`` names the
    process's main thread, which may be elsewhere. Nested use works (each level returns to
    where it started).

    In async code the body must not ``await``: any task that ran meanwhile on the same loop
    thread would create its sockets in this namespace. Create sockets synchronously inside,
    hand them to asyncio outside (``create_datagram_endpoint(sock=...)``).

    If switching back fails (it does not, short of the kernel refusing), the thread would be
    stranded in ``namespace``; that raises :class:`NetnsError`, chained to the cause.
    """
    path = _namespace_path(namespace)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NetnsError(f"no network namespace {namespace!s} (looked at {path})") from None
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            try:
                _setns(original)
            except OSError as exc:
                raise NetnsError(f"could not return this thread from {namespace!s} to its "
                                 "original network namespace") from exc
    finally:
        os.close(original)


def socket_in(namespace: str | os.PathLike[str], family: int = socket.AF_INET,
              kind: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
    """A new socket that belongs to ``namespace`` (created there, returned unbound)."""
    with entered(namespace):
        return socket.socket(family, kind, proto)


# -- multicast helpers -----------------------------------------------------------------------

def set_multicast_interface(sock: socket.socket, interface_address: str, ttl: int = 1) -> None:
    """Send this socket's multicast out of the interface owning ``interface_address``.

    In the root namespace pass :attr:`NetnsNetwork.manager_address`: without it multicast
    follows the default route off the machine. TTL 1 keeps it on the segment (SOAP-over-UDP).
    """
    send_from(sock, interface_address, ttl=ttl)


# -- running ip ------------------------------------------------------------------------------

@functools.cache
def _ip_path() -> str | None:
    # /usr/sbin is not on every PATH (sudo, minimal containers).
    candidates = ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
    return shutil.which("ip") or next((p for p in candidates if os.access(p, os.X_OK)), None)


def _ip_command(*args: str, namespace: str | None = None) -> list[str]:
    ip = _ip_path()
    if ip is None:
        raise NetnsError("the 'ip' command (iproute2) is not installed")
    return [ip, *(("-n", namespace) if namespace else ()), *args]


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    result = subprocess.run(_ip_command(*args, namespace=namespace), capture_output=True,
                            text=True, check=False)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _batch_command(force: bool, namespace: str | None, json_out: bool) -> list[str]:
    return _ip_command(*(("-j",) if json_out else ()), *(("-force",) if force else ()),
                       "-batch", "-", namespace=namespace)


def _ip_batch(lines: Iterable[str], *, namespace: str | None = None, force: bool = False,
              json_out: bool = False) -> str:
    """One ``ip`` process for many commands (one process per command costs ~2 ms each)."""
    script = "".join(f"{line}\n" for line in lines)
    result = subprocess.run(_batch_command(force, namespace, json_out), input=script,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 and not force:
        where = f" in namespace {namespace}" if namespace else ""
        raise NetnsError(f"ip -batch{where} failed: {result.stderr.strip()}")
    return result.stdout


def _ip_batches_parallel(scripts: dict[str, list[str]]) -> None:
    """``ip -n <ns> -batch`` for each namespace, ``_PARALLEL`` processes at a time."""
    items = list(scripts.items())
    errors: list[str] = []
    for start in range(0, len(items), _PARALLEL):
        running = []
        for namespace, lines in items[start:start + _PARALLEL]:
            proc = subprocess.Popen(_batch_command(False, namespace, False),
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            running.append((namespace, lines, proc))
        for namespace, lines, proc in running:
            _, stderr = proc.communicate("".join(f"{line}\n" for line in lines))
            if proc.returncode != 0:
                errors.append(f"{namespace}: {stderr.strip()}")
    if errors:
        raise NetnsError("configuring namespaces failed: " + "; ".join(errors))


def _json_values(text: str) -> list[Any]:
    """The JSON values of ``ip -j -batch`` output (one array per command, concatenated)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)


def _netns_names() -> list[str]:
    # `ip netns list` prints "name (id: 3)"; the directory is the ground truth and cheaper.
    try:
        return sorted(entry.name for entry in os.scandir(NETNS_DIR) if entry.is_file())
    except FileNotFoundError:
        return []


def _links() -> list[dict[str, Any]]:
    return [link for link in json.loads(_ip("-j", "link", "show") or "[]")
            if isinstance(link, dict)]


# -- availability ----------------------------------------------------------------------------

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
    if _ip_path() is None:
        return "the 'ip' command (iproute2) is not installed: apt-get install iproute2"
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "/proc/thread-self/ns/net is missing (is /proc mounted? Linux >= 3.17 needed)"
    probe = f"cfprobe{os.getpid()}-{next(_counter)}"
    try:
        _ip("netns", "add", probe)
    except (NetnsError, OSError) as exc:
        return f"'ip netns add' does not work here: {exc}"
    try:
        _ip_batch(["link add name cfprobe-br type bridge",
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
        _ip("netns", "delete", probe, check=False)
    return None


# -- bookkeeping and ownership ---------------------------------------------------------------

def _process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: tells a live owner from a recycled pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _owner_alive(record: dict[str, Any]) -> bool:
    try:
        pid, start = int(record["pid"]), int(record["start_time"])
    except (KeyError, TypeError, ValueError):
        return False
    return _process_start_time(pid) == start


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
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


def _record_path(prefix: str) -> Path:
    return STATE_DIR / f"{prefix}.json"


def _read_records() -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(FileNotFoundError):
        for path in STATE_DIR.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(path.read_text())
                if isinstance(record, dict) and record.get("prefix") == path.stem:
                    records[path.stem] = record
    return records


def _parse_alias(alias: str) -> dict[str, Any] | None:
    """Our bridge alias: ``camfleet-netns pid=<pid> start=<ticks> subnet=<cidr> group=<n>``."""
    words = alias.split()
    if not words or words[0] != _ALIAS_MARK:
        return None
    fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    return {"pid": fields.get("pid"), "start_time": fields.get("start"),
            "subnet": fields.get("subnet"), "group": fields.get("group")}


def _record_group(record: dict[str, Any] | None) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(record["group"])  # type: ignore[index]
    return None


def _pick_group(links: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]]) -> int:
    """A device group no link and no live fleet uses (called under :func:`_state_lock`)."""
    used = {str(link.get("group")) for link in links}
    used |= {str(_record_group(record)) for record in records}
    for group in range(_GROUP_BASE + 1, _GROUP_BASE + 0x10000):
        if str(group) not in used:
            return group
    raise NetnsError("no free device group for a fleet network")


def _default_prefix() -> str:
    pid = _base36(os.getpid()).rjust(5, "0")  # pid_max is at most 2**22 < 36**5
    return f"cf{pid}{_base36(next(_counter))}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out


# -- subnets ---------------------------------------------------------------------------------

def _networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route (all tables, except default routes) and address of the root namespace."""
    used: list[ipaddress.IPv4Network] = []
    for route in json.loads(_ip("-4", "-j", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                used.append(ipaddress.IPv4Network(dst, strict=False))
    for link in json.loads(_ip("-4", "-j", "addr", "show") or "[]"):
        for info in link.get("addr_info", []):
            with contextlib.suppress(ValueError, KeyError):
                used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}",
                                                  strict=False))
    return used


def _prefixlen_for(count: int) -> int:
    # network + broadcast + manager + count cameras; at least a /24, the usual camera LAN.
    needed = count + 3
    bits = max(8, (needed - 1).bit_length())
    return 32 - bits


def _check_subnet(subnet: ipaddress.IPv4Network, count: int,
                  used: Sequence[ipaddress.IPv4Network]) -> None:
    if not any(subnet.subnet_of(private) for private in _PRIVATE):
        raise NetnsError(f"subnet {subnet} is not RFC 1918 private address space (10/8, "
                         "172.16/12, 192.168/16): a fleet segment must not shadow real hosts")
    if subnet.num_addresses < count + 3:
        raise NetnsError(f"subnet {subnet} has no room for the manager and {count} cameras")
    clash = next((net for net in used if net.overlaps(subnet)), None)
    if clash is not None:
        raise NetnsError(f"subnet {subnet} overlaps {clash}, already routed or assigned in the "
                         "root namespace; pick another one")


def _pick_subnet(count: int, used: Sequence[ipaddress.IPv4Network],
                 taken: Sequence[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """First block of DEFAULT_POOL that overlaps nothing in use and no live fleet's subnet.

    Called under :func:`_state_lock`, and the chosen block is routed (bridge address added)
    before the lock is released, so concurrent fleets always get different blocks.
    """
    for block in DEFAULT_POOL.subnets(new_prefix=_prefixlen_for(count)):
        if not any(block.overlaps(net) for net in (*used, *taken)):
            return block
    raise NetnsError(f"no free /{_prefixlen_for(count)} left in {DEFAULT_POOL} for {count} "
                     "cameras; pass subnet= explicitly")


def _mac_for(address: ipaddress.IPv4Address) -> str:
    """Deterministic, locally administered unicast MAC: 02:cf + the four address bytes."""
    return "02:cf:" + ":".join(f"{byte:02x}" for byte in address.packed)


def _normalize_mac(mac: str) -> str:
    mac = mac.strip().lower().replace("-", ":")
    if not _MAC_RE.fullmatch(mac):
        raise ValueError(f"not a MAC address: {mac!r} (want aa:bb:cc:dd:ee:ff)")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"{mac} is a multicast MAC; an interface needs a unicast one")
    if mac == "00:00:00:00:00:00":
        raise ValueError("00:00:00:00:00:00 is not a usable interface MAC")
    return mac


# -- the fleet network -----------------------------------------------------------------------

@dataclass
class _Layout:
    subnet: ipaddress.IPv4Network
    manager: ipaddress.IPv4Address
    group: int
    hosts: list[NamespaceHost] = field(default_factory=list)


class NetnsNetwork:
    """A bridge plus ``count`` namespaces, one per camera, for one fleet.

    ``prefix`` names everything (``<prefix>-br``, ``<prefix>-<i>``) and defaults to one unique
    per process and instance. ``subnet`` defaults to the first free block of
    :data:`DEFAULT_POOL` (``/24`` up to 253 cameras, larger beyond), chosen under an
    inter-process lock so concurrent fleets never share one; a given subnet must be RFC 1918
    and overlap nothing routed in the root namespace. ``macs`` sets camera *i*'s ``eth0`` MAC
    (e.g. the MAC in its spec, so the simulated camera reports its real interface MAC); None
    entries, or no list, give ``02:cf:<address bytes>``.
    """

    def __init__(self, count: int, *, prefix: str | None = None,
                 subnet: str | ipaddress.IPv4Network | None = None,
                 macs: Sequence[str | None] | None = None, interface: str = "eth0") -> None:
        if count < 1:
            raise ValueError(f"a fleet needs at least one camera, got count={count}")
        self.count = count
        self.prefix = prefix if prefix is not None else _default_prefix()
        if not _PREFIX_RE.fullmatch(self.prefix):
            raise ValueError(f"prefix {self.prefix!r}: lower-case letters and digits, starting "
                             "with a letter")
        longest = max(len(self.bridge), len(self._veth(count - 1)))
        if longest > _IFNAME_MAX:
            raise ValueError(f"prefix {self.prefix!r} is too long for {count} cameras: interface "
                             f"names would have {longest} characters, IFNAMSIZ allows "
                             f"{_IFNAME_MAX}")
        if not _PREFIX_RE.fullmatch(interface) or len(interface) > _IFNAME_MAX:
            raise ValueError(f"bad interface name {interface!r}")
        self.interface = interface
        self._requested_subnet = (ipaddress.IPv4Network(subnet) if subnet is not None else None)
        mac_list = list(macs) if macs is not None else []
        if len(mac_list) > count:
            raise ValueError(f"{len(mac_list)} MACs for {count} cameras")
        self._macs: list[str | None] = [None if m is None else _normalize_mac(m)
                                        for m in mac_list] + [None] * (count - len(mac_list))
        given = [m for m in self._macs if m is not None]
        if len(set(given)) != len(given):
            raise ValueError("duplicate MACs: the bridge could not tell those cameras apart")
        self._layout: _Layout | None = None
        self._creator_pid = os.getpid()
        #: Set once create() starts making things, so destroy() never deletes the names of a
        #: live network of someone else that made our create() refuse.
        self._owned = False

    # -- names and addresses ------------------------------------------------------------------
    @property
    def bridge(self) -> str:
        """The bridge in the root namespace; it carries :attr:`manager_address`."""
        return f"{self.prefix}-br"

    def _veth(self, index: int) -> str:
        return f"{self.prefix}-{index}"

    def namespace(self, index: int) -> str:
        """Name of camera ``index``'s namespace (``<prefix>-<index>``)."""
        return f"{self.prefix}-{index}"

    @property
    def created(self) -> bool:
        return self._layout is not None

    def _require(self) -> _Layout:
        if self._layout is None:
            raise NetnsError(f"fleet network {self.prefix} is not created (call create())")
        return self._layout

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return self._require().subnet

    @property
    def manager_address(self) -> str:
        """The root namespace's address on the bridge (.1): bind, IP_MULTICAST_IF, joins."""
        return str(self._require().manager)

    @property
    def hosts(self) -> list[NamespaceHost]:
        """Camera i's namespace, address, interface and MAC, in index order."""
        return list(self._require().hosts)

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self) -> NetnsNetwork:
        """Build bridge, namespaces and veths; check the routes; return self.

        On any failure everything made so far is deleted before the error propagates.
        """
        if self._layout is not None:
            raise NetnsError(f"fleet network {self.prefix} already exists")
        with _state_lock():
            self._clear_stale_same_prefix()
            used = _networks_in_use()
            if self._requested_subnet is not None:
                subnet = self._requested_subnet
                _check_subnet(subnet, self.count, used)
            else:
                taken = [ipaddress.IPv4Network(record["subnet"])
                         for record in _read_records().values()
                         if record.get("subnet") and _owner_alive(record)]
                subnet = _pick_subnet(self.count, used, taken)
            addresses = list(itertools.islice(subnet.hosts(), self.count + 1))
            layout = _Layout(subnet=subnet, manager=addresses[0],
                             group=_pick_group(_links(), [r for r in _read_records().values()
                                                         if _owner_alive(r)]))
            for index, address in enumerate(addresses[1:]):
                layout.hosts.append(NamespaceHost(
                    name=self.namespace(index), address=str(address), interface=self.interface,
                    mac=self._macs[index] or _mac_for(address),
                    host_interface=self._veth(index), index=index))
            if len({host.mac for host in layout.hosts}) != self.count:
                raise ValueError("a given MAC equals another camera's default MAC")
            # Bookkeeping first and the bridge next, so that a crash at any later point leaves
            # something cleanup_stale() can find and attribute.
            self._layout = layout
            self._owned = True
            try:
                self._write_record()
                self._create_bridge()
            except BaseException:
                self.destroy()
                raise
        try:
            self._create_namespaces()
            self._verify_routes()
        except BaseException:
            self.destroy()
            raise
        with _live_lock:
            _live.add(self)
        return self

    def _write_record(self) -> None:
        layout = self._require()
        record = {"prefix": self.prefix, "pid": os.getpid(),
                  "start_time": _process_start_time(os.getpid()), "subnet": str(layout.subnet),
                  "group": layout.group, "count": self.count, "created": time.time()}
        STATE_DIR.mkdir(mode=0o755, exist_ok=True)
        write_atomic(_record_path(self.prefix), json.dumps(record).encode())

    def _create_bridge(self) -> None:
        layout = self._require()
        alias = (f"{_ALIAS_MARK} pid={os.getpid()} start={_process_start_time(os.getpid())} "
                 f"subnet={layout.subnet} group={layout.group}")
        # Snooping off: flood every group to every port (see the module docstring). STP off
        # and forward_delay 0: ports forward as soon as they are up.
        _ip_batch([
            f"link add name {self.bridge} address {_mac_for(layout.manager)} "
            f"group {layout.group} type bridge "
            "stp_state 0 forward_delay 0 mcast_snooping 0",
            f"link set dev {self.bridge} alias \"{alias}\"",
            f"addr add {layout.manager}/{layout.subnet.prefixlen} dev {self.bridge}",
            f"link set dev {self.bridge} up",
        ])

    def _create_namespaces(self) -> None:
        layout = self._require()
        lines = [f"netns add {host.name}" for host in layout.hosts]
        for host in layout.hosts:
            # The peer is created directly inside the namespace under its final name, with its
            # final MAC: no rename, no move, no window where it exists in the root namespace.
            lines.append(f"link add name {host.host_interface} group {layout.group} "
                         f"type veth peer name "
                         f"{host.interface} address {host.mac} netns {host.name}")
            lines.append(f"link set dev {host.host_interface} master {self.bridge} up")
        _ip_batch(lines)
        prefixlen = layout.subnet.prefixlen
        _ip_batches_parallel({host.name: [
            "link set dev lo up",
            f"addr add {host.address}/{prefixlen} dev {host.interface}",
            f"link set dev {host.interface} up",
            # The namespace is ours and eth0 its only way out: multicast goes there.
            f"route add 224.0.0.0/4 dev {host.interface}",
        ] for host in layout.hosts})

    def _verify_routes(self) -> None:
        """``ip route get`` for every camera address (and multicast from the manager)."""
        layout = self._require()
        lines = [f"route get {host.address}" for host in layout.hosts]
        lines.append(f"route get {_PROBE_GROUP} from {layout.manager}")
        answers = _json_values(_ip_batch(lines, json_out=True))
        if len(answers) != len(lines):
            raise NetnsError(f"ip route get: {len(answers)} answers to {len(lines)} questions")
        for line, answer in zip(lines, answers, strict=True):
            route = answer[0] if answer else {}
            if route.get("dev") != self.bridge or route.get("type", "unicast") not in (
                    "unicast", "multicast"):
                raise NetnsError(
                    f"refusing to use fleet network {self.prefix}: '{line}' answers "
                    f"{route or 'nothing'}, not our bridge {self.bridge}; traffic for it could "
                    "leave the segment. Pick another subnet.")

    def destroy(self) -> None:
        """Delete everything :meth:`create` made. Idempotent; missing pieces are fine.

        Raises :class:`NetnsError` only if something of ours is still there afterwards.
        """
        with _live_lock:
            _live.discard(self)
        if not self._owned:
            return
        with _state_lock():
            _teardown(self.prefix, range(self.count),
                      self._layout.group if self._layout is not None else None)
        self._layout = None
        self._owned = False

    def __enter__(self) -> NetnsNetwork:
        return self.create()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.destroy()

    def __repr__(self) -> str:
        where = f" {self._layout.subnet}" if self._layout else " (not created)"
        return f"<NetnsNetwork {self.prefix} x{self.count}{where}>"

    def _clear_stale_same_prefix(self) -> None:
        """A leftover with our prefix (pid reused after a crash) is removed; a live one is not."""
        record = _read_records().get(self.prefix)
        bridge = next((link for link in _links() if link.get("ifname") == self.bridge), None)
        leftovers = [name for name in _netns_names() if _owned_name(self.prefix, name)]
        if record is None and bridge is None and not leftovers:
            return
        owner = record or (_parse_alias(bridge.get("ifalias", "")) if bridge else None)
        if owner is not None and _owner_alive(owner):
            raise NetnsError(f"fleet network {self.prefix} already exists and its owner (pid "
                             f"{owner.get('pid')}) is alive; choose another prefix")
        if record is None and (bridge is None or owner is None):
            raise NetnsError(f"names of fleet network {self.prefix} are taken by something that "
                             "is not ours; choose another prefix")
        _LOG.warning("removing stale fleet network %s left by pid %s", self.prefix,
                     owner.get("pid") if owner else "?")
        _teardown(self.prefix, None, _record_group(owner))


def _owned_name(prefix: str, name: str) -> bool:
    head, sep, tail = name.rpartition("-")
    return head == prefix and bool(sep) and tail.isdigit()


def _teardown(prefix: str, indexes: Iterable[int] | None, group: int | None) -> None:
    """Delete veths, namespaces, bridge and record of ``prefix``; None = whatever exists.

    Callers hold :func:`_state_lock`.
    """
    bridge = f"{prefix}-br"
    links = _links()
    if indexes is None:
        names = {name for name in _netns_names() if _owned_name(prefix, name)}
        names |= {str(link.get("ifname", "")) for link in links
                  if _owned_name(prefix, str(link.get("ifname", "")))}
    else:
        names = {f"{prefix}-{index}" for index in indexes}
    ours = names | {bridge}
    present = {str(link.get("ifname", "")) for link in links}
    in_group = {str(link.get("ifname", "")) for link in links
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
    netns = set(_netns_names())
    lines += [f"netns delete {name}" for name in sorted(names & netns)]
    if bridge in present:
        lines.append(f"link delete dev {bridge}")
    if lines:
        _ip_batch(lines, force=True)  # -force: keep going past pieces that vanished meanwhile
    with contextlib.suppress(FileNotFoundError):
        _record_path(prefix).unlink()
    # Under _state_lock (every caller holds it), so no create() is between mkdir and write.
    with contextlib.suppress(OSError):  # not empty: other fleets live
        STATE_DIR.rmdir()
    left = sorted({*(n for n in _netns_names() if n in names),
                   *(str(link.get("ifname")) for link in _links() if link.get("ifname") in ours)})
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
    with _state_lock():
        owners: dict[str, dict[str, Any]] = dict(_read_records())
        for link in _links():
            name = str(link.get("ifname", ""))
            alias = _parse_alias(str(link.get("ifalias", "")))
            if alias is not None and name.endswith("-br"):
                owners.setdefault(name.removesuffix("-br"), alias)
        removed = []
        for prefix, owner in sorted(owners.items()):
            if not _PREFIX_RE.fullmatch(prefix) or not fnmatch.fnmatchcase(prefix, prefix_pattern):
                continue
            if _owner_alive(owner) and not include_live:
                continue
            _LOG.info("removing stale fleet network %s (owner pid %s)", prefix, owner.get("pid"))
            _teardown(prefix, None, _record_group(owner))
            removed.append(prefix)
        # netns_unavailable_reason()'s throwaway namespaces live for milliseconds; one whose
        # prober died in that window is named after the dead pid.
        for name in _netns_names():
            probe = _PROBE_RE.fullmatch(name)
            if probe and fnmatch.fnmatchcase(name, prefix_pattern) and (
                    include_live or _process_start_time(int(probe[1])) is None):
                _ip("netns", "delete", name, check=False)
                removed.append(name)
        return removed


@atexit.register
def _destroy_live_networks() -> None:
    with _live_lock:
        # A child forked after create() inherits _live; the network is its parent's to delete.
        networks = [net for net in _live if net._creator_pid == os.getpid()]
    for network in networks:
        with contextlib.suppress(Exception):
            network.destroy()
