"""``SnmpAgentHost``: one engine serving many cameras; ``HostedAgent``: one camera on it.

``SnmpAgent`` is one camera on a private host, the stand-alone form.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ipaddress
import itertools
import logging
import socket
import time
from types import TracebackType
from typing import Any, Final, Protocol

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import context
from pysnmp.proto import rfc1902
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.smi import instrum

from camfleet.protocols.pysnmp_mibs import CachedMibBuilder
from simulators.snmp_agent._hooks import (
    ACM_ID,
    COMMUNITY_SECURITY_NAME,
    RESPONDERS,
    CommunityV1,
    CommunityV2c,
    HostMib,
    ReadOnlyAccess,
    Udp4Endpoint,
    Udp6Endpoint,
)
from simulators.snmp_agent._objects import (
    INT32_MAX,
    MAX_MESSAGE_SIZE,
    CameraMib,
    DeviceMib,
    engine_id_for,
    static_values,
)
from simulators.snmp_agent._usm import NO_AUTH, add_user, delete_user, security_level
from simulators.spec import SnmpSpec, SnmpV3User
from simulators.state import CameraState

log = logging.getLogger(__name__)

#: Seconds between pysnmp housekeeping ticks (cache expiry). The default 0.1 s would mean ten
#: wake-ups per second per engine for nothing time-critical.
_TIMER_RESOLUTION_S: Final = 5.0


class AgentClock(Protocol):
    """What the engine reads of a device's life: its boot count and how long it has been up."""

    @property
    def boots(self) -> int: ...

    def uptime_s(self) -> float: ...


