"""WS-Discovery exchanges with one camera, for the DISCOVERY-1-1-x tests.

devmgr's discovery client (:mod:`devmgr.discovery.wsd`) answers "who is out there"; acceptance
tests ask narrower questions of one unit, in the ONVIF Base Device Test Specification's terms:
does it answer *this* Probe within ``DISCOVERY_TIMEOUT`` (5 s, Annex A.7), does it stay silent
for *that* one, what does it announce around a reboot. Datagrams are built by devmgr's codec
(:mod:`camfleet.protocols.wsdiscovery`) or by hand, and what comes back is kept as it came:
a reply that does not parse is evidence too.

* **unicast** (DISCOVERY-1-1-6): to the camera's own address; needs only a route;
* **multicast** (DISCOVERY-1-1-3/4/5/9): to 239.255.255.250 out of a local interface on the
  camera's segment (``--hil-interface``, or a fleet's manager address). Every camera on the
  segment hears a multicast Probe; a camera's test judges the replies from its own address;
* **announcements**: Hello and Bye from the camera's address, heard on the group;
* **the silent round** (:func:`silent_round`): a Probe that must get no reply costs
  ``DISCOVERY_TIMEOUT`` of silence. One round per process sends the invalid Probe of
  DISCOVERY-1-1-5 by multicast and to every camera of the run by unicast, with a valid Probe as
  a control (a camera that did not answer *it* was not listening, and its silence proves
  nothing), and keeps what each address sent back. The process tests one camera at a time, so
  during the round every camera it tests is at rest between tests;
* **reboots** (:func:`reboot`): SystemReboot while listening: Bye, the time down, Hello;
* **the discovery-mode round** (:func:`start_mode_round`): DISCOVERY-1-1-9's first part,
  NonDiscoverable and a multicast Probe's DISCOVERY_TIMEOUT, started ahead of its test so the
  wait runs while the camera's other tests (HTTP only) do.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket, send_from
from hil.camera import Camera
from hil.errors import InfrastructureError

__all__ = ["DISCOVERY_TIMEOUT_S", "INVALID_SCOPE", "INVALID_TYPE", "Announcements", "Heard",
           "ProbeResult", "SilentRound", "invalid_probe", "listen_while", "probe",
           "send_datagrams", "silent_round"]

#: Base Device Test Specification, Annex A.7: how long a reply may take (and a silence lasts).
DISCOVERY_TIMEOUT_S = 5.0
#: Annex A.1: a Types list without dn:NetworkVideoTransmitter or tds:Device is invalid ...
INVALID_TYPE = wsd.QName(wsd.NS_DN, "InvalidDeviceType")
#: ... and so is a scope that is not an RFC 3986 URI (here: a broken percent-encoding).
INVALID_SCOPE = "onvif://www.onvif.org/location/%G1"


@dataclass(frozen=True, slots=True)
class Heard:
    """A datagram that came back, where from, how long after the send."""

    data: bytes
    source: str
    elapsed_s: float


@dataclass
class ProbeResult:
    """What the camera sent back to one Probe."""

    message_id: str
    matches: list[wsd.ProbeMatch] = field(default_factory=list)
    faults: list[wsd.Fault] = field(default_factory=list)
    #: ProbeMatches whose RelatesTo is not the Probe's MessageID.
    unrelated: list[wsd.ProbeMatch] = field(default_factory=list)
    #: Datagrams from the camera that are no valid ProbeMatches or fault: why not.
    invalid: list[str] = field(default_factory=list)
    #: Seconds from the send to the first reply of any kind; None: nothing came.
    first_reply_s: float | None = None

    @property
    def anything(self) -> bool:
        return bool(self.matches or self.faults or self.unrelated or self.invalid)


def invalid_probe() -> tuple[str, bytes]:
    """DISCOVERY-1-1-5's Probe: an invalid device type and an invalid scope (Annex A.1)."""
    message_id = wsd.new_message_id()
    _id, datagram = wsd.build_probe([INVALID_TYPE], ["onvif://www.onvif.org/location/x"],
                                    message_id)
    return message_id, datagram.replace(b"onvif://www.onvif.org/location/x",
                                        INVALID_SCOPE.encode())


# -- sockets -------------------------------------------------------------------------------------
class _Collector(asyncio.DatagramProtocol):
    def __init__(self, began: float, stop: Callable[[Heard], bool] | None) -> None:
        self.heard: list[Heard] = []
        self.done = asyncio.Event()
        self._began = began
        self._stop = stop

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        heard = Heard(data, str(addr[0]), asyncio.get_running_loop().time() - self._began)
        self.heard.append(heard)
        if self._stop is not None and self._stop(heard):
            self.done.set()


