"""SNMP agent (v1, v2c and v3) for one simulated camera, built on pysnmp.

The agent answers GET, GETNEXT and GETBULK (so ``snmpwalk`` and ``snmpbulkwalk`` work) for the
objects a device manager looks at on a real IP camera: the MIB-II system group, a one-row
ifTable, one ENTITY-MIB entPhysicalTable row and the SNMP-FRAMEWORK-MIB engine scalars. It is
read-only: every SET is answered with ``noAccess`` and never touches the camera.

    >>> import asyncio
    >>> from simulators.spec import CameraSpec
    >>> from simulators.state import CameraState
    >>> async def main() -> None:
    ...     state = CameraState(CameraSpec.example().with_network(address="127.0.0.1"))
    ...     agent = SnmpAgent(state, "127.0.0.1", 0)
    ...     await agent.start()
    ...     # snmpget -v2c -c c4mfleet-ro 127.0.0.1:<agent.port> 1.3.6.1.2.1.1.5.0
    ...     await agent.stop()
    >>> asyncio.run(main())

Values that change (sysUpTime, snmpEngineBoots, snmpEngineTime) are read from the live
:class:`~simulators.state.CameraState` on every request, so ``state.reboot()`` is visible at
once, to v3 clients too (they re-synchronise through the usual notInTimeWindow report).
Identity and location are rendered from ``state.spec`` at construction and start, and again
on :meth:`SnmpAgent.refresh`.

Cost: every agent owns one pysnmp ``SnmpEngine`` (its own engine ID, boots, USM user table):
about 0.7 MiB (0.8 MiB once polled) and 15 ms to start. The camera objects do not go through
pysnmp's MIB machinery at all (see :class:`_CameraMib`), and the MIB modules the engine needs
internally are compiled once per process instead of once per engine (see
:class:`_CachedMibBuilder`; stock pysnmp costs 0.95 MiB and 80 ms per engine).
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import importlib.resources
import importlib.util
import ipaddress
import logging
import socket
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any, Final

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto import error as proto_error
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.smi import builder, instrum
from pysnmp.smi import error as smi_error

from simulators.spec import CameraSpec, SnmpSpec, SnmpV3User
from simulators.state import CameraState

__all__ = ["SnmpAgent", "engine_id_for", "sys_object_id_for"]

log = logging.getLogger(__name__)

Oid = tuple[int, ...]

# -- identity ----------------------------------------------------------------------------------

#: Largest message the engine accepts or sends (the UDP/IPv4 payload limit, as net-snmp uses).
MAX_MESSAGE_SIZE: Final = 65507

#: sysServices: application (layer 7) + end-to-end (layer 4), what a host-like device reports.
SYS_SERVICES: Final = 72


def engine_id_for(spec: CameraSpec) -> bytes:
    """snmpEngineID in the RFC 3411 format: enterprise | 0x80000000, format 3 (MAC), the MAC.

    Deterministic, so a camera keeps its engine ID across agent restarts and re-runs, as a
    real unit does; two cameras differ because their MACs do.
    """
    mac = bytes.fromhex(spec.identity.mac.replace(":", ""))
    return struct.pack("!IB", 0x80000000 | spec.enterprise_number, 3) + mac


def sys_object_id_for(spec: CameraSpec) -> Oid:
    """sysObjectID: ``enterprises.<vendor>.1.<product>``, product a stable hash of the model.

    CRC-32 rather than ``hash()`` because the latter is salted per process; all units of a
    model share the value, like a real product OID.
    """
    product = zlib.crc32(spec.identity.model.encode("utf-8")) & 0x7FFFFFFF
    return (1, 3, 6, 1, 4, 1, spec.enterprise_number, 1, product)


# -- the objects served --------------------------------------------------------------------------

_SYSTEM: Final = (1, 3, 6, 1, 2, 1, 1)
_INTERFACES: Final = (1, 3, 6, 1, 2, 1, 2)
_IF_ENTRY: Final = (*_INTERFACES, 2, 1)
_ENT_PHYSICAL_ENTRY: Final = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
_SNMP_ENGINE: Final = (1, 3, 6, 1, 6, 3, 10, 2, 1)

SYS_UPTIME: Final = (*_SYSTEM, 3, 0)
SNMP_ENGINE_BOOTS: Final = (*_SNMP_ENGINE, 2, 0)
SNMP_ENGINE_TIME: Final = (*_SNMP_ENGINE, 3, 0)

_INT32_MAX: Final = 2**31 - 1

#: Objects whose value changes while the agent runs: computed from the state per request.
#: Module-level so all agents share the one table.
_DYNAMIC: Final[Mapping[Oid, Callable[[CameraState], Any]]] = {
    SYS_UPTIME: lambda st: rfc1902.TimeTicks(st.uptime_ticks()),
    SNMP_ENGINE_BOOTS: lambda st: rfc1902.Integer32(min(st.boots, _INT32_MAX)),
    SNMP_ENGINE_TIME: lambda st: rfc1902.Integer32(min(max(int(st.uptime_s()), 0), _INT32_MAX)),
}


def _text(value: str) -> Any:
    # pyasn1 would encode a str as ISO 8859-1 and fail on e.g. a Chinese street address;
    # SnmpAdminString and DisplayString content is UTF-8 on every camera we model.
    return rfc1902.OctetString(value.encode("utf-8"))


def _static_values(spec: CameraSpec, engine_id: bytes) -> dict[Oid, Any]:
    """Everything that only changes when the spec does, rendered once as pyasn1 values."""
    ident = spec.identity
    sys_oid = rfc1902.ObjectIdentifier(sys_object_id_for(spec))
    mac = bytes.fromhex(ident.mac.replace(":", ""))
    values: dict[Oid, Any] = {
        (*_SYSTEM, 1, 0): _text(f"{ident.manufacturer} {ident.model} firmware {ident.firmware}"),
        (*_SYSTEM, 2, 0): sys_oid,
        (*_SYSTEM, 4, 0): _text(spec.snmp.contact),
        (*_SYSTEM, 5, 0): _text(spec.hostname),
        (*_SYSTEM, 6, 0): _text(spec.location.address),
        (*_SYSTEM, 7, 0): rfc1902.Integer32(SYS_SERVICES),
        # IF-MIB: one Ethernet port, up.
        (*_INTERFACES, 1, 0): rfc1902.Integer32(1),  # ifNumber
        (*_IF_ENTRY, 1, 1): rfc1902.Integer32(1),  # ifIndex
        (*_IF_ENTRY, 2, 1): _text("eth0"),  # ifDescr
        (*_IF_ENTRY, 3, 1): rfc1902.Integer32(6),  # ifType: ethernetCsmacd
        (*_IF_ENTRY, 4, 1): rfc1902.Integer32(1500),  # ifMtu
        (*_IF_ENTRY, 5, 1): rfc1902.Gauge32(100_000_000),  # ifSpeed: 100 Mbit/s
        (*_IF_ENTRY, 6, 1): rfc1902.OctetString(mac),  # ifPhysAddress
        (*_IF_ENTRY, 7, 1): rfc1902.Integer32(1),  # ifAdminStatus: up
        (*_IF_ENTRY, 8, 1): rfc1902.Integer32(1),  # ifOperStatus: up
        (*_IF_ENTRY, 9, 1): rfc1902.TimeTicks(0),  # ifLastChange: since boot
        # ENTITY-MIB: the camera as a single chassis.
        (*_ENT_PHYSICAL_ENTRY, 2, 1): _text(f"{ident.manufacturer} {ident.model} IP camera"),
        (*_ENT_PHYSICAL_ENTRY, 3, 1): sys_oid,  # entPhysicalVendorType
        (*_ENT_PHYSICAL_ENTRY, 4, 1): rfc1902.Integer32(0),  # entPhysicalContainedIn
        (*_ENT_PHYSICAL_ENTRY, 5, 1): rfc1902.Integer32(3),  # entPhysicalClass: chassis
        (*_ENT_PHYSICAL_ENTRY, 6, 1): rfc1902.Integer32(-1),  # entPhysicalParentRelPos
        (*_ENT_PHYSICAL_ENTRY, 7, 1): _text(ident.model),  # entPhysicalName
        (*_ENT_PHYSICAL_ENTRY, 8, 1): _text(ident.hardware_id),  # entPhysicalHardwareRev
        (*_ENT_PHYSICAL_ENTRY, 9, 1): _text(ident.firmware),  # entPhysicalFirmwareRev
        (*_ENT_PHYSICAL_ENTRY, 10, 1): _text(ident.firmware),  # entPhysicalSoftwareRev
        (*_ENT_PHYSICAL_ENTRY, 11, 1): _text(ident.serial),  # entPhysicalSerialNum
        (*_ENT_PHYSICAL_ENTRY, 12, 1): _text(ident.manufacturer),  # entPhysicalMfgName
        (*_ENT_PHYSICAL_ENTRY, 13, 1): _text(ident.model),  # entPhysicalModelName
        (*_ENT_PHYSICAL_ENTRY, 16, 1): rfc1902.Integer32(2),  # entPhysicalIsFRU: false
        # SNMP-FRAMEWORK-MIB (boots and time are dynamic).
        (*_SNMP_ENGINE, 1, 0): rfc1902.OctetString(engine_id),
        (*_SNMP_ENGINE, 4, 0): rfc1902.Integer32(MAX_MESSAGE_SIZE),
    }
    return values


class _CameraMib:
    """MIB instrumentation serving the camera's objects from a sorted OID list.

    Stands in for pysnmp's ``MibInstrumController`` for the SNMP context the responders read
    from. pysnmp's own controller would need IF-MIB and ENTITY-MIB (not bundled with pysnmp,
    so compiled ones) executed into every engine's MIB builder, plus scalar-instance objects
    per value; a bisect over ~35 OIDs is all a camera needs, and keeps the engine's internal
    tables (USM users and keys, communities) out of any walk by construction.
    """

    def __init__(self, state: CameraState, static: dict[Oid, Any]) -> None:
        self._state = state
        self.load(static)

    def load(self, static: dict[Oid, Any]) -> None:
        self._static = static
        self._oids: list[Oid] = sorted({*static, *_DYNAMIC})
        # The managed object of each instance (scalar.0 -> scalar, column.1 -> column): a GET
        # of a missing instance of a known object is noSuchInstance, anything else
        # noSuchObject (RFC 3416 4.2.1).
        self._objects = {oid[:-1] for oid in self._oids}

    def value(self, oid: Oid) -> Any:
        dynamic = _DYNAMIC.get(oid)
        return dynamic(self._state) if dynamic is not None else self._static[oid]

    @staticmethod
    def _denied(oid: Oid, idx: int, context: dict[str, Any]) -> bool:
        """Ask the responder's access check; True means "not in view" (skip the object)."""
        ac_fun = context.get("acFun")
        if ac_fun is None:
            return False
        return bool(ac_fun("read", (oid, None), **{**context, "idx": idx}))

    # The three calls pysnmp's command responders make; varBinds are (name, value) pairs.
    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            if oid in self._static or oid in _DYNAMIC:
                if self._denied(oid, idx, context):
                    out.append((oid, rfc1905.noSuchObject))
                else:
                    out.append((oid, self.value(oid)))
            elif oid[:-1] in self._objects:
                out.append((oid, rfc1905.noSuchInstance))
            else:
                out.append((oid, rfc1905.noSuchObject))
        return out

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            # Tuples order like OIDs do (a prefix sorts before its extensions), so the first
            # entry greater than the request is its lexicographic successor.
            pos = bisect.bisect_right(self._oids, oid)
            while pos < len(self._oids) and self._denied(self._oids[pos], idx, context):
                pos += 1
            if pos < len(self._oids):
                out.append((self._oids[pos], self.value(self._oids[pos])))
            else:
                out.append((oid, rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        # Read-only agent: no variable is accessible for writing by anyone (RFC 3416 4.2.5).
        name = tuple(var_binds[0][0]) if var_binds else ()
        raise smi_error.NoAccessError(name=name, idx=0)


# -- access control ------------------------------------------------------------------------------

#: Our private access-control model id (pysnmp uses 0 for "void" and 3 for VACM).
_ACM_ID: Final = 0xCA3F

_NO_AUTH, _AUTH_NO_PRIV, _AUTH_PRIV = 1, 2, 3

#: securityName the community maps to (SNMPv1/v2c securityModel 1 and 2).
_COMMUNITY_SECURITY_NAME: Final = "camfleet-community"
_COMMUNITY_INDEX: Final = "camfleet"


class _ReadOnlyAccess:
    """Access control: who may read at which minimum security level; nobody may write.

    Does what ``rouser NAME priv`` / ``rocommunity`` do on a net-snmp based camera, without
    loading SNMP-VIEW-BASED-ACM-MIB and four VACM tables into every engine.
    """

    def __init__(self) -> None:
        #: (securityModel, securityName) -> lowest securityLevel accepted.
        self.readers: dict[tuple[int, str], int] = {}

    def is_access_allowed(  # noqa: PLR0917 (pysnmp calls access models positionally)
        self,
        snmp_engine: Any,
        security_model: Any,
        security_name: Any,
        security_level: Any,
        view_type: str,
        context_name: Any,
        variable_name: Any,
    ) -> None:
        needed = self.readers.get((int(security_model), str(security_name)))
        if view_type != "read" or needed is None or int(security_level) < needed:
            raise proto_error.StatusInformation(errorIndication=errind.noAccessEntry)


# The stock responders, pointed at _ReadOnlyAccess instead of VACM.
class _GetResponder(cmdrsp.GetCommandResponder):  # type: ignore[misc]
    ACM_ID = _ACM_ID


class _NextResponder(cmdrsp.NextCommandResponder):  # type: ignore[misc]
    ACM_ID = _ACM_ID


class _BulkResponder(cmdrsp.BulkCommandResponder):  # type: ignore[misc]
    ACM_ID = _ACM_ID


class _SetResponder(cmdrsp.SetCommandResponder):  # type: ignore[misc]
    ACM_ID = _ACM_ID


_AUTH_PROTOCOLS: Final[Mapping[str, Oid]] = {
    "none": config.USM_AUTH_NONE,
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
}
_PRIV_PROTOCOLS: Final[Mapping[str, Oid]] = {
    "none": config.USM_PRIV_NONE,
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
}


def _security_level(user: SnmpV3User) -> int:
    if user.auth_protocol == "none":
        return _NO_AUTH
    return _AUTH_NO_PRIV if user.priv_protocol == "none" else _AUTH_PRIV


@functools.lru_cache(maxsize=256)
def _master_keys(user: SnmpV3User) -> tuple[Any, Any]:
    """RFC 3414 A.2 password-to-key (a 1 MB hash per key), once per user definition.

    A fleet usually shares one monitoring user, so 1000 agents hash it once, and each engine
    only localises the master keys to its own engine ID (cheap).
    """
    auth = _AUTH_PROTOCOLS[user.auth_protocol]
    priv = _PRIV_PROTOCOLS[user.priv_protocol]
    auth_key = None
    priv_key = None
    if user.auth_protocol != "none":
        auth_key = config.AUTH_SERVICES[auth].hash_passphrase(
            rfc1902.OctetString(user.auth_key.encode("utf-8")))
    if user.priv_protocol != "none":
        priv_key = config.PRIV_SERVICES[priv].hash_passphrase(
            auth, rfc1902.OctetString(user.priv_key.encode("utf-8")))
    return auth_key, priv_key


# -- a cheaper MIB builder -----------------------------------------------------------------------

_CORE_MIB_PACKAGES: Final = ("pysnmp.smi.mibs.instances", "pysnmp.smi.mibs")


@functools.cache
def _core_mib_code(module: str) -> CodeType | None:
    """Compiled code of one of pysnmp's bundled MIB modules, compiled once per process."""
    for package in _CORE_MIB_PACKAGES:
        source = importlib.resources.files(package) / f"{module}.py"
        if source.is_file():
            return compile(source.read_bytes(), str(source), "exec")
    return None


class _CachedMibBuilder(builder.MibBuilder):  # type: ignore[misc]
    """A MibBuilder that executes cached code objects instead of recompiling MIB sources.

    Unless Python runs with -O, pysnmp loads every MIB module through ``runpy.run_path``,
    i.e. reads and compiles the source again for every engine: ~70 ms and ~0.2 MB of code
    objects per engine. Executing a shared code object into a fresh namespace is what pysnmp
    itself does under -O; each engine still gets its own module objects and tables.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cached_loaded: set[str] = set()

    def load_module(self, modName: str, **userCtx: Any) -> Any:
        if modName in self._cached_loaded:
            return self
        code = _core_mib_code(modName)
        if code is None:  # not a bundled module: let pysnmp search its paths as usual
            return super().load_module(modName, **userCtx)
        self._cached_loaded.add(modName)
        try:
            exec(code, {"mibBuilder": self, "userCtx": userCtx})
        except Exception as exc:
            self._cached_loaded.discard(modName)
            raise smi_error.MibLoadError(f"MIB module {modName!r} load error: {exc}") from exc
        return self


# -- the agent -----------------------------------------------------------------------------------

#: Seconds between pysnmp housekeeping ticks (cache expiry). The default 0.1 s would mean
#: 10 000 wake-ups per second for 1000 cameras; an agent has nothing time-critical there.
_TIMER_RESOLUTION_S: Final = 5.0


class SnmpAgent:
    """The SNMP side of one simulated camera; serves ``state`` on UDP ``address:port``.

    Not thread-safe: start, stop and refresh it on the event loop that owns ``state``.
    ``spec.snmp.enabled`` is not consulted: whoever owns the camera decides whether to start
    the agent.
    """

    def __init__(self, state: CameraState, address: str, port: int) -> None:
        self._state = state
        self.address = address
        #: The bound port once started (useful when constructed with port 0).
        self.port = port
        self._engine: Any = None
        self._transport: Any = None
        self._socket: socket.socket | None = None
        self._lcd_boots: Any = None
        self._lcd_time: Any = None
        self._access = _ReadOnlyAccess()
        self._applied: SnmpSpec | None = None
        self._engine_id = engine_id_for(state.spec)
        self._mib = _CameraMib(state, _static_values(state.spec, self._engine_id))

    @property
    def engine_id(self) -> bytes:
        return self._engine_id

    @property
    def running(self) -> bool:
        return self._engine is not None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind ``address:port`` and answer requests until :meth:`stop`."""
        if self._engine is not None:
            raise RuntimeError("SNMP agent already started")
        spec = self._state.spec
        _check_privacy_support(spec.snmp)
        loop = asyncio.get_running_loop()
        # The engine ID is derived at start, so a replaced spec with a new MAC or enterprise
        # takes effect on the next start (refresh() keeps it: v3 keys are localised to it).
        self._engine_id = engine_id_for(spec)
        self._mib.load(_static_values(spec, self._engine_id))
        snmp_engine = self._make_engine()

        # Bind the socket ourselves: a bind error (port taken) surfaces here, synchronously,
        # and port 0 resolves before start() returns.
        ip = ipaddress.ip_address(self.address)
        carrier = udp6 if ip.version == 6 else udp
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                             socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, self.port))
            sock.setblocking(False)
            transport = (carrier.Udp6AsyncioTransport if ip.version == 6
                         else carrier.UdpAsyncioTransport)(loop=loop)
            dispatcher = AsyncioDispatcher(loop=loop)
            dispatcher.set_timer_resolution(_TIMER_RESOLUTION_S)
            dispatcher.register_transport(carrier.DOMAIN_NAME, transport)
            snmp_engine.register_transport_dispatcher(dispatcher)
            # Route datagrams through _on_message (state sync + crash guard) rather than
            # straight into the engine.
            dispatcher.unregister_recv_callback()
            dispatcher.register_recv_callback(self._on_message)
            # Live before the endpoint exists, so the very first datagram is served.
            self._engine, self._transport, self._socket = snmp_engine, transport, sock
            await loop.create_datagram_endpoint(lambda: transport, sock=sock)
        except BaseException:
            self._engine = self._transport = self._socket = None
            if snmp_engine.transport_dispatcher is not None:
                snmp_engine.close_dispatcher()
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        log.debug("SNMP agent for %s on %s:%d", spec.id, self.address, self.port)

    async def stop(self) -> None:
        """Close the socket and drop the engine. Safe to call twice or before start()."""
        snmp_engine, transport, sock = self._engine, self._transport, self._socket
        self._engine = self._transport = self._socket = None
        self._lcd_boots = self._lcd_time = self._applied = None
        if snmp_engine is None:
            return
        # Stop reading first and let datagrams already handed to the loop drain (they find
        # no engine and are dropped); unregistering the transport under them would make
        # pysnmp raise "Unregistered transport" into the loop's error log.
        if transport is not None and transport.transport is not None:
            transport.transport.close()
        await asyncio.sleep(0)
        snmp_engine.close_dispatcher()  # unregisters everything, cancels the timer task
        await asyncio.sleep(0)  # let the cancelled timer task finish
        if sock is not None:
            sock.close()  # normally closed by asyncio by now; makes "port free" certain

    def refresh(self) -> None:
        """Re-read identity, location and credentials from ``state.spec`` (it may be replaced).

        The engine ID stays the one chosen at start (see :meth:`start`).
        """
        spec = self._state.spec
        self._mib.load(_static_values(spec, self._engine_id))
        if self._engine is not None and spec.snmp != self._applied:
            _check_privacy_support(spec.snmp)
            self._configure_access(self._engine, spec.snmp)

    # -- internals ---------------------------------------------------------------------------
    def _make_engine(self) -> Any:
        mib_builder = _CachedMibBuilder()
        snmp_engine = engine.SnmpEngine(
            maxMessageSize=MAX_MESSAGE_SIZE,
            msgAndPduDsp=MsgAndPduDispatcher(instrum.MibInstrumController(mib_builder)),
        )
        # Set the engine ID the way SnmpEngine(snmpEngineID=...) does, minus its side effect:
        # that path persists a boots counter under $TMPDIR/__pysnmp/<id>/ for every engine.
        # Our boots come from the camera state instead.
        (engine_id, self._lcd_boots, self._lcd_time) = mib_builder.import_symbols(
            "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime")
        engine_id.syntax = engine_id.syntax.clone(self._engine_id)
        snmp_engine.snmpEngineID = engine_id.syntax
        snmp_engine.access_control_model[_ACM_ID] = self._access

        snmp_context = context.SnmpContext(snmp_engine)  # after the ID: it copies it
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", self._mib)
        for responder in (_GetResponder, _NextResponder, _BulkResponder, _SetResponder):
            responder(snmp_engine, snmp_context)

        self._configure_access(snmp_engine, self._state.spec.snmp)
        self._sync_lcd()
        return snmp_engine

    def _configure_access(self, snmp_engine: Any, snmp: SnmpSpec) -> None:
        """Replace the community and USM users with those of ``snmp``."""
        old = self._applied
        if old is not None:
            if old.community is not None:
                config.delete_v1_system(snmp_engine, _COMMUNITY_INDEX)
            for user in old.v3_users:
                config.delete_v3_user(snmp_engine, user.name)
        readers: dict[tuple[int, str], int] = {}
        if snmp.community is not None:
            config.add_v1_system(snmp_engine, _COMMUNITY_INDEX, snmp.community,
                                 securityName=_COMMUNITY_SECURITY_NAME)
            readers[(1, _COMMUNITY_SECURITY_NAME)] = _NO_AUTH  # SNMPv1
            readers[(2, _COMMUNITY_SECURITY_NAME)] = _NO_AUTH  # SNMPv2c
        for user in snmp.v3_users:
            auth_key, priv_key = _master_keys(user)
            config.add_v3_user(
                snmp_engine, user.name,
                _AUTH_PROTOCOLS[user.auth_protocol], auth_key,
                _PRIV_PROTOCOLS[user.priv_protocol], priv_key,
                authKeyType=config.USM_KEY_TYPE_MASTER,
                privKeyType=config.USM_KEY_TYPE_MASTER,
            )
            readers[(3, user.name)] = _security_level(user)
        self._access.readers = readers
        self._applied = snmp

    def _sync_lcd(self) -> None:
        """Copy boots and uptime from the camera state into the engine's USM view of itself.

        USM reads snmpEngineBoots/snmpEngineTime from the engine's own MIB for the timeliness
        check and for the values it puts into responses and reports, so they must follow the
        state (a reboot bumps boots and restarts the clock; RFC 3414 2.2.2).
        """
        state = self._state
        boots = min(max(state.boots, 1), _INT32_MAX)
        if self._lcd_boots.syntax != boots:
            self._lcd_boots.syntax = self._lcd_boots.syntax.clone(boots)
        # pysnmp keeps snmpEngineTime as the wall-clock second the engine (re)booted and
        # subtracts it from time.time() on read. Clamped: a test clock running backwards
        # must not push the value out of its 0..2^31-1 range (USM would then drop everything).
        uptime = min(max(state.uptime_s(), 0.0), _INT32_MAX)
        self._lcd_time.syntax = self._lcd_time.syntax.clone(int(time.time() - uptime))

    def _on_message(self, dispatcher: Any, domain: Any, address: Any, message: bytes) -> None:
        snmp_engine = self._engine
        if snmp_engine is None:  # a datagram that was queued while stopping
            return
        try:
            self._sync_lcd()
            snmp_engine.message_dispatcher.receive_message(snmp_engine, domain, address, message)
        except Exception:
            # A malformed or hostile datagram must never take the camera's agent down; pysnmp
            # counts most of them (snmpInASNParseErrs) but not every decoder path is guarded.
            log.debug("SNMP agent %s:%d dropped a message from %s", self.address, self.port,
                      address, exc_info=True)


def _check_privacy_support(snmp: SnmpSpec) -> None:
    """pysnmp does DES/AES through the optional ``cryptography`` package; fail at start, not
    on the first encrypted request."""
    if any(u.priv_protocol != "none" for u in snmp.v3_users) and (
        importlib.util.find_spec("cryptography") is None
    ):
        raise RuntimeError("SNMPv3 privacy (DES/AES) is configured but the 'cryptography' "
                           "package is not installed; pysnmp needs it to encrypt")
