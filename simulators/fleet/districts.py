"""Districts of a simulated city: each district's cameras on a segment of their own, reachable
only from that district's collector, which reaches the broker and the registry as well.

    from simulators.fleet.districts import District
    from simulators.fleet.netns import netns_unavailable_reason

    services = {"broker": ("127.0.0.1", 5672), "registry": ("127.0.0.1", 5432)}
    with District("east", east_members, services=services) as east, \\
            District("west", west_members, services=services) as west:
        east.targets()                    # east's cameras as targets of district "east"
        east.collector.namespace          # where east's collector runs
        east.collector.service("broker")  # (host, port) of the broker, as the namespace sees it
        east.collector.url("broker", "amqp://guest:guest@127.0.0.1:5672//")  # the same, a URL
        east.collector.popen(["devmgr", "collector", "--queue", "east", ...])
    # cameras, collector processes, namespaces, veths, bridges and relays are gone

The layout of one district (``<f>``: the camera fleet's prefix, ``<u>``: the uplink's)::

    root namespace: 127.0.0.1:5672 broker, 127.0.0.1:5432 registry
      │  relays (TcpRelay) listening on 10.213.B.1, one per service
      ├─ <u>-br 10.213.B.1 ── <u>-0 ═══ uplink  10.213.B.2  ┐ the collector's namespace <u>-0:
      │                                                      │ these two legs, no default route
      └─ <f>-br 10.213.A.1 ┬─ <u>-1 ═══ cameras 10.213.A.n  ┘
                           └─ <f>-i ═══ eth0 10.213.A.(i+2)   camera i's namespace <f>-i

* the cameras are a ``Fleet(backend="netns")`` (``simulators.fleet.netns``): their namespaces
  have no default route, so they answer their own segment only;
* the collector's namespace is a one-host :class:`~simulators.fleet.netns.NetnsNetwork` (the
  *uplink*: bookkeeping, route checks, :func:`~simulators.fleet.netns.cleanup_stale` after a
  crash) with a second leg, a veth port on the district's bridge, at the address after the
  district's last camera. Its routing table holds its two connected subnets and nothing else
  (multicast goes to the cameras' leg), so another district's cameras are unreachable from
  it (``connect`` fails at once: no route), and it cannot be a path between districts;
* PostgreSQL and RabbitMQ listen on 127.0.0.1 of the root namespace, which no other
  namespace can reach: a :class:`~simulators.fleet.relay.TcpRelay` per service listens on the
  uplink bridge's address (the root namespace's end) and forwards to it. Nothing about the
  services, and nothing host-wide (sysctls, iptables), is changed.

The root namespace still holds an address on every district bridge (the fleet's manager
address), as a netns fleet always does: the test process, like the coordinator, may look at
every camera. Camera-to-collector frames are bridged, so on a host where ``br_netfilter``
sends bridged frames through an iptables FORWARD chain that drops them (Docker's), the
collector would not reach its own cameras either; we change neither (host-wide policy).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from camfleet.targets import TargetsFile
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember
from simulators.fleet.netns import NetnsError, NetnsNetwork, socket_in
from simulators.fleet.netns._iproute import ip, ip_batch, ip_path, json_values
from simulators.fleet.relay import TcpRelay

__all__ = ["CollectorNamespace", "District", "segment_of"]

#: The collector namespace's interfaces: towards the services, and towards its cameras.
UPLINK, CAMERAS = "uplink", "cameras"


def segment_of(address: str) -> tuple[str, ipaddress.IPv4Network]:
    """The root namespace's link holding ``address`` (a fleet's manager address: its bridge),
    and that address's subnet."""
    for link in json_values(ip("-j", "-4", "addr", "show"))[0]:
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return str(link["ifname"]), ipaddress.IPv4Network(
                    f"{address}/{info['prefixlen']}", strict=False)
    raise NetnsError(f"no link of the root namespace holds {address}")