def _sender(multicast_interface: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if multicast_interface is None:
            sock.bind(("0.0.0.0", 0))
        else:  # replies come back to the interface's address; TTL 1, as SOAP-over-UDP asks
            sock.bind((multicast_interface, 0))
            send_from(sock, multicast_interface)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise InfrastructureError(f"cannot open a UDP socket for WS-Discovery"
                                  f"{' on ' + multicast_interface if multicast_interface else ''}"
                                  f": {exc}") from exc
    return sock


@dataclass
class _Send:
    """Datagrams to send from one socket, and what that socket hears back."""

    datagrams: list[tuple[bytes, tuple[str, int]]]
    multicast_interface: str | None = None
    stop: Callable[[Heard], bool] | None = None


def _protocol(collector: _Collector) -> Callable[[], _Collector]:
    return lambda: collector


async def _exchange(sends: Sequence[_Send], wait_s: float) -> list[list[Heard]]:
    """Send from one socket per :class:`_Send` at once; listen for ``wait_s``, or until each
    socket's ``stop`` if every socket has one."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    opened: list[tuple[asyncio.DatagramTransport, _Collector]] = []
    try:
        for send in sends:
            collector = _Collector(began, send.stop)
            transport, _ = await loop.create_datagram_endpoint(
                _protocol(collector), sock=_sender(send.multicast_interface))
            opened.append((transport, collector))
        for (transport, _collector), send in zip(opened, sends, strict=True):
            for datagram, destination in send.datagrams:
                transport.sendto(datagram, destination)
        if all(send.stop is not None for send in sends):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(c.done.wait() for _t, c in opened)),
                                       wait_s)
        else:
            await asyncio.sleep(wait_s)
    finally:
        for transport, _collector in opened:
            transport.close()
    return [collector.heard for _transport, collector in opened]


def _interface(camera: Camera) -> str:
    if camera.multicast_interface is None:
        raise InfrastructureError("multicast needs a local interface on the camera's segment: "
                                  "pass --hil-interface")
    return camera.multicast_interface


def _destination(camera: Camera, multicast: bool) -> tuple[str, int]:
    return (wsd.MULTICAST_GROUP if multicast else camera.address, camera.discovery_port)


def send_datagrams(camera: Camera, datagrams: Sequence[bytes], wait_s: float, *,
                   multicast: bool = False) -> list[Heard]:
    """Send datagrams to the camera (or the group); what the camera sent back in ``wait_s``."""
    interface = _interface(camera) if multicast else None
    send = _Send([(d, _destination(camera, multicast)) for d in datagrams], interface)
    heard = camera.harness.run(_exchange([send], wait_s))[0]
    return [h for h in heard if h.source == camera.address]


def probe(camera: Camera, *, types: Sequence[wsd.QName] = (), scopes: Sequence[str] = (),
          match_by: str | None = None, multicast: bool = False,
          wait_s: float = DISCOVERY_TIMEOUT_S, until_first: bool = True,
          datagram: tuple[str, bytes] | None = None) -> ProbeResult:
    """A Probe to the camera (unicast) or its segment (multicast); what the camera sent back.
    Returns at the camera's first reply unless ``until_first`` is false (then after
    ``wait_s``). ``datagram``: a prepared (MessageID, Probe) instead of Types/Scopes."""
    return probe_later(camera, types=types, scopes=scopes, match_by=match_by,
                       multicast=multicast, wait_s=wait_s, until_first=until_first,
                       datagram=datagram).result(wait_s + 30)


def probe_later(camera: Camera, *, types: Sequence[wsd.QName] = (),
                scopes: Sequence[str] = (), match_by: str | None = None,
                multicast: bool = False, wait_s: float = DISCOVERY_TIMEOUT_S,
                until_first: bool = True,
                datagram: tuple[str, bytes] | None = None) -> Future[ProbeResult]:
    """:func:`probe`, sent now; the result comes when the wait is over."""
    message_id, data = datagram or wsd.build_probe(types, scopes, match_by=match_by)

    def first(heard: Heard) -> bool:
        return until_first and heard.source == camera.address

    interface = _interface(camera) if multicast else None
    send = _Send([(data, _destination(camera, multicast))], interface, first)

    async def exchange() -> ProbeResult:
        heard = (await _exchange([send], wait_s))[0]
        return judge_replies(message_id, [h for h in heard if h.source == camera.address])

    return camera.harness.loop.submit(exchange())


def judge_replies(message_id: str, heard: Sequence[Heard]) -> ProbeResult:
    """Sort what one camera sent back to Probe ``message_id``."""
    result = ProbeResult(message_id)
    for item in heard:
        if result.first_reply_s is None:
            result.first_reply_s = item.elapsed_s
        try:
            for match in wsd.parse_probe_matches(item.data):
                (result.matches if match.relates_to == message_id
                 else result.unrelated).append(match)
        except wsd.FaultReceived as exc:
            result.faults.append(exc.fault)
        except wsd.InvalidMessage as exc:
            result.invalid.append(str(exc))
    return result


# -- the silent round ----------------------------------------------------------------------------
@dataclass
class SilentRound:
    """One round of DISCOVERY-1-1-5 Probes (multicast and unicast) with a valid control Probe;
    what each address sent back within DISCOVERY_TIMEOUT."""

    multicast: bool
    #: The invalid Probes' MessageIDs, by way ("unicast", "multicast").
    invalid_ids: dict[str, str]
    control_id: str
    #: source address -> datagrams, per socket: "multicast", "unicast", "control".
    heard: dict[str, dict[str, list[Heard]]] = field(default_factory=dict)

    def replies(self, kind: str, address: str) -> list[Heard]:
        return self.heard.get(kind, {}).get(address, [])

    def listening(self, address: str) -> bool:
        """Did the camera answer the valid control Probe (so its silence means something)?"""
        return bool(judge_replies(self.control_id, self.replies("control", address)).matches)


_ROUNDS: dict[tuple[int, str | None], SilentRound] = {}


def silent_round(camera: Camera) -> SilentRound:
    """This process's round (sent on first use; see the module docstring)."""
    key = (camera.discovery_port, camera.multicast_interface)
    if key not in _ROUNDS:
        _ROUNDS[key] = camera.harness.run(_silent_round(camera), DISCOVERY_TIMEOUT_S + 30)
    return _ROUNDS[key]


