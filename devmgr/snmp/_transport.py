"""pysnmp's UDP client transports, tuned for sweeps, and how to stop a dispatcher cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Mapping
from typing import Any, Final

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.hlapi.v3arch.asyncio import Udp6TransportTarget, UdpTransportTarget

from camfleet.printable import device_logger
from devmgr.snmp._plan import Plan

log = device_logger(__name__)

#: Receive buffer asked for each client socket. A sweep sends ``concurrency`` requests in a
#: burst and the answers come back as fast: with Linux's default (208 KiB) 256 in flight lost
#: ~200 of 1000 v2c answers (RcvbufErrors), with 4 MiB none. The kernel caps it at
#: net.core.rmem_max (4 MiB here; raise it where it is smaller, or lower the concurrency).
RECEIVE_BUFFER_BYTES: Final = 4 * 1024 * 1024


def _grow_receive_buffer(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # not fatal: only more drops under a burst
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


class _ClientDelivery:
    """Hands each datagram to pysnmp at once, and drops it once the transport is closed.

    pysnmp's datagram transports defer every datagram with ``loop.call_soon``; one that is
    still queued when its dispatcher closes (a late answer, a duplicate after a re-send) then
    raises "Unregistered transport" into the loop's error log. Delivering synchronously
    leaves nothing queued; whatever pysnmp raises on a garbled datagram is dropped here, as
    a datagram from anyone on the network deserves, instead of reaching asyncio (which would
    close the socket).
    """

    _callback_function: Any

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        deliver = self._callback_function
        if deliver is None:
            return
        try:
            deliver(self, address, datagram)
        except Exception:  # see the class docstring
            log.debug("dropped a datagram from %s that pysnmp could not process", address,
                      exc_info=True)


class _Udp4(_ClientDelivery, udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP client transport with a receive buffer sized for bursts."""

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        _grow_receive_buffer(transport)
        super().connection_made(transport)


class _Udp6(_ClientDelivery, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        _grow_receive_buffer(transport)
        super().connection_made(transport)


TRANSPORTS: Final[Mapping[tuple[int, ...], Any]] = {
    tuple(udp.DOMAIN_NAME): _Udp4, tuple(udp6.DOMAIN_NAME): _Udp6}


async def stop_dispatcher(dispatcher: Any, close: Callable[[], None]) -> None:
    """Close a pysnmp transport dispatcher and wait until its timer task has really ended.

    ``close_dispatcher`` only *cancels* the timer task and asks the socket to close; both
    happen on later loop iterations, so without this a caller could see a pending task.
    """
    timer = getattr(dispatcher, "loopingcall", None) if dispatcher is not None else None
    close()
    if timer is not None:
        await asyncio.gather(timer, return_exceptions=True)
    await asyncio.sleep(0)  # the transport's connection_lost, which closes the socket


async def close_transport_dispatcher(dispatcher: Any) -> None:
    """Close the transport dispatcher of a v1/v2c ``SnmpDispatcher`` and wait until it ended.

    Not ``SnmpDispatcher.close()``: pysnmp 7.1 calls pending requests' callbacks with one
    argument too few there (TypeError). Requests still pending belong to callers that gave up
    (cancelled); they need no answer.
    """
    def stop() -> None:
        dispatcher.unregister_recv_callback()
        dispatcher.unregister_timer_callback()
        dispatcher.close_dispatcher()  # closes the sockets and the timer task

    await stop_dispatcher(dispatcher, stop)


async def transport_target(address: str, port: int, plan: Plan) -> Any:
    """A pysnmp transport target: the address resolved (host names too), timeout, retries."""
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        version = 4  # a host name: the IPv4 target resolves it
    target_class = Udp6TransportTarget if version == 6 else UdpTransportTarget
    return await target_class.create((address, port), timeout=plan.timeout_s,
                                     retries=plan.retries)