class CollectorNamespace:
    """A namespace with one leg, at ``address``, on the camera segment whose root-namespace
    address is ``segment``, and an uplink on which ``services`` (name -> host, port in the
    root namespace) are relayed (see the module)."""

    def __init__(self, segment: str, address: str,
                 services: Mapping[str, tuple[str, int]]) -> None:
        self.segment = segment
        self.address = address
        self._services = dict(services)
        self._uplink: NetnsNetwork | None = None
        self._leg: str | None = None
        self._relays: dict[str, TcpRelay] = {}
        self._processes: list[subprocess.Popen[Any]] = []

    @property
    def namespace(self) -> str:
        """The namespace's name (``ip netns exec``, :func:`~simulators.fleet.netns.entered`)."""
        if self._uplink is None:
            raise NetnsError("the collector namespace is not created")
        return self._uplink.namespace(0)

    def service(self, name: str) -> tuple[str, int]:
        """Where a process in the namespace reaches service ``name``: (host, port)."""
        relay = self._relays[name]
        return relay.host, relay.port

    def url(self, name: str, url: str) -> str:
        """``url`` of service ``name`` (``amqp://guest:guest@127.0.0.1:5672//``, a SQLAlchemy
        URL) with its host and port replaced by :meth:`service`'s: as the namespace sees it."""
        parts = urlsplit(url)
        user, at, _ = parts.netloc.rpartition("@")
        host, port = self.service(name)
        return parts._replace(netloc=f"{user}{at}{host}:{port}").geturl()

    def relay(self, name: str) -> TcpRelay:
        """Service ``name``'s relay: :meth:`TcpRelay.cut` it to cut the district's link."""
        return self._relays[name]

    def reaches(self, address: str, port: int, timeout: float = 3.0) -> bool:
        """Whether a TCP connection to ``address:port`` opens from the namespace."""
        with socket_in(self.namespace, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect((address, port))
            except OSError:
                return False
            return True

    def create(self) -> CollectorNamespace:
        """Build uplink, leg and relays; on any failure delete what was made and raise."""
        bridge, subnet = segment_of(self.segment)
        if not subnet.network_address < ipaddress.IPv4Address(self.address) \
                < subnet.broadcast_address:
            raise NetnsError(f"{self.address} is not a host address of the camera segment "
                             f"{subnet}")
        try:
            self._uplink = NetnsNetwork(1, interface=UPLINK).create()
            namespace, prefix = self.namespace, self._uplink.prefix
            # Named like a host of the uplink network (<u>-1), so cleanup_stale() and
            # teardown() find it after a crash.
            self._leg = f"{prefix}-1"
            try:
                ip_batch([f"link add name {self._leg} type veth peer name {CAMERAS} "
                          f"netns {namespace}",
                          f"link set dev {self._leg} master {bridge} up"])
            except NetnsError as exc:
                raise NetnsError(f"cannot attach the collector to {bridge} (a fleet's "
                                 f"bridge?): {exc}") from exc
            ip_batch([f"addr add {self.address}/{subnet.prefixlen} dev {CAMERAS}",
                      f"link set dev {CAMERAS} up",
                      f"route replace 224.0.0.0/4 dev {CAMERAS}"], namespace=namespace)
            for name, (host, port) in self._services.items():
                self._relays[name] = TcpRelay(port, upstream_host=host,
                                              host=self._uplink.manager_address)
        except BaseException:
            self.destroy()
            raise
        return self

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in the namespace (``ip netns exec``). Stopping it is the caller's
        part; one still running when the namespace goes is killed."""
        process = subprocess.Popen([ip_path() or "ip", "netns", "exec", self.namespace, *argv],
                                   **options)
        self._processes.append(process)
        return process

    def destroy(self) -> None:
        """Processes, relays, leg, namespace and uplink. Idempotent."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        self._processes.clear()
        for relay in self._relays.values():
            relay.close()
        self._relays.clear()
        if self._leg is not None:
            ip("link", "delete", "dev", self._leg, check=False)  # also its peer, inside
            self._leg = None
        if self._uplink is not None:
            self._uplink.destroy()
            self._uplink = None

    def __enter__(self) -> CollectorNamespace:
        return self.create()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.destroy()


class District:
    """A district: its cameras (a netns :class:`Fleet` on a bridge of its own) and its
    collector's namespace (:class:`CollectorNamespace`) on that bridge. ``fleet_options`` go
    to :class:`Fleet` (e.g. ``discovery_port``)."""

    def __init__(self, name: str, members: Sequence[FleetMember], *,
                 services: Mapping[str, tuple[str, int]], **fleet_options: Any) -> None:
        self.name = name
        self.fleet = Fleet(members, backend="netns", **fleet_options)
        self._services = dict(services)
        self._collector: CollectorNamespace | None = None

    @property
    def collector(self) -> CollectorNamespace:
        if self._collector is None:
            raise NetnsError(f"district {self.name} is not started")
        return self._collector

    def targets(self) -> TargetsFile:
        """The fleet's manifest, each target in this district (its ``district``)."""
        manifest = self.fleet.manifest()
        return manifest.model_copy(update={"targets": tuple(
            t.model_copy(update={"district": self.name}) for t in manifest.targets)})

    def start(self) -> District:
        try:
            self.fleet.start()
            last = max(ipaddress.IPv4Address(t.address) for t in self.fleet.manifest().targets)
            self._collector = CollectorNamespace(self.fleet.manager_address, str(last + 1),
                                                 self._services).create()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Collector (processes and namespace) first, then the cameras. Idempotent."""
        with contextlib.ExitStack() as stack:  # the fleet stops even if the collector fails
            stack.callback(self.fleet.stop)
            if self._collector is not None:
                self._collector.destroy()
                self._collector = None

    def __enter__(self) -> District:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