async def _silent_round(camera: Camera) -> SilentRound:
    interface = camera.multicast_interface
    # One MessageID per way: a camera drops a Probe it has seen (a SOAP-over-UDP resend).
    unicast_id, unicast = invalid_probe()
    multicast_id, multicast = invalid_probe()
    control_id, control = wsd.build_probe([wsd.TYPE_NVT])
    port = camera.discovery_port
    peers = list(dict.fromkeys([*camera.peers, camera.address]))
    group = (wsd.MULTICAST_GROUP, port)
    kinds = ["unicast", "control"]
    sends = [_Send([(unicast, (address, port)) for address in peers])]
    if interface is not None:  # the control goes where the invalid Probes go
        sends.append(_Send([(control, group)], interface))
        sends.append(_Send([(multicast, group)], interface))
        kinds.append("multicast")
    else:
        sends.append(_Send([(control, (address, port)) for address in peers]))
    heard = await _exchange(sends, DISCOVERY_TIMEOUT_S)
    found = SilentRound(interface is not None, {"unicast": unicast_id,
                                                "multicast": multicast_id}, control_id)
    for kind, items in zip(kinds, heard, strict=True):
        by_source: dict[str, list[Heard]] = {}
        for item in items:
            by_source.setdefault(item.source, []).append(item)
        found.heard[kind] = by_source
    return found


# -- announcements -------------------------------------------------------------------------------
@dataclass
class Announcements:
    """Hello and Bye from the camera's address (and datagrams from it that did not parse)."""

    hello: list[wsd.Announcement] = field(default_factory=list)
    bye: list[wsd.Announcement] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    #: Seconds from the start of listening to each Hello, in order.
    hello_at: list[float] = field(default_factory=list)


class _Announced(asyncio.DatagramProtocol):
    def __init__(self, address: str, began: float) -> None:
        self.found = Announcements()
        self.hello = asyncio.Event()
        self._address = address
        self._began = began

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if str(addr[0]) != self._address:
            return  # other cameras on the segment
        try:
            announcement = wsd.parse_hello_bye(data)
        except wsd.InvalidMessage as exc:
            self.found.invalid.append(str(exc))
            return
        if announcement.kind == "hello":
            self.found.hello.append(announcement)
            self.found.hello_at.append(asyncio.get_running_loop().time() - self._began)
            self.hello.set()
        else:
            self.found.bye.append(announcement)


class _Listener:
    """The group, joined on the camera's segment, for the camera's Hello and Bye."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self._opened: tuple[asyncio.DatagramTransport, _Announced] | None = None

    async def __aenter__(self) -> _Announced:
        loop = asyncio.get_running_loop()
        interface = _interface(self.camera)
        try:
            sock = group_socket(wsd.MULTICAST_GROUP, self.camera.discovery_port, [interface])
        except OSError as exc:
            raise InfrastructureError(f"cannot listen for WS-Discovery on {interface}: "
                                      f"{exc}") from exc
        announced = _Announced(self.camera.address, loop.time())
        transport, _ = await loop.create_datagram_endpoint(lambda: announced, sock=sock)
        self._opened = (transport, announced)
        return announced

    async def __aexit__(self, *exc_info: object) -> None:
        if self._opened is not None:
            self._opened[0].close()
            self._opened = None


def listen_while(camera: Camera, action: Callable[[], object], wait_s: float, *,
                 until_hello: bool = True) -> Announcements:
    """Join the group on the camera's segment, run ``action``, and keep what the camera
    announces for ``wait_s`` (or up to its first Hello)."""
    listener = _Listener(camera)
    announced = camera.harness.run(listener.__aenter__())
    try:
        action()

        async def wait() -> None:
            if until_hello:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(announced.hello.wait(), wait_s)
            else:
                await asyncio.sleep(wait_s)

        camera.harness.run(wait(), wait_s + 30)
    finally:
        camera.harness.run(listener.__aexit__())
    return announced.found
