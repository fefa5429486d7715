"""WS-Discovery target service of one simulated camera: Hello, Bye, Probe -> ProbeMatches.

Each responder owns two UDP sockets on the camera's own address, so a fleet of cameras on
127.x.y.z addresses behaves like a LAN of cameras::

    spec = CameraSpec.example().with_network(address="127.0.0.5", discovery_port=3702)
    state = CameraState(spec)
    responder = DiscoveryResponder(
        state, "127.0.0.5", lambda: ["http://127.0.0.5:8080/onvif/device_service"])
    await responder.start()   # joins 239.255.255.250 on the camera's interface, sends Hello
    ...                       # Probes that match state's Types/Scopes get a ProbeMatches
    await responder.stop()    # sends Bye, closes both sockets

What it does, and which rule says so:

* multicast socket: bound to 239.255.255.250:port (SO_REUSEADDR, so every camera
  of a process and any client on the host share the port; Linux hands each multicast datagram
  to all of them), joined on the interface that owns the camera's address;
* unicast socket: bound to address:port; it receives unicast Probes (DISCOVERY-1-1-6) and sends
  everything, so every reply and announcement carries the camera's address as its source.
  Hello/Bye go to the group through it with IP_MULTICAST_IF = the camera's address (on Linux
  any 127/8 address selects ``lo``, e.g. 127.0.0.5 works as well as 127.0.0.1) and TTL 1
  (SOAP-over-UDP);
* a matching multicast Probe is answered after a random delay uniform in
  0..``discovery_max_delay_ms`` (WS-Discovery APP_MAX_DELAY, 500 ms, so a thousand cameras do
  not answer in the same millisecond); a unicast Probe is answered at once: the delay only
  exists to spread a multicast implosion, and a unicast sender is talking to one device;
* invalid Probes, and messages that are not Probes, get no reply at all (DISCOVERY-1-1-5);
* an unsupported MatchBy gets a SOAP fault over unicast (DISCOVERY-1-1-10) and silence over
  multicast (a fault from every camera would be the implosion the delay exists to avoid);
* a Probe seen again with the same MessageID (a SOAP-over-UDP retransmission) is not answered
  twice;
* NonDiscoverable (``state.discoverable`` false): no Hello, no Bye, and no answer to any Probe,
  multicast *or unicast*. ONVIF Core, "Modes of operation": "A device in nondiscoverable shall
  not listen to [WS-Discovery] messages or send such messages." DISCOVERY-1-1-9 checks
  only the multicast side; we follow the Core text, which covers both. Sockets stay open so
  switching back needs no rebind.

Cost: no task per camera; a datagram is one callback, a delayed reply one timer handle. The same
multicast datagram reaches every camera's socket, so Probe parsing is memoised per datagram
(:func:`_cached_probe`): one lxml parse per Probe per process, not per camera. A Probe to 1000
cameras on 127.0.x.y costs ~0.15 s CPU, with 1000 ProbeMatches back within the max delay. What
does not scale is cameras hearing each other: N cameras starting send N Hellos to N group
sockets (N² deliveries; 1000 cameras: ~9 s CPU at start and again at stop). Fleet hosts should
pass a :class:`SharedGroupSocket` (one group socket per process and interface; 1000 cameras
start in ~0.2 s CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import ipaddress
import logging
import random
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from devmgr.protocols import wsdiscovery as wsd
from devmgr.protocols.multicast import group_socket, send_from
from simulators.state import CameraState

__all__ = ["CAMERA_TYPES", "DiscoveryResponder", "ResponderState", "SharedGroupSocket"]

_LOG = logging.getLogger(__name__)

#: What an ONVIF camera announces: tds:Device (mandatory) and dn:NetworkVideoTransmitter (for
#: clients that still probe the old type).
CAMERA_TYPES: tuple[wsd.QName, ...] = (wsd.TYPE_NVT, wsd.TYPE_DEVICE)

#: MessageIDs remembered for duplicate suppression (SOAP-over-UDP retransmissions).
_RECENT_IDS = 64
#: How long stop() waits for the event loop to release a socket.
_CLOSE_TIMEOUT_S = 2.0


class ResponderState(enum.Enum):
    """Lifecycle: NEW -> RUNNING -> STOPPED (-> RUNNING again after a restart)."""

    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class DiscoveryResponder:
    """Answers WS-Discovery for one :class:`CameraState` on one IPv4 address."""

    def __init__(
        self,
        state: CameraState,
        address: str,
        xaddrs: Callable[[], list[str]],
        *,
        rng: random.Random | None = None,
        types: Iterable[wsd.QName] = CAMERA_TYPES,
        group: SharedGroupSocket | None = None,
    ) -> None:
        _check_camera_address(address)
        self.state = state
        self.address = address
        self._xaddrs = xaddrs
        self._rng = rng or random.Random()
        self._types = tuple(types)
        self._group = group
        self.lifecycle = ResponderState.NEW
        self._port = state.spec.network.discovery_port
        self._unicast: asyncio.DatagramTransport | None = None
        self._multicast: asyncio.DatagramTransport | None = None
        self._receivers: list[_Receiver] = []
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._next_key = 0
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._instance_id = 0
        self._message_number = 0
        self._boots_seen: int | None = None

    # -- public surface --------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """wsa:EndpointReference address: stable across reboots (ONVIF Core, Endpoint reference)."""
        return f"urn:uuid:{self.state.endpoint_uuid}"

    @property
    def port(self) -> int:
        """The discovery port; the one actually bound once started with port 0."""
        return self._port

    async def start(self) -> None:
        """Bind both sockets, join the group, and send Hello unless NonDiscoverable."""
        if self.lifecycle is ResponderState.RUNNING:
            raise RuntimeError(f"discovery responder on {self.address} is already running")
        loop = asyncio.get_running_loop()
        self._port = self._choose_port()
        multicast_sock = unicast_sock = None
        try:
            # Unicast first: with port 0 (tests) it picks the port the group socket then shares.
            unicast_sock = _unicast_socket(self.address, self._port)
            self._port = int(unicast_sock.getsockname()[1])
            if self._group is None:
                multicast_sock = _multicast_socket(self.address, self._port)
                multicast = _Receiver(loop, self._on_datagram, multicast=True)
                self._multicast, _ = await loop.create_datagram_endpoint(
                    lambda: multicast, sock=multicast_sock)
                self._receivers.append(multicast)
            unicast = _Receiver(loop, self._on_datagram, multicast=False)
            self._unicast, _ = await loop.create_datagram_endpoint(
                lambda: unicast, sock=unicast_sock)
            self._receivers.append(unicast)
        except BaseException:
            await self._close_transports()
            for sock in (multicast_sock, unicast_sock):
                if sock is not None:
                    sock.close()
            raise
        self.lifecycle = ResponderState.RUNNING
        if self._group is not None:
            self._group.attach(self)
        self._new_instance()
        if self.state.discoverable:
            self._send_hello()

    def _choose_port(self) -> int:
        spec_port = self.state.spec.network.discovery_port
        if self._group is None:
            # Port 0 picks a free port once; a restart (reboot) keeps it, as clients know it.
            return spec_port or self._port
        if not self._group.is_open:
            raise RuntimeError(f"camera {self.address}: open its SharedGroupSocket before "
                               "starting it")
        if spec_port not in (0, self._group.port):
            raise ValueError(f"camera {self.address} is specified on discovery port "
                             f"{spec_port} but its shared group socket is on {self._group.port}")
        return self._group.port

    async def stop(self) -> None:
        """Send Bye unless NonDiscoverable, close both sockets. Safe to call again."""
        await self._stop(say_bye=True)

    async def stop_silently(self) -> None:
        """Close both sockets without a Bye: power loss, a crash, or a start that failed."""
        await self._stop(say_bye=False)

    async def _stop(self, *, say_bye: bool) -> None:
        if self.lifecycle is not ResponderState.RUNNING:
            self.lifecycle = ResponderState.STOPPED
            return
        self._cancel_pending()
        if self._group is not None:
            self._group.detach(self)
        if say_bye and self.state.discoverable:
            try:
                self._send_bye()
            except Exception:  # a failed Bye must not keep the sockets open
                _LOG.exception("camera %s: could not send Bye", self.address)
        self.lifecycle = ResponderState.STOPPED
        await self._close_transports()

    def readdress(self, address: str) -> None:
        """Use ``address`` from the next :meth:`start` on (a ``readdressed`` unit): stop() says
        Bye from the old address, start() Hello from the new one, under the same endpoint
        reference. The port stays."""
        if self.lifecycle is ResponderState.RUNNING:
            raise RuntimeError(f"discovery responder on {self.address} is running; stop it "
                               "before giving it another address")
        _check_camera_address(address)
        self.address = address

    async def announce_hello(self) -> None:
        """Send Hello now (after a reboot, a scope change or a switch to Discoverable)."""
        self._check_running("announce Hello")
        if self.state.discoverable:
            self._send_hello()

    async def announce_bye(self) -> None:
        """Send Bye now (before a reboot or a switch to NonDiscoverable)."""
        self._check_running("announce Bye")
        if self.state.discoverable:
            self._send_bye()

    async def set_discoverable(self, discoverable: bool) -> None:
        """SetDiscoveryMode: say Bye before going quiet, Hello after coming back."""
        if discoverable == self.state.discoverable:
            return
        running = self.lifecycle is ResponderState.RUNNING
        if not discoverable:
            if running:
                await self.announce_bye()
            self.state.discoverable = False
            self._cancel_pending()
        else:
            self.state.discoverable = True
            if running:
                await self.announce_hello()

    async def __aenter__(self) -> DiscoveryResponder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- receiving -------------------------------------------------------------------------------
    def _on_datagram(self, data: bytes, addr: tuple[str, int], multicast: bool) -> None:
        # ONVIF Core, Modes of operation: NonDiscoverable devices do not listen at all.
        if self.lifecycle is not ResponderState.RUNNING or not self.state.discoverable:
            return
        probe = _probe_or_none(data)
        if probe is not None:  # DISCOVERY-1-1-5: not even a fault for what is not a Probe
            self.on_probe(probe, addr, multicast=multicast)

    def on_probe(self, probe: wsd.Probe, addr: tuple[str, int], *, multicast: bool) -> None:
        """Answer a parsed Probe from ``addr`` (entry point for :class:`SharedGroupSocket`)."""
        try:
            self._handle(probe, addr, multicast)
        except Exception:  # one bad datagram must never take the camera off the network
            _LOG.exception("camera %s: error handling a Probe from %s", self.address, addr)

    def _handle(self, probe: wsd.Probe, addr: tuple[str, int], multicast: bool) -> None:
        if self.lifecycle is not ResponderState.RUNNING or not self.state.discoverable:
            return
        if self._is_duplicate(probe.message_id):
            return
        try:
            wanted = wsd.matches(probe, self._types, self.state.all_scopes())
        except wsd.MatchingRuleNotSupported:
            if not multicast:  # DISCOVERY-1-1-10; multicast requests never get faults
                self._send(wsd.build_fault_matching_rule_not_supported(probe.message_id), addr)
            return
        if not wanted:
            return
        delay = self._reply_delay() if multicast else 0.0
        if delay <= 0.0:
            self._send_match(probe.message_id, addr, None)
            return
        key = self._next_key
        self._next_key += 1
        loop = asyncio.get_running_loop()
        self._pending[key] = loop.call_later(delay, self._send_match, probe.message_id, addr, key)

    def _is_duplicate(self, message_id: str) -> bool:
        if message_id in self._recent:
            return True
        self._recent[message_id] = None
        if len(self._recent) > _RECENT_IDS:
            self._recent.popitem(last=False)
        return False

    def _reply_delay(self) -> float:
        max_delay_ms = self.state.spec.network.discovery_max_delay_ms
        return self._rng.uniform(0.0, max_delay_ms / 1000.0) if max_delay_ms > 0 else 0.0

    # -- sending ---------------------------------------------------------------------------------
    def _send_match(self, relates_to: str, addr: tuple[str, int], key: int | None) -> None:
        if key is not None:
            self._pending.pop(key, None)
        if self.lifecycle is not ResponderState.RUNNING or not self.state.discoverable:
            return
        try:
            reply = wsd.build_probe_matches(
                relates_to, self.endpoint, types=self._types, scopes=self.state.all_scopes(),
                xaddrs=self._xaddrs(), metadata_version=self.state.metadata_version,
                app_sequence=self._next_app_sequence(),
            )
        except Exception:  # e.g. a scope with a space in it: log it, keep serving
            _LOG.exception("camera %s: cannot build ProbeMatches", self.address)
            return
        self._send(reply, addr)

    def _send_hello(self) -> None:
        hello = wsd.build_hello(
            self.endpoint, types=self._types, scopes=self.state.all_scopes(),
            xaddrs=self._xaddrs(), metadata_version=self.state.metadata_version,
            app_sequence=self._next_app_sequence(),
        )
        self._send(hello, (wsd.MULTICAST_GROUP, self._port))

    def _send_bye(self) -> None:
        bye = wsd.build_bye(self.endpoint, self._next_app_sequence())
        self._send(bye, (wsd.MULTICAST_GROUP, self._port))

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._unicast is None or self._unicast.is_closing():
            return
        # Errors (unreachable sender, full buffer) go to _Receiver.error_received, not here.
        self._unicast.sendto(data, addr)

    def _new_instance(self) -> None:
        # AppSequence/@InstanceId must grow each time the service comes back up (WS-Discovery
        # 2005, application sequencing); epoch seconds survive a simulator restart, +1 a fast one.
        self._instance_id = max(self._instance_id + 1, int(time.time()))
        self._message_number = 0
        self._boots_seen = self.state.boots

    def _next_app_sequence(self) -> wsd.AppSequence:
        if self.state.boots != self._boots_seen:  # rebooted since the last message
            self._new_instance()
        self._message_number += 1
        return wsd.AppSequence(self._instance_id, self._message_number)

    # -- housekeeping ----------------------------------------------------------------------------
    def _check_running(self, what: str) -> None:
        if self.lifecycle is not ResponderState.RUNNING:
            raise RuntimeError(f"cannot {what}: discovery responder on {self.address} is "
                               f"{self.lifecycle.value}; start() it first")

    def _cancel_pending(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    async def _close_transports(self) -> None:
        for transport in (self._multicast, self._unicast):
            if transport is not None:
                transport.close()  # a queued Bye is flushed before the socket closes
        self._multicast = self._unicast = None
        receivers, self._receivers = self._receivers, []
        if receivers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(r.closed for r in receivers)), _CLOSE_TIMEOUT_S)


class _Receiver(asyncio.DatagramProtocol):
    """Hands datagrams of one socket to the responder; tells stop() when the socket is gone."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handler: Callable[[bytes, tuple[str, int], bool], None],
        *,
        multicast: bool,
    ) -> None:
        self._handler = handler
        self._multicast = multicast
        self.closed: asyncio.Future[None] = loop.create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._handler(data, (str(addr[0]), int(addr[1])), self._multicast)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that already closed its socket, and the like.
        _LOG.debug("WS-Discovery socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class SharedGroupSocket:
    """One multicast socket for all cameras of a process on one interface: the fleet option.

    With a group socket per camera the kernel hands every multicast datagram to every camera,
    so N cameras starting (N Hellos) or stopping (N Byes) cost N² deliveries; measured on this
    2-core machine: 200 cameras 0.4 s CPU, 1000 cameras ~9 s CPU at start and again at stop.
    Shared, each datagram is received and parsed once and only Probes reach the cameras: O(N).
    Every attached camera must be on the interface that owns ``interface`` (all of 127/8 is
    ``lo``); cameras keep their own unicast socket, so replies still come from their address.

        async with SharedGroupSocket(port=3702, interface="127.0.0.1") as group:
            cameras = [DiscoveryResponder(state, addr, xaddrs, group=group) for ...]
    """

    def __init__(self, port: int = wsd.PORT, interface: str = "127.0.0.1") -> None:
        self.interface = interface
        self._port = port
        self._transport: asyncio.DatagramTransport | None = None
        self._receiver: _Receiver | None = None
        self._members: dict[DiscoveryResponder, None] = {}

    @property
    def port(self) -> int:
        """The group port; the one actually bound once opened with port 0."""
        return self._port

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    async def open(self) -> None:
        if self._transport is not None:
            raise RuntimeError(f"shared group socket on port {self._port} is already open")
        loop = asyncio.get_running_loop()
        sock = _multicast_socket(self.interface, self._port)
        self._port = int(sock.getsockname()[1])
        receiver = _Receiver(loop, self._on_datagram, multicast=True)
        try:
            self._transport, _ = await loop.create_datagram_endpoint(lambda: receiver, sock=sock)
        except BaseException:
            sock.close()
            raise
        self._receiver = receiver

    async def close(self) -> None:
        """Leave the group. Safe to call again; attached cameras keep their unicast side."""
        transport, receiver = self._transport, self._receiver
        self._transport = self._receiver = None
        self._members.clear()
        if transport is not None and receiver is not None:
            transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(receiver.closed), _CLOSE_TIMEOUT_S)

    async def __aenter__(self) -> SharedGroupSocket:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def attach(self, responder: DiscoveryResponder) -> None:
        self._members[responder] = None

    def detach(self, responder: DiscoveryResponder) -> None:
        self._members.pop(responder, None)

    def _on_datagram(self, data: bytes, addr: tuple[str, int], multicast: bool) -> None:
        probe = _probe_or_none(data)
        if probe is None:
            return  # other cameras' Hello/Bye, garbage: parsed once, nobody disturbed
        for responder in list(self._members):
            responder.on_probe(probe, addr, multicast=multicast)


