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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

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
    #: Subnets a re-addressed camera moved into, each with its gateway (our bridge's address
    #: there), in the order they were added.
    extra: dict[ipaddress.IPv4Network, ipaddress.IPv4Address] = field(default_factory=dict)
    #: Cameras moved off the address they were created with: namespace -> address now.
    answering: dict[str, str] = field(default_factory=dict)
    #: The /24 :meth:`NetnsNetwork.spare_address` offers for moves to another subnet.
    spare: ipaddress.IPv4Network | None = None


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
        ip("link", "set", "dev", self._host(namespace).host_interface, "up" if up else "down")

    def _host(self, namespace: str) -> NamespaceHost:
        host = next((h for h in self._require().hosts if h.name == namespace), None)
        if host is None:
            raise NetnsError(f"no camera namespace {namespace!r} in fleet network {self.prefix}")
        return host

    # -- re-addressing (a ``readdressed`` camera) ---------------------------------------------
    def spare_address(self, index: int, *, other_subnet: bool = False) -> str:
        """A free address to re-address a camera to: the ``index``-th from the top of the
        fleet's subnet, or, with ``other_subnet``, the ``index``-th host of a /24 of the pool
        that is free now (the same one for every call; :meth:`add_address` claims it)."""
        layout = self._require()
        if other_subnet:
            if layout.spare is None:
                with state_lock():
                    layout.spare = pick_subnet(1, networks_in_use(), _fleets_subnets())
            return str(layout.spare.network_address + 10 + index)
        address = layout.subnet.broadcast_address - 1 - index
        if address <= ipaddress.IPv4Address(layout.hosts[-1].address):
            raise NetnsError(f"fleet network {self.prefix} has no spare address {index}")
        return str(address)

    def add_address(self, namespace: str, address: str) -> None:
        """Give camera ``namespace`` the address it is about to answer on, beside its current
        one (its sockets move over, then :meth:`keep_only_address` drops the old one).

        In the fleet's subnet, any host address no other camera or the manager holds.
        Elsewhere, a host of a private /24 that nothing in the root namespace routes and no
        other fleet holds: the bridge gets that /24's first host, as the subnet's gateway, and
        the camera a route to the manager's subnet through it. The camera still has no default
        route: it reaches the segment and nothing else.
        """
        layout = self._require()
        host = self._host(namespace)
        wanted = ipaddress.IPv4Address(address)
        if wanted in layout.subnet:
            subnet = layout.subnet
            others = {layout.manager, subnet.network_address, subnet.broadcast_address,
                      *(ipaddress.IPv4Address(h.address) for h in layout.hosts if h != host)}
        else:
            subnet = ipaddress.IPv4Network(f"{wanted}/24", strict=False)
            self._claim_subnet(subnet)
            others = {layout.extra[subnet], subnet.network_address, subnet.broadcast_address}
        others |= {ipaddress.IPv4Address(a) for n, a in layout.answering.items()
                   if n != host.name}
        if wanted in others:
            raise NetnsError(f"{wanted} is taken in {subnet} (its gateway or the manager, "
                             "another camera, or the subnet's own address)")
        # Back home: the route to the manager's subnet through a gateway makes way for the
        # address's own.
        lines = [f"route del {layout.subnet} via {route['gateway']}"
                 for route in _one(ip("-j", "route", "show", str(layout.subnet),
                                      namespace=host.name)) if route.get("gateway")]
        lines.append(f"addr replace {wanted}/{subnet.prefixlen} dev {host.interface}")
        with entered(host.name):
            # Else deleting the old (primary) address of the subnet takes the new one with it.
            Path(f"/proc/sys/net/ipv4/conf/{host.interface}/promote_secondaries").write_text("1")
        ip_batch(lines, namespace=host.name)
        route = (_one(ip("-j", "route", "get", str(wanted))) or [{}])[0]
        if route.get("dev") != self.bridge:
            raise NetnsError(f"refusing {wanted}: the root namespace routes it to "
                             f"{route or 'nothing'}, not our bridge {self.bridge}")

    def move_address(self, namespace: str, address: str, step: Callable[[], object]) -> None:
        """Take ``step`` (the camera's sockets moving over) with camera ``namespace`` holding
        ``address`` beside its current one, then ``address`` alone; a failed step leaves it
        where it was. Without a change of address, just the step."""
        layout = self._require()
        before = layout.answering.get(namespace, self._host(namespace).address)
        if address == before:
            step()
            return
        try:
            self.add_address(namespace, address)
            step()
        except BaseException:
            self.keep_only_address(namespace, before)
            raise
        self.keep_only_address(namespace, address)
        layout.answering[namespace] = address

    def _claim_subnet(self, subnet: ipaddress.IPv4Network) -> None:
        layout = self._require()
        if subnet in layout.extra:
            return
        with state_lock():
            check_subnet(subnet, 2, [*networks_in_use(), *_fleets_subnets()])
            gateway = next(subnet.hosts())
            ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", self.bridge)
            layout.extra[subnet] = gateway
            self._write_record()

    def keep_only_address(self, namespace: str, address: str) -> None:
        """Drop every address of camera ``namespace`` but ``address`` (its old one is dead:
        ARP for it goes unanswered); outside the fleet's subnet it reaches the manager through
        that subnet's gateway."""
        layout = self._require()
        host = self._host(namespace)
        wanted = ipaddress.IPv4Address(address)
        shown = _one(ip("-j", "addr", "show", "dev", host.interface, namespace=host.name))
        lines = [f"addr del {info['local']}/{info['prefixlen']} dev {host.interface}"
                 for link in shown for info in link.get("addr_info", [])
                 if info.get("family") == "inet" and info.get("local") != str(wanted)]
        gateway = next((gw for net, gw in layout.extra.items() if wanted in net), None)
        if gateway is not None:
            lines.append(f"route replace {layout.subnet} via {gateway} dev {host.interface}")
        if lines:
            ip_batch(lines, namespace=host.name)

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
                subnet = pick_subnet(self.count, used, _fleets_subnets())
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
                  "extra_subnets": [str(net) for net in layout.extra],
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


def _one(json_text: str) -> list[dict[str, Any]]:
    """The list ``ip -j`` printed (empty if it printed nothing)."""
    values = json_values(json_text)
    return list(values[0]) if values else []


def _fleets_subnets() -> list[ipaddress.IPv4Network]:
    """The subnets live fleets hold (their own, and those re-addressed cameras moved into)."""
    return [ipaddress.IPv4Network(net) for record in read_records().values()
            if owner_alive(record)
            for net in [record.get("subnet"), *record.get("extra_subnets", [])] if net]


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
