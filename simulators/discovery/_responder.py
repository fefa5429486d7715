"""``DiscoveryResponder``: one camera's WS-Discovery target service (Hello, Bye, ProbeMatches)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from camfleet.protocols import wsdiscovery as wsd
from simulators.discovery._sockets import (
    CLOSE_TIMEOUT_S,
    Receiver,
    SharedGroupSocket,
    check_camera_address,
    multicast_socket,
    probe_or_none,
    unicast_socket,
)
from simulators.state import CameraState

_LOG = logging.getLogger(__name__)

#: What an ONVIF camera announces: tds:Device (mandatory) and dn:NetworkVideoTransmitter (for
#: clients that still probe the old type).
CAMERA_TYPES: tuple[wsd.QName, ...] = (wsd.TYPE_NVT, wsd.TYPE_DEVICE)

#: MessageIDs remembered for duplicate suppression (SOAP-over-UDP retransmissions).
_RECENT_IDS = 64


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
        check_camera_address(address)
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
        self._receivers: list[Receiver] = []
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._next_key = 0
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._instance_id = 0
        self._message_number = 0
        self._boots_seen: int | None = None
        #: Answer every Probe, matching or not (the ``quirk_answers_any_probe`` fault).
        self.answer_any = False
        #: Never send Hello or Bye (the ``quirk_no_announcements`` fault).
        self.silent = False

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
            unicast_sock = unicast_socket(self.address, self._port)
            self._port = int(unicast_sock.getsockname()[1])
            if self._group is None:
                multicast_sock = multicast_socket(self.address, self._port)
                multicast = Receiver(loop, self._on_datagram, multicast=True)
                self._multicast, _ = await loop.create_datagram_endpoint(
                    lambda: multicast, sock=multicast_sock)
                self._receivers.append(multicast)
            unicast = Receiver(loop, self._on_datagram, multicast=False)
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
        check_camera_address(address)
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
        probe = probe_or_none(data)
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
            wanted = wsd.matches(probe, self._types, self.state.all_scopes()) or self.answer_any
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
        if self.silent:
            return
        hello = wsd.build_hello(
            self.endpoint, types=self._types, scopes=self.state.all_scopes(),
            xaddrs=self._xaddrs(), metadata_version=self.state.metadata_version,
            app_sequence=self._next_app_sequence(),
        )
        self._send(hello, (wsd.MULTICAST_GROUP, self._port))

    def _send_bye(self) -> None:
        if self.silent:
            return
        bye = wsd.build_bye(self.endpoint, self._next_app_sequence())
        self._send(bye, (wsd.MULTICAST_GROUP, self._port))

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._unicast is None or self._unicast.is_closing():
            return
        # Errors (unreachable sender, full buffer) go to Receiver.error_received, not here.
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
                    asyncio.gather(*(r.closed for r in receivers)), CLOSE_TIMEOUT_S)
