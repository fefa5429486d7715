"""The ARP sweep itself: requests out on a raw socket, replies parsed and bounded."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Final

from devmgr.layer2._oui import vendor_for

#: Addresses asked per sweep at most (a /20).
MAX_HOSTS: Final = 4096
#: Frames read per sweep at most, whatever the segment sends.
MAX_FRAMES: Final = 65_536
_ETH_P_ARP: Final = 0x0806
_ETH_P_ALL: Final = 0x0003


@dataclass(frozen=True)
class ArpHost:
    address: str
    mac: str
    vendor: str


@dataclass
class ArpSweep:
    interface: str
    network: str
    hosts: list[ArpHost] = field(default_factory=list)
    asked: int = 0
    #: Frames that were not a well-formed ARP reply from the segment.
    rejected: int = 0
    seconds: float = 0.0
    #: Why the sweep could not run (no raw sockets, no scapy, bad input), else "".
    error: str = ""


def _scapy() -> Any:
    try:
        from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415 (optional: the layer2 extra)
    except ImportError:
        return None
    return ARP, Ether


def parse_reply(frame: bytes, network: ipaddress.IPv4Network) -> ArpHost | None:
    """An ARP reply from an address of ``network``, or None for anything else."""
    layers = _scapy()
    if layers is None or len(frame) > 1518:
        return None
    arp_layer, ether_layer = layers
    try:
        packet = ether_layer(frame)
        arp = packet.getlayer(arp_layer)
        if arp is None or int(arp.op) != 2 or int(arp.hwlen) != 6 or int(arp.plen) != 4:
            return None
        address = ipaddress.IPv4Address(str(arp.psrc))
        mac = str(arp.hwsrc).lower()
    except Exception:  # scapy raises many things on a short or garbled frame
        return None
    first = int(mac[:2], 16)
    if address not in network or address in (network.network_address,
                                             network.broadcast_address) or first & 0x01:
        return None
    return ArpHost(address=str(address), mac=mac, vendor=vendor_for(mac))


_PACKET_OUTGOING: Final = 4


async def _collect(sock: socket.socket, network: ipaddress.IPv4Network, timeout_s: float,
                   result: ArpSweep) -> dict[str, ArpHost]:
    """Replies until ``timeout_s`` passes or ``MAX_FRAMES`` frames were read."""
    loop = asyncio.get_running_loop()
    found: dict[str, ArpHost] = {}
    deadline = loop.time() + timeout_s
    for _ in range(MAX_FRAMES):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(remaining):
                frame, where = await loop.sock_recvfrom(sock, 2048)
        except TimeoutError:
            break
        if len(where) > 2 and where[2] == _PACKET_OUTGOING:
            continue  # our own requests, looped back to the packet socket
        host = parse_reply(frame, network)
        if host is None:
            result.rejected += 1
        elif host.address not in found:
            found[host.address] = host
    return found


def _open(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ARP))
    sock.bind((interface, 0))
    sock.setblocking(False)
    return sock


async def arp_sweep(interface: str, cidr: str, *, timeout_s: float = 1.0,
                    source: str | None = None) -> ArpSweep:
    """Ask every address of ``cidr`` on ``interface``; who answered within ``timeout_s``."""
    result = ArpSweep(interface=interface, network=cidr)
    began = time.monotonic()
    layers = _scapy()
    if layers is None:
        result.error = "scapy is not installed (pip install 'camfleet[layer2]')"
        return result
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError as exc:
        result.error = f"not an IPv4 network: {cidr} ({exc})"
        return result
    if network.num_addresses - 2 > MAX_HOSTS:
        result.error = f"{cidr} has more than {MAX_HOSTS} addresses; sweep a smaller range"
        return result
    try:
        sock = _open(interface)
    except PermissionError:
        result.error = ("the ARP sweep needs raw sockets: run as root or give the interpreter "
                        "CAP_NET_RAW (setcap cap_net_raw+ep); the other routes still ran")
        return result
    except OSError as exc:
        result.error = f"cannot open {interface}: {exc.strerror}"
        return result
    arp_layer, ether_layer = layers
    try:
        own_mac = ":".join(f"{b:02x}" for b in sock.getsockname()[4][:6])
        own_ip = source or "0.0.0.0"
        loop = asyncio.get_running_loop()
        for host in network.hosts():
            if str(host) == own_ip:
                continue
            frame = bytes(ether_layer(src=own_mac, dst="ff:ff:ff:ff:ff:ff") / arp_layer(
                op=1, hwsrc=own_mac, psrc=own_ip, pdst=str(host)))
            await loop.sock_sendall(sock, frame)
            result.asked += 1
        found = await _collect(sock, network, timeout_s, result)
        result.hosts = sorted(found.values(), key=lambda h: ipaddress.IPv4Address(h.address))
    finally:
        sock.close()
    result.seconds = time.monotonic() - began
    return result