class SnmpAgentHost:
    """One pysnmp engine per event loop serving many cameras, each on its own UDP socket.

    ``open()`` (or ``async with``) creates the engine; :meth:`add` (or :meth:`agent` and then
    :meth:`HostedAgent.start`) puts a camera on it; :meth:`remove` takes one off; ``close()``
    stops every camera (all ports free when it returns) and drops the engine. Two cameras on
    one host must have different engine IDs (i.e. MACs), as on a real network.

    Not thread-safe: use it, and its agents, on the event loop that opened it.
    """

    def __init__(self) -> None:
        self._engine: Any = None
        self._dispatcher: Any = None
        # The engine's LCD instances USM and the message processing models read its identity
        # from; set to the served camera's values for each datagram.
        self._lcd_engine_id: Any = None
        self._lcd_boots: Any = None
        self._lcd_time: Any = None
        #: The camera whose datagram the engine is processing; None between datagrams.
        self._serving: AgentBase | None = None
        #: Every agent on this host, in creation order (dict as an ordered set).
        self._agents: dict[AgentBase, None] = {}
        #: Which agent's USM rows an engine ID names (two cameras cannot share one).
        self._engine_ids: dict[bytes, AgentBase] = {}
        self._domains = itertools.count(1)

    @property
    def agents(self) -> tuple[AgentBase, ...]:
        return tuple(self._agents)

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    async def __aenter__(self) -> SnmpAgentHost:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the engine on the running event loop. Does nothing if already open."""
        if self._engine is not None:
            return
        loop = asyncio.get_running_loop()
        mib_builder = CachedMibBuilder()
        snmp_engine = engine.SnmpEngine(
            maxMessageSize=MAX_MESSAGE_SIZE,
            msgAndPduDsp=MsgAndPduDispatcher(instrum.MibInstrumController(mib_builder)),
        )
        # Not SnmpEngine(snmpEngineID=...): that persists a boots counter under
        # $TMPDIR/__pysnmp/<id>/. The identity is set per datagram instead (_serve).
        (self._lcd_engine_id, self._lcd_boots, self._lcd_time) = mib_builder.import_symbols(
            "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime")
        snmp_engine.security_models[CommunityV1.SECURITY_MODEL_ID] = CommunityV1(self)
        snmp_engine.security_models[CommunityV2c.SECURITY_MODEL_ID] = CommunityV2c(self)
        snmp_engine.access_control_model[ACM_ID] = ReadOnlyAccess(self)

        # The responders register with the dispatcher under their context's engine ID; the
        # empty one is the dispatcher's wildcard, so one set of responders serves every camera
        # (USM has already made sure a v3 request is for the camera being served). Set after
        # construction: SnmpContext() only takes valid (5..32 octet) engine IDs.
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.contextEngineId = rfc1902.OctetString(b"")
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", HostMib(self))
        for responder in RESPONDERS:
            responder(snmp_engine, snmp_context)

        dispatcher = AsyncioDispatcher(loop=loop)
        dispatcher.set_timer_resolution(_TIMER_RESOLUTION_S)
        snmp_engine.register_transport_dispatcher(dispatcher)
        self._engine, self._dispatcher = snmp_engine, dispatcher

    async def close(self) -> None:
        """Stop every camera (their ports are free when this returns) and drop the engine.

        Safe to call twice. The host can be opened again, and its agents started again.
        """
        snmp_engine = self._engine
        if snmp_engine is None:
            return
        sockets = [sock for agent in self._agents if (sock := agent._detach()) is not None]
        for agent in self._agents:
            agent._registered = None  # the USM rows go with the engine
        self._engine = self._dispatcher = None
        self._lcd_engine_id = self._lcd_boots = self._lcd_time = None
        snmp_engine.close_dispatcher()  # cancels the housekeeping timer task
        await asyncio.sleep(0)  # let asyncio close the sockets and the timer task finish
        for sock in sockets:
            sock.close()  # normally closed by asyncio by now; makes "port free" certain

    # -- cameras -----------------------------------------------------------------------------
    def agent(self, state: CameraState, address: str, port: int) -> HostedAgent:
        """A camera on this host serving ``state`` on ``address:port`` once started."""
        return HostedAgent(self, state, address, port)

    async def add(self, state: CameraState, address: str, port: int) -> HostedAgent:
        """Put a camera on this (open) host and bind ``address:port`` (0: a free port)."""
        agent = self.agent(state, address, port)
        try:
            await agent.start()
        except BaseException:
            await self.remove(agent)
            raise
        return agent

    async def remove(self, agent: AgentBase) -> None:
        """Stop ``agent`` and forget it: its port is free and its USM rows are gone."""
        if agent._host is not self or agent not in self._agents:
            return
        await agent.stop()
        agent._drop_users()
        if self._engine_ids.get(agent._engine_id) is agent:
            del self._engine_ids[agent._engine_id]
        del self._agents[agent]
        agent._removed = True

    # -- serving -----------------------------------------------------------------------------
    def _serve(self, agent: AgentBase, message: bytes, address: Any) -> None:
        """Run one datagram through the engine as ``agent``'s camera (see module docstring)."""
        snmp_engine = self._engine
        if snmp_engine is None:
            return
        self._serving = agent
        try:
            self._lcd_engine_id.syntax = agent._engine_id_value
            # pysnmp 7.1 reads the LCD instance above; this attribute only shows in repr() and
            # hlapi, and is kept true in case a later version reads it instead.
            snmp_engine.snmpEngineID = agent._engine_id_value
            self._sync_lcd(agent._clock)
            snmp_engine.message_dispatcher.receive_message(
                snmp_engine, agent._domain, address, message)
        except Exception:
            # A malformed or hostile datagram must never take the agents down; pysnmp counts
            # most of them (snmpInASNParseErrs) but not every decoder path is guarded.
            log.debug("SNMP agent %s:%d dropped a message from %s", agent.address, agent.port,
                      address, exc_info=True)
        finally:
            self._serving = None

    def _serving_agent(self) -> AgentBase:
        agent = self._serving
        if agent is None:
            # pysnmp asked for per-camera data outside receive_message: the synchronous
            # processing this host relies on no longer holds (see the module docstring).
            raise RuntimeError("SNMP request processed outside its datagram callback; "
                               "SnmpAgentHost cannot tell which camera it is for")
        return agent

    def _sync_lcd(self, state: AgentClock) -> None:
        """Copy boots and uptime from the camera state into the engine's view of itself.

        USM reads snmpEngineBoots/snmpEngineTime from the engine's LCD for the timeliness
        check and for the values it puts into responses and reports, so they must follow the
        served camera's state (a reboot bumps boots and restarts the clock; RFC 3414 2.2.2).
        """
        boots = min(max(state.boots, 1), INT32_MAX)
        if self._lcd_boots.syntax != boots:
            self._lcd_boots.syntax = self._lcd_boots.syntax.clone(boots)
        # pysnmp keeps snmpEngineTime as the wall-clock second the engine (re)booted and
        # subtracts it from time.time() on read. Clamped: a test clock running backwards
        # must not push the value out of its 0..2^31-1 range (USM would then drop everything).
        uptime = min(max(state.uptime_s(), 0.0), INT32_MAX)
        self._lcd_time.syntax = self._lcd_time.syntax.clone(int(time.time() - uptime))

    def _claim_engine_id(self, agent: AgentBase, engine_id: bytes) -> None:
        owner = self._engine_ids.get(engine_id)
        if owner is not None and owner is not agent:
            raise RuntimeError(f"engine ID {engine_id.hex()} is already used by the camera on "
                               f"{owner.address}:{owner.port} on this SNMP host")
        if self._engine_ids.get(agent._engine_id) is agent:
            del self._engine_ids[agent._engine_id]
        self._engine_ids[engine_id] = agent


