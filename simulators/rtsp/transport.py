"""Where RTP goes: the server's UDP socket pair, and sinks for UDP and interleaved sessions.

The server sends all UDP sessions' RTP from one even-numbered socket and receives RTCP on the
next port (RFC 3550 §11), whatever the number of sessions: the port pair it announces as
``server_port`` in every Transport answer. Receiver reports keep their session alive.

A keyframe is a burst of a hundred datagrams or more, more than a socket buffer takes at once;
what the kernel refuses waits in a queue, sent as the socket drains. The queue's size is the
UDP sessions' backlog: past the limit their subscribers skip frames until a keyframe, as an
interleaved session does when its connection backs up.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from camfleet.protocols.rtp import is_rtcp
from camfleet.protocols.rtsp import frame_interleaved

Address = tuple[str, int]
_BIND_ATTEMPTS = 32


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_rtcp: Callable[[Address], None]) -> None:
        self._on_rtcp = on_rtcp

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        if is_rtcp(data):
            self._on_rtcp((str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: its session times out.
        pass


class UdpPair:
    """An RTP socket on an even port and an RTCP socket on the next, on one address."""

    def __init__(self, rtp: socket.socket, rtcp: asyncio.DatagramTransport, port: int) -> None:
        self.rtp = rtp
        self.rtcp = rtcp
        self.ports = (port, port + 1)
        self._queue: deque[tuple[bytes, Address]] = deque()
        #: Bytes waiting for the socket to drain.
        self.queued = 0

    def send(self, packet: bytes, destination: Address) -> None:
        if not self._queue:
            try:
                self.rtp.sendto(packet, destination)
                return
            except BlockingIOError:
                asyncio.get_running_loop().add_writer(self.rtp, self._flush)
            except OSError:  # ICMP unreachable from an earlier datagram; closed by stream_down
                return
        self._queue.append((packet, destination))
        self.queued += len(packet)

    def _flush(self) -> None:
        while self._queue:
            packet, destination = self._queue[0]
            try:
                self.rtp.sendto(packet, destination)
            except BlockingIOError:
                return
            except OSError:
                pass  # this destination is gone; the others are not
            self._queue.popleft()
            self.queued -= len(packet)
        asyncio.get_running_loop().remove_writer(self.rtp)

    @classmethod
    async def open(cls, host: str, on_rtcp: Callable[[Address], None]) -> UdpPair:
        loop = asyncio.get_running_loop()
        for _ in range(_BIND_ATTEMPTS):
            rtp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp_sock.bind((host, 0))
            port = rtp_sock.getsockname()[1]
            if port % 2 or port == 65535:
                rtp_sock.close()
                continue
            rtcp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp_sock.bind((host, port + 1))
            except OSError:
                rtp_sock.close()
                rtcp_sock.close()
                continue
            rtp_sock.setblocking(False)
            # Room for a 1080p keyframe where the system allows it (net.core.wmem_max).
            rtp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            rtcp, _ = await loop.create_datagram_endpoint(lambda: _Receiver(on_rtcp),
                                                          sock=rtcp_sock)
            return cls(rtp_sock, rtcp, port)
        raise OSError(f"no free even/odd UDP port pair on {host} after {_BIND_ATTEMPTS} tries")

    def close(self) -> None:
        if self._queue:
            asyncio.get_running_loop().remove_writer(self.rtp)
            self._queue.clear()
            self.queued = 0
        self.rtp.close()
        self.rtcp.close()


class UdpSink:
    """RTP to one client's ``client_port`` from the server's RTP socket."""

    def __init__(self, pair: UdpPair, destination: Address) -> None:
        self._pair = pair
        self.destination = destination

    def backlog(self) -> int:
        return self._pair.queued

    def send(self, packets: Sequence[bytes]) -> None:
        for packet in packets:
            self._pair.send(packet, self.destination)


class InterleavedSink:
    """RTP ``$``-framed on the client's RTSP connection (RFC 2326 §10.12)."""

    def __init__(self, transport: asyncio.BaseTransport, channel: int) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self.channel = channel

    def backlog(self) -> int:
        return self._transport.get_write_buffer_size()

    def send(self, packets: Sequence[bytes]) -> None:
        if self._transport.is_closing():
            return
        self._transport.write(b"".join(frame_interleaved(self.channel, p) for p in packets))