def _check_camera_address(address: str) -> None:
    ip = ipaddress.ip_address(address)
    if ip.version != 4 or ip.is_unspecified or ip.is_multicast:
        # Replies must leave from the camera's own address (clients, and DISCOVERY tests,
        # take the reply's source as the camera); a wildcard or v6 address cannot give that.
        raise ValueError(f"a simulated camera needs one specific IPv4 unicast address, got "
                         f"{address!r} (IPv6 WS-Discovery, group ff02::c, is not simulated)")


def _probe_or_none(data: bytes) -> wsd.Probe | None:
    if len(data) > wsd.MAX_MESSAGE_BYTES:
        return None  # before the cache, so it never holds on to an oversized datagram
    return _cached_probe(data)


@functools.lru_cache(maxsize=256)
def _cached_probe(data: bytes) -> wsd.Probe | None:
    """The Probe in a datagram, or None; memoised because every camera gets the same bytes.

    Probe is frozen, so sharing one parsed value between cameras is safe. Non-Probes (the
    other cameras' Hellos, garbage) are memoised as None for the same reason.
    """
    try:
        return wsd.parse_probe(data)
    except wsd.InvalidMessage:
        return None


def _multicast_socket(address: str, port: int) -> socket.socket:
    try:
        return group_socket(wsd.MULTICAST_GROUP, port, [address])
    except OSError as exc:
        raise OSError(exc.errno, f"cannot join {wsd.MULTICAST_GROUP}:{port}/udp on the "
                                 f"interface of {address}: {exc.strerror}") from exc


def _unicast_socket(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # No SO_REUSEADDR/SO_REUSEPORT: two cameras given one address must fail loudly here
        # instead of silently sharing (and load-balancing) unicast Probes.
        sock.bind((address, port))
        send_from(sock, address)  # loops back: clients and monitors on this host hear Hello
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot bind WS-Discovery socket {address}:{port}/udp: "
                                 f"{exc.strerror} (another camera or program on this address? "
                                 f"is {address} assigned to an interface?)") from exc
    return sock