class AgentBase:
    """One device on a :class:`SnmpAgentHost`, serving its own identity, credentials and
    objects on UDP ``address:port``; a camera (:class:`HostedAgent`) or a switch.

    A subclass says what the device is through four hooks: :meth:`_current_engine_id`,
    :meth:`_current_access`, :meth:`_reload_objects` and ``_clock``. ``stop()`` frees the
    socket and ``start()`` binds the same port again; the device stays on the host in between.
    """

    def __init__(self, host: SnmpAgentHost, address: str, port: int, *, clock: AgentClock,
                 mib: DeviceMib, engine_id: bytes) -> None:
        self._host = host
        #: Boots and uptime the engine reports for this device.
        self._clock = clock
        self.address = address
        #: The bound port once started (useful when constructed with port 0).
        self.port = port
        self._ip_version = ipaddress.ip_address(address).version
        base = udp6.DOMAIN_NAME if self._ip_version == 6 else udp.DOMAIN_NAME
        self._domain: tuple[int, ...] = (*base, next(host._domains))
        self._transport: Any = None
        self._socket: socket.socket | None = None
        self._removed = False
        self._engine_id = engine_id
        self._engine_id_value: Any = None  # as the engine's SnmpEngineID type, from start()
        self._mib: DeviceMib = mib
        #: v1/v2c community (None: v1/v2c off) and (securityModel, securityName) -> level.
        self._community: bytes | None = None
        self._readers: dict[tuple[int, str], int] = {}
        #: Who may write, like ``_readers``; nobody on a camera.
        self._writers: dict[tuple[int, str], int] = {}
        #: The v1/v2c community that may write (None: none may), for devices with settings.
        self._write_community: bytes | None = None
        #: (engine, engine ID, users) whose USM rows exist, or None.
        self._registered: tuple[Any, bytes, tuple[SnmpV3User, ...]] | None = None
        self._applied: SnmpSpec | None = None
        host._agents[self] = None

    # -- what the device is (the subclass says) ---------------------------------------------
    def _current_engine_id(self) -> bytes:
        raise NotImplementedError

    def _current_access(self) -> SnmpSpec:
        raise NotImplementedError

    def _reload_objects(self) -> None:
        raise NotImplementedError

    def _label(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def engine_id(self) -> bytes:
        return self._engine_id

    @property
    def running(self) -> bool:
        return self._transport is not None

    @property
    def host(self) -> SnmpAgentHost:
        return self._host

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind ``address:port`` and answer requests until :meth:`stop`."""
        if self._transport is not None:
            raise RuntimeError("SNMP agent already started")
        host = self._host
        if self._removed or host._engine is None:
            raise RuntimeError("SNMP agent's host is not open" if not self._removed
                               else "SNMP agent was removed from its host")
        access = self._current_access()
        _check_privacy_support(access)
        # The engine ID is derived at start, so a replaced unit (new MAC or enterprise) gets
        # its new one on the next start; refresh() keeps it: v3 keys are localised to it.
        engine_id = self._current_engine_id()
        host._claim_engine_id(self, engine_id)
        if engine_id != self._engine_id:
            self._drop_users()
            self._engine_id = engine_id
        self._engine_id_value = host._lcd_engine_id.syntax.clone(engine_id)
        self._reload_objects()
        self._apply_access(access, register=True)

        # Bind the socket ourselves: a bind error (port taken) surfaces here, synchronously,
        # and port 0 resolves before start() returns.
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if self._ip_version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, self.port))
            sock.setblocking(False)
            transport = (Udp6Endpoint if self._ip_version == 6 else Udp4Endpoint)(loop=loop)
            transport.agent = self
            host._dispatcher.register_transport(self._domain, transport)
            # Live before the endpoint exists, so the very first datagram is served.
            self._transport, self._socket = transport, sock
            await loop.create_datagram_endpoint(lambda: transport, sock=sock)
        except BaseException:
            self._detach()
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        log.debug("SNMP agent for %s on %s:%d", self._label(), self.address, self.port)

    async def stop(self) -> None:
        """Close the socket (the port is free when this returns). Safe to call twice or
        before start(); the camera stays on its host and can be started again."""
        sock = self._detach()
        if sock is None:
            return
        await asyncio.sleep(0)  # let asyncio run connection_lost, which closes the socket
        sock.close()  # normally closed by now; makes "port free" certain

    def readdress(self, address: str) -> None:
        """Bind ``address`` from the next :meth:`start` on (a ``readdressed`` unit); the port,
        engine ID and USM rows stay. Only while stopped."""
        if self.running:
            raise RuntimeError(f"SNMP agent on {self.address}:{self.port} is running; stop it "
                               "before giving it another address")
        if ipaddress.ip_address(address).version != self._ip_version:
            raise ValueError(f"SNMP agent on {self.address} cannot move to {address}: another "
                             "IP version needs another transport domain")
        self.address = address

    def refresh(self) -> None:
        """Re-read identity, objects and credentials (the device's spec may be replaced).

        The engine ID stays the one chosen at start (see :meth:`start`).
        """
        self._reload_objects()
        access = self._current_access()
        if access != self._applied:
            _check_privacy_support(access)
            self._apply_access(access, register=self._registered is not None)

    # -- internals ---------------------------------------------------------------------------
    def _received(self, transport: Any, message: bytes, address: Any) -> None:
        if transport is self._transport:  # not a straggler from an endpoint being closed
            self._host._serve(self, message, address)

    def _detach(self) -> socket.socket | None:
        """Stop reading and unregister the socket from the engine; returns it for closing."""
        transport, sock = self._transport, self._socket
        self._transport = self._socket = None
        if transport is None:
            return None
        if transport.transport is not None:
            transport.transport.close()  # asyncio: stop reading now, close the socket soon
        dispatcher = self._host._dispatcher
        if dispatcher is not None:
            dispatcher.unregister_transport(self._domain)
        return sock

    def _apply_access(self, snmp: SnmpSpec, register: bool) -> None:
        """Take the community, the v3 users and their levels from ``snmp``."""
        self._community = None if snmp.community is None else snmp.community.encode("utf-8")
        readers: dict[tuple[int, str], int] = {}
        if snmp.community is not None:
            readers[(1, COMMUNITY_SECURITY_NAME)] = NO_AUTH  # SNMPv1
            readers[(2, COMMUNITY_SECURITY_NAME)] = NO_AUTH  # SNMPv2c
        for user in snmp.v3_users:
            readers[(3, user.name)] = security_level(user)
        self._readers = readers
        self._applied = snmp
        if register:
            self._register_users(snmp.v3_users)

    def _register_users(self, users: tuple[SnmpV3User, ...]) -> None:
        """Make the engine's USM rows for this camera exactly ``users`` at its engine ID."""
        snmp_engine = self._host._engine
        wanted = (snmp_engine, self._engine_id, users)
        if self._registered == wanted:
            return  # a restart with nothing changed: keep the rows
        self._drop_users()
        for user in users:
            add_user(snmp_engine, user, self._engine_id)
        self._registered = wanted

    def _drop_users(self) -> None:
        registered, self._registered = self._registered, None
        if registered is None:
            return
        snmp_engine, engine_id, users = registered
        if snmp_engine is self._host._engine:  # otherwise they went with a closed engine
            for user in users:
                delete_user(snmp_engine, user.name, engine_id)


class HostedAgent(AgentBase):
    """The SNMP side of one simulated camera: ``state`` served with the camera's identity,
    credentials and objects. Made by :meth:`SnmpAgentHost.agent` or :meth:`SnmpAgentHost.add`;
    stopped and started again on a reboot or a "removed" fault. ``spec.snmp.enabled`` is not
    consulted: whoever owns the camera decides whether to start the agent.
    """

    def __init__(self, host: SnmpAgentHost, state: CameraState, address: str,
                 port: int) -> None:
        engine_id = engine_id_for(state.spec)
        mib = CameraMib(state, static_values(state.spec, engine_id))
        super().__init__(host, address, port, clock=state, mib=mib, engine_id=engine_id)
        self._state = state
        self._camera_mib = mib

    @property
    def state(self) -> CameraState:
        return self._state

    def _current_engine_id(self) -> bytes:
        return engine_id_for(self._state.spec)

    def _current_access(self) -> SnmpSpec:
        return self._state.spec.snmp

    def _reload_objects(self) -> None:
        self._camera_mib.load(static_values(self._state.spec, self._engine_id))

    def _label(self) -> str:
        return self._state.spec.id


class SnmpAgent(HostedAgent):
    """One camera on a private :class:`SnmpAgentHost`: the stand-alone agent.

    ``start()`` opens the host and ``stop()`` closes it, so a stopped agent holds no engine
    (about 0.7 MiB and 15 ms per start; put fleets on a shared host instead).
    Not thread-safe: start, stop and refresh it on the event loop that owns ``state``.
    """

    def __init__(self, state: CameraState, address: str, port: int) -> None:
        super().__init__(SnmpAgentHost(), state, address, port)

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("SNMP agent already started")
        await self._host.open()
        try:
            await super().start()
        except BaseException:
            await self._host.close()
            raise

    async def stop(self) -> None:
        await self._host.close()


def _check_privacy_support(snmp: SnmpSpec) -> None:
    """pysnmp does DES/AES through the optional ``cryptography`` package; fail at start, not
    on the first encrypted request."""
    if any(u.priv_protocol != "none" for u in snmp.v3_users) and (
        importlib.util.find_spec("cryptography") is None
    ):
        raise RuntimeError("SNMPv3 privacy (DES/AES) is configured but the 'cryptography' "
                           "package is not installed; pysnmp needs it to encrypt")
