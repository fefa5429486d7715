"""Passive capture on a segment: ARP, DHCP and WS-Discovery Hello/Bye, as evidence of who is
there and of re-addressing.

:func:`parse_frame` turns one Ethernet frame into an :class:`L2Event` or None; :func:`listen`
reads a raw socket for a while (root or CAP_NET_RAW) and returns the events, bounded by
frames and time; :func:`readdressed` pairs what a MAC said before with what it says now.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from camfleet.protocols import wsdiscovery as wsd

_ETH_P_ALL: Final = 0x0003
#: WS-Discovery messages bigger than this are not read (a Hello is ~1-2 KiB).
MAX_SOAP_BYTES: Final = 16_384

Kind = Literal["arp", "dhcp", "hello", "bye"]


@dataclass(frozen=True)
class L2Event:
    kind: Kind
    mac: str
    #: The address the frame claims for its sender (ARP sender, DHCP requested/assigned,
    #: the Hello's source).
    address: str
    #: DHCP message type ("request", "ack" ...), or the WS-Discovery endpoint reference.
    detail: str = ""
    xaddrs: tuple[str, ...] = ()


@dataclass
class Capture:
    events: list[L2Event] = field(default_factory=list)
    frames: int = 0
    #: Frames of a kind we read that did not parse (truncated, garbled).
    rejected: int = 0
    error: str = ""


_DHCP_TYPES: Final = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack",
                      6: "nak", 7: "release", 8: "inform"}


def _dhcp(packet: object, mac: str) -> L2Event | None:
    from scapy.layers.dhcp import BOOTP, DHCP  # noqa: PLC0415

    bootp, dhcp = packet.getlayer(BOOTP), packet.getlayer(DHCP)  # type: ignore[attr-defined]
    if bootp is None or dhcp is None:
        return None
    options = {o[0]: o[1] for o in dhcp.options if isinstance(o, tuple) and len(o) >= 2}
    kind = _DHCP_TYPES.get(int(options.get("message-type", 0)), "other")
    address = str(options.get("requested_addr") or bootp.yiaddr or bootp.ciaddr)
    client = ":".join(f"{b:02x}" for b in bytes(bootp.chaddr)[:6])
    return L2Event("dhcp", client or mac, address, kind)


def parse_frame(frame: bytes) -> L2Event | None:
    """One frame as an event; None for frames of no interest.

    Raises ValueError for a frame of interest (ARP, DHCP, WS-Discovery) that does not parse.
    """
    from scapy.layers.inet import IP, UDP  # noqa: PLC0415
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415

    if len(frame) < 14 or len(frame) > 9216:
        return None
    try:
        packet = Ether(frame)
        mac = str(packet.src).lower()
        arp = packet.getlayer(ARP)
        if arp is not None:
            return L2Event("arp", str(arp.hwsrc).lower(), str(arp.psrc))
        udp = packet.getlayer(UDP)
        if udp is None:
            return None
        ports = {int(udp.sport), int(udp.dport)}
        if ports & {67, 68}:
            return _dhcp(packet, mac)
        if wsd.PORT in ports:
            payload = bytes(udp.payload)[:MAX_SOAP_BYTES + 1]
            if len(payload) > MAX_SOAP_BYTES or (b"Hello" not in payload
                                                 and b"Bye" not in payload):
                return None
            announced = wsd.parse_hello_bye(payload)
            ip = packet.getlayer(IP)
            source = str(ip.src) if ip is not None else ""
            return L2Event(announced.kind, mac, source, announced.endpoint, announced.xaddrs)
    except Exception as exc:  # scapy and the WS-Discovery parser reject garbage many ways
        raise ValueError(f"garbled frame: {exc}") from exc
    return None


def _open(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    sock.bind((interface, 0))
    sock.setblocking(False)
    return sock


async def listen(interface: str, seconds: float, *, max_frames: int = 100_000) -> Capture:
    """Events heard on ``interface`` for ``seconds`` (at most ``max_frames`` frames read)."""
    capture = Capture()
    try:
        import scapy  # noqa: F401, PLC0415
    except ImportError:
        capture.error = "scapy is not installed (pip install 'camfleet[layer2]')"
        return capture
    try:
        sock = _open(interface)
    except PermissionError:
        capture.error = ("passive capture needs raw sockets: run as root or give the "
                         "interpreter CAP_NET_RAW")
        return capture
    except OSError as exc:
        capture.error = f"cannot open {interface}: {exc.strerror}"
        return capture
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while capture.frames < max_frames and (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    frame = await loop.sock_recv(sock, 9216)
            except TimeoutError:
                break
            capture.frames += 1
            try:
                event = parse_frame(frame)
            except ValueError:
                capture.rejected += 1
                continue
            if event is not None:
                capture.events.append(event)
    finally:
        sock.close()
    return capture


def readdressed(events: Iterable[L2Event],
                known: dict[str, str]) -> dict[str, tuple[str, str]]:
    """MAC -> (address known, address heard) where a unit speaks from another address."""
    changed: dict[str, tuple[str, str]] = {}
    for event in events:
        before = known.get(event.mac)
        heard = event.address
        if before and heard and heard not in (before, "0.0.0.0"):
            changed[event.mac] = (before, heard)
    return changed
