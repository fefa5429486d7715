"""``NetnsNetwork``: a bridge plus one namespace per camera, created, checked and destroyed.

:meth:`NetnsNetwork.create` verifies with ``ip route get`` that every camera address, and
multicast from the manager address, is routed through the fleet's bridge, and deletes
everything it made otherwise. Networks still alive at interpreter exit are destroyed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from camfleet.files import write_atomic
from camfleet.protocols.wsdiscovery import MULTICAST_GROUP
from simulators.fleet.netns._addressing import (
    check_subnet,
    interface_mac,
    mac_for,
    networks_in_use,
    pick_subnet,
)
from simulators.fleet.netns._entering import entered
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._iproute import (
    ip,
    ip_batch,
    ip_batches_parallel,
    json_values,
    links,
    netns_names,
)
from simulators.fleet.netns._ownership import (
    ALIAS_MARK,
    PREFIX_RE,
    STATE_DIR,
    default_prefix,
    owned_name,
    owner_alive,
    parse_alias,
    pick_group,
    process_start_time,
    read_records,
    record_group,
    record_path,
    state_lock,
    teardown,
)

#: IFNAMSIZ is 16 including the terminating NUL.
_IFNAME_MAX = 15
_LOG = logging.getLogger(__name__)

_live: set[NetnsNetwork] = set()
_live_lock = threading.Lock()


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
        self.prefix = prefix if prefix is not None else default_prefix()
        if not PREFIX_RE.fullmatch(self.prefix):
            raise ValueError(f"prefix {self.prefix!r}: lower-case letters and digits, starting "
                             "with a letter")
        longest = max(len(self.bridge), len(self._veth(count - 1)))
        if longest > _IFNAME_MAX:
            raise ValueError(f"prefix {self.prefix!r} is too long for {count} cameras: interface "
                             f"names would have {longest} characters, IFNAMSIZ allows "
                             f"{_IFNAME_MAX}")
        if not PREFIX_RE.fullmatch(interface) or len(interface) > _IFNAME_MAX:
            raise ValueError(f"bad interface name {interface!r}")
        self.interface = interface
        self._requested_subnet = (ipaddress.IPv4Network(subnet) if subnet is not None else None)
        mac_list = list(macs) if macs is not None else []
        if len(mac_list) > count:
            raise ValueError(f"{len(mac_list)} MACs for {count} cameras")
        self._macs: list[str | None] = [None if m is None else interface_mac(m)
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

    def set_link(self, namespace: str, *, up: bool) -> None:
        """Bring the bridge port of ``namespace``'s camera up or down: a camera taken off its
        pole (or whose PoE is off) has no link, so nothing of it, not even ARP, crosses."""
        host = next((h for h in self._require().hosts if h.name == namespace), None)
        if host is None or not host.host_interface:
            raise NetnsError(f"no camera namespace {namespace!r} in fleet network {self.prefix}")
        ip("link", "set", "dev", host.host_interface, "up" if up else "down")

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self) -> NetnsNetwork:
        """Build bridge, namespaces and veths; check the routes; return self.

        On any failure everything made so far is deleted before the error propagates.
        """
        if self._layout is not None:
            raise NetnsError(f"fleet network {self.prefix} already exists")
        with state_lock():
            self._clear_stale_same_prefix()
            used = networks_in_use()
            if self._requested_subnet is not None:
                subnet = self._requested_subnet
                check_subnet(subnet, self.count, used)
            else:
                taken = [ipaddress.IPv4Network(record["subnet"])
                         for record in read_records().values()
                         if record.get("subnet") and owner_alive(record)]
                subnet = pick_subnet(self.count, used, taken)
            addresses = list(itertools.islice(subnet.hosts(), self.count + 1))
            layout = _Layout(subnet=subnet, manager=addresses[0],
                             group=pick_group(links(), [r for r in read_records().values()
                                                         if owner_alive(r)]))
            for index, address in enumerate(addresses[1:]):
                layout.hosts.append(NamespaceHost(
                    name=self.namespace(index), address=str(address), interface=self.interface,
                    mac=self._macs[index] or mac_for(address),
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
        _destroy_at_exit()
        with _live_lock:
            _live.add(self)
        return self

    def _write_record(self) -> None:
        layout = self._require()
        record = {"prefix": self.prefix, "pid": os.getpid(),
                  "start_time": process_start_time(os.getpid()), "subnet": str(layout.subnet),
                  "group": layout.group, "count": self.count, "created": time.time()}
        STATE_DIR.mkdir(mode=0o755, exist_ok=True)
        write_atomic(record_path(self.prefix), json.dumps(record).encode())

    def _create_bridge(self) -> None:
        layout = self._require()
        alias = (f"{ALIAS_MARK} pid={os.getpid()} start={process_start_time(os.getpid())} "
                 f"subnet={layout.subnet} group={layout.group}")
        # Snooping off: flood every group to every port (see the module docstring). STP off
        # and forward_delay 0: ports forward as soon as they are up.
        ip_batch([
            f"link add name {self.bridge} address {mac_for(layout.manager)} "
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
        ip_batch(lines)
        prefixlen = layout.subnet.prefixlen
        ip_batches_parallel({host.name: [
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
        lines.append(f"route get {MULTICAST_GROUP} from {layout.manager}")
        answers = json_values(ip_batch(lines, json_out=True))
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
        with state_lock():
            teardown(self.prefix, range(self.count),
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
        record = read_records().get(self.prefix)
        bridge = next((link for link in links() if link.get("ifname") == self.bridge), None)
        leftovers = [name for name in netns_names() if owned_name(self.prefix, name)]
        if record is None and bridge is None and not leftovers:
            return
        owner = record or (parse_alias(bridge.get("ifalias", "")) if bridge else None)
        if owner is not None and owner_alive(owner):
            raise NetnsError(f"fleet network {self.prefix} already exists and its owner (pid "
                             f"{owner.get('pid')}) is alive; choose another prefix")
        if record is None and (bridge is None or owner is None):
            raise NetnsError(f"names of fleet network {self.prefix} are taken by something that "
                             "is not ours; choose another prefix")
        _LOG.warning("removing stale fleet network %s left by pid %s", self.prefix,
                     owner.get("pid") if owner else "?")
        teardown(self.prefix, None, record_group(owner))


@functools.cache
def _destroy_at_exit() -> None:
    """Registered when the first network is created: importing registers nothing."""
    atexit.register(_destroy_live_networks)


def _destroy_live_networks() -> None:
    with _live_lock:
        # A child forked after create() inherits _live; the network is its parent's to delete.
        networks = [net for net in _live if net._creator_pid == os.getpid()]
    for network in networks:
        with contextlib.suppress(Exception):
            network.destroy()
