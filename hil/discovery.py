"""WS-Discovery exchanges with one camera, for the DISCOVERY-1-1-x tests.

devmgr's discovery client (:mod:`devmgr.discovery.wsd`) answers "who is out there"; acceptance
tests ask narrower questions of one unit: does it answer *this* Probe (types, scopes, a
matching rule it must refuse), and does it stay silent for *that* one. So this module sends
datagrams built by devmgr's codec (:mod:`devmgr.protocols.wsdiscovery`) to the camera's own
address and reports everything that came back, and it listens for Hello/Bye with devmgr's
:class:`~devmgr.discovery.wsd.DiscoveryMonitor`. Unicast needs nothing but a route to the
camera; multicast needs a local interface on the camera's segment (``--hil-interface``, or a
fleet's manager address).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from devmgr.discovery.wsd import DiscoveryEvent, DiscoveryMonitor
from devmgr.protocols import wsdiscovery as wsd
from hil.camera import Camera
from hil.errors import InfrastructureError

__all__ = ["Heard", "ProbeResult", "listen_while", "probe", "send_datagrams"]


@dataclass(frozen=True, slots=True)
class Heard:
    """A datagram that came back, and how long after the send."""

    data: bytes
    source: str
    elapsed_s: float


@dataclass
class ProbeResult:
    """What one unicast Probe brought back."""

    message_id: str
    matches: list[wsd.ProbeMatch] = field(default_factory=list)
    faults: list[wsd.Fault] = field(default_factory=list)
    #: Datagrams that were neither a related ProbeMatches nor a fault.
    other: int = 0
    #: Seconds from the send to the first related reply; None: no reply.
    first_reply_s: float | None = None


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, began: float, stop: Callable[[bytes], bool] | None) -> None:
        self.heard: list[Heard] = []
        self.done = asyncio.Event()
        self._began = began
        self._stop = stop

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        loop = asyncio.get_running_loop()
        self.heard.append(Heard(data, str(addr[0]), loop.time() - self._began))
        if self._stop is not None and self._stop(data):
            self.done.set()


async def _exchange(address: str, port: int, datagrams: Sequence[bytes], wait_s: float,
                    stop: Callable[[bytes], bool] | None) -> list[Heard]:
    loop = asyncio.get_running_loop()
    collector = _Collector(loop.time(), stop)
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: collector, local_addr=("0.0.0.0", 0), family=socket.AF_INET)
    except OSError as exc:
        raise InfrastructureError(f"cannot open a UDP socket for WS-Discovery: {exc}") from exc
    try:
        for datagram in datagrams:
            transport.sendto(datagram, (address, port))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collector.done.wait(), wait_s)
    finally:
        transport.close()
    return collector.heard


def send_datagrams(camera: Camera, datagrams: Sequence[bytes], wait_s: float) -> list[Heard]:
    """Send datagrams to the camera's discovery port; everything heard within ``wait_s``."""
    return camera.harness.run(_exchange(camera.address, camera.discovery_port, datagrams,
                                        wait_s, None))


def probe(camera: Camera, *, types: Sequence[wsd.QName] = (), scopes: Sequence[str] = (),
          match_by: str | None = None, wait_s: float = 5.0,
          until_first: bool = True) -> ProbeResult:
    """A unicast Probe to the camera (DISCOVERY-1-1-6); returns at the first related reply
    unless ``until_first`` is false (then after ``wait_s``)."""
    message_id, datagram = wsd.build_probe(types, scopes, match_by=match_by)
    related = message_id.encode()

    def stop(data: bytes) -> bool:
        return until_first and related in data

    heard = camera.harness.run(_exchange(camera.address, camera.discovery_port, [datagram],
                                         wait_s, stop))
    result = ProbeResult(message_id)
    for item in heard:
        try:
            found = [m for m in wsd.parse_probe_matches(item.data)
                     if m.relates_to == message_id]
        except wsd.FaultReceived as exc:
            if exc.fault.relates_to in (None, message_id):
                result.faults.append(exc.fault)
                result.first_reply_s = result.first_reply_s or item.elapsed_s
            continue
        except wsd.InvalidMessage:
            result.other += 1
            continue
        if found:
            result.matches.extend(found)
            result.first_reply_s = result.first_reply_s or item.elapsed_s
        else:
            result.other += 1
    return result


def listen_while(camera: Camera, action: Callable[[], object], wait_s: float,
                 until: Callable[[DiscoveryEvent], bool]) -> list[DiscoveryEvent]:
    """Join the group on the camera's segment, run ``action``, and collect the camera's
    Hello/Bye until ``until(event)`` or ``wait_s``."""
    interface = camera.multicast_interface
    if interface is None:
        raise InfrastructureError("multicast needs a local interface on the camera's segment: "
                                  "pass --hil-interface")
    monitor = DiscoveryMonitor([interface], port=camera.discovery_port)
    try:
        camera.harness.run(monitor.start())
    except OSError as exc:
        raise InfrastructureError(f"cannot listen for WS-Discovery on {interface}: "
                                  f"{exc}") from exc
    try:
        action()
        return camera.harness.run(_announcements(monitor, camera.address, wait_s, until))
    finally:
        camera.harness.run(monitor.stop())


async def _announcements(monitor: DiscoveryMonitor, address: str, wait_s: float,
                         until: Callable[[DiscoveryEvent], bool]) -> list[DiscoveryEvent]:
    events: list[DiscoveryEvent] = []

    async def consume() -> None:
        async for event in monitor.events():
            if event.address != address:
                continue  # other cameras on the segment
            events.append(event)
            if until(event):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(consume(), wait_s)
    return events
