"""SNMP agents (v1, v2c and v3) for simulated cameras, built on pysnmp.

An agent answers GET, GETNEXT and GETBULK (so ``snmpwalk`` and ``snmpbulkwalk`` work) for the
objects a device manager looks at on a real IP camera: the MIB-II system group, a one-row
ifTable, one ENTITY-MIB entPhysicalTable row and the SNMP-FRAMEWORK-MIB engine scalars. It is
read-only: every SET is answered with ``noAccess`` and never touches the camera.

Two ways to run agents, one implementation:

* :class:`SnmpAgentHost` -- one pysnmp engine per event loop serving many cameras, each on its
  own UDP socket. This is what a fleet uses: per camera ~62 KiB (~70 KiB once polled) and
  ~4 ms to start, most of the time and half of the memory being the camera's USM user row;
  the engine itself is ~4 MiB, once.
* :class:`SnmpAgent` -- one camera on a private host; the stand-alone form, at the cost of an
  engine per camera (~0.7 MiB, ~14 ms to start, ten times the idle CPU).

    >>> import asyncio
    >>> from simulators.spec import CameraSpec
    >>> from simulators.state import CameraState
    >>> async def main() -> None:
    ...     spec = CameraSpec.example().with_network(address="127.0.0.1")
    ...     async with SnmpAgentHost() as host:
    ...         camera = await host.add(CameraState(spec), "127.0.0.1", 0)
    ...         # snmpget -v2c -c c4mfleet-ro 127.0.0.1:<camera.port> 1.3.6.1.2.1.1.5.0
    ...         await camera.stop()   # a reboot or "removed" fault: the port is free ...
    ...         await camera.start()  # ... and bound again
    ...     agent = SnmpAgent(CameraState(spec), "127.0.0.1", 0)
    ...     await agent.start()
    ...     await agent.stop()
    >>> asyncio.run(main())

Each hosted camera keeps everything a device manager can tell apart: its engine ID (derived
from its MAC), snmpEngineBoots/snmpEngineTime (from ``state.boots`` and its uptime), its v2c
community, its v3 users (rows of the shared USM user table indexed by the camera's engine ID,
keys localised to it), the security level each user needs, and its objects.

How one engine serves many cameras: every camera's socket is registered with the engine's
transport dispatcher as a transport of its own (``snmpUDPDomain + (n,)``), so responses go
out of the socket the request came in on. A datagram is handed to the engine synchronously
from that socket's ``datagram_received``, with the host's "camera being served" set to the
camera the socket belongs to; for the duration of that call the engine's own identity (the
snmpEngineID, snmpEngineBoots and snmpEngineTime instances in its LCD, which USM and the
message processing models read) is the camera's, and the few places that need per-camera
data (community check, access control, the objects) ask the host for the camera being
served.

**Assumption** (pysnmp 7.1.x): the engine processes a request completely inside
``MsgAndPduDispatcher.receive_message`` -- decode, USM checks, the command responder, and the
response or report handed to the transport -- without yielding to the event loop. Were a
future pysnmp to defer any of it (e.g. async responders), the per-camera lookups would raise
(see ``SnmpAgentHost._serving_agent``) or responses and reports would carry another camera's
engine ID and boots; ``test_interleaved_requests_to_two_cameras_keep_their_identities``
fails either way.

Values that change (sysUpTime, snmpEngineBoots, snmpEngineTime) are read from the live
:class:`~simulators.state.CameraState` on every request, so ``state.reboot()`` is visible at
once, to v3 clients too (they re-synchronise through the usual notInTimeWindow report).
Identity and location are rendered from ``state.spec`` at construction and start, and again
on :meth:`HostedAgent.refresh`.

The camera objects do not go through pysnmp's MIB machinery at all (see :class:`_CameraMib`),
and the MIB modules an engine needs internally are compiled once per process instead of once
per engine (see :class:`devmgr.protocols.pysnmp_mibs.CachedMibBuilder`).
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import hmac
import importlib.resources
import importlib.util
import ipaddress
import itertools
import logging
import socket
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto import error as proto_error
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.proto.secmod import rfc2576 as community_secmod
from pysnmp.smi import error as smi_error
from pysnmp.smi import instrum

from devmgr.protocols.pysnmp_mibs import CachedMibBuilder
from simulators.spec import CameraSpec, SnmpSpec, SnmpV3User
from simulators.state import CameraState

__all__ = ["HostedAgent", "SnmpAgent", "SnmpAgentHost", "engine_id_for", "sys_object_id_for"]

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


# -- per-camera security, on one engine ----------------------------------------------------------

#: Our private access-control model id (pysnmp uses 0 for "void" and 3 for VACM).
_ACM_ID: Final = 0xCA3F

_NO_AUTH, _AUTH_NO_PRIV, _AUTH_PRIV = 1, 2, 3

#: securityName a matching community maps to (SNMPv1/v2c securityModel 1 and 2).
_COMMUNITY_SECURITY_NAME: Final = "camfleet-community"


class _ReadOnlyAccess:
    """Access control: who may read the served camera at which minimum security level; nobody
    may write.

    Does what ``rouser NAME priv`` / ``rocommunity`` do on a net-snmp based camera, without
    loading SNMP-VIEW-BASED-ACM-MIB and four VACM tables into the engine, tables that all
    cameras on it would share.
    """

    def __init__(self, host: SnmpAgentHost) -> None:
        self._host = host

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
        readers = self._host._serving_agent()._readers
        needed = readers.get((int(security_model), str(security_name)))
        if view_type != "read" or needed is None or int(security_level) < needed:
            raise proto_error.StatusInformation(errorIndication=errind.noAccessEntry)


class _CommunityV1(community_secmod.SnmpV1SecurityModel):  # type: ignore[misc]
    """The community check against the camera being served, not the engine's community table.

    pysnmp's ``_com2sec`` looks communities up in SNMP-COMMUNITY-MIB, shared by all cameras
    on the engine, whose only per-row filter is a transport tag matched against the *peer's*
    address: it cannot say "this community, but only on that camera's socket", so any
    camera's community would open every camera. The served camera's own community decides
    here, and "no community" means v1/v2c are off.
    """

    def __init__(self, host: SnmpAgentHost) -> None:
        super().__init__()
        self._host = host

    def _com2sec(self, snmp_engine: Any, community_name: Any,
                 transport_information: Any) -> tuple[str, Any, bytes]:
        agent = self._host._serving_agent()
        expected = agent._community
        if expected is None or not hmac.compare_digest(bytes(community_name), expected):
            raise proto_error.StatusInformation(errorIndication=errind.unknownCommunityName)
        # (securityName, contextEngineId, contextName): the camera's own context.
        return _COMMUNITY_SECURITY_NAME, agent._engine_id_value, b""


class _CommunityV2c(_CommunityV1):
    SECURITY_MODEL_ID = 2


class _HostMib:
    """The MIB instrumentation the responders read: that of the camera being served."""

    def __init__(self, host: SnmpAgentHost) -> None:
        self._host = host

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.read_variables(*var_binds, **context)

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.read_next_variables(*var_binds, **context)

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.write_variables(*var_binds, **context)


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


def _add_user(snmp_engine: Any, user: SnmpV3User, engine_id: bytes) -> None:
    """A row of the engine's USM user table for ``user`` on the camera with ``engine_id``.

    USM looks users up by (msgAuthoritativeEngineID, userName), and a request is only
    processed as authoritative when that engine ID is the one being served, so each camera
    sees its own users with keys localised to its own engine ID. ~3 ms and ~32 KiB a row,
    most of the per-camera cost on a host.
    """
    auth_key, priv_key = _master_keys(user)
    config.add_v3_user(
        snmp_engine, user.name,
        _AUTH_PROTOCOLS[user.auth_protocol], auth_key,
        _PRIV_PROTOCOLS[user.priv_protocol], priv_key,
        securityEngineId=engine_id,
        authKeyType=config.USM_KEY_TYPE_MASTER,
        privKeyType=config.USM_KEY_TYPE_MASTER,
    )


def _delete_user(snmp_engine: Any, name: str, engine_id: bytes) -> None:
    """Drop the USM row of one camera's user.

    Not ``config.delete_v3_user``: after dropping the row it walks the whole table for users
    cloned from it (a manager-side thing this engine never does), 0.6 s per call with 1000
    cameras, and it also destroys the pysnmpUsmSecretEntry row, which is keyed by user name
    only and so shared by every camera with a user of that name. Destroying the row through
    its RowStatus (usmUserStatus, column 13 in RFC 3414) drops its pysnmpUsmKeyEntry
    augmentation (the localised keys) with it.
    """
    (entry,) = snmp_engine.get_mib_builder().import_symbols(
        "SNMP-USER-BASED-SM-MIB", "usmUserEntry")
    index = entry.getInstIdFromIndices(engine_id, name)
    snmp_engine.message_dispatcher.mib_instrum_controller.write_variables(
        ((*entry.name, 13, *index), "destroy"), snmpEngine=snmp_engine)


# -- the host -----------------------------------------------------------------------------------

#: Seconds between pysnmp housekeeping ticks (cache expiry). The default 0.1 s would mean ten
#: wake-ups per second per engine for nothing time-critical.
_TIMER_RESOLUTION_S: Final = 5.0


class _DirectDelivery:
    """Hands each datagram to its camera's agent at once.

    pysnmp's datagram transports defer every datagram with ``loop.call_soon`` and let the
    dispatcher find the transport's domain again. Delivering it here, on the socket it came
    in on, says which camera it is for without any lookup, and leaves nothing queued behind
    a stop(): a deferred datagram whose transport has been unregistered makes pysnmp raise
    "Unregistered transport" into the loop's error log.
    """

    agent: HostedAgent

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.agent._received(self, datagram, address)


class _Udp4Endpoint(_DirectDelivery, udp.UdpAsyncioTransport):  # type: ignore[misc]
    pass


class _Udp6Endpoint(_DirectDelivery, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    pass


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
        self._serving: HostedAgent | None = None
        #: Every agent on this host, in creation order (dict as an ordered set).
        self._agents: dict[HostedAgent, None] = {}
        #: Which agent's USM rows an engine ID names (two cameras cannot share one).
        self._engine_ids: dict[bytes, HostedAgent] = {}
        self._domains = itertools.count(1)

    @property
    def agents(self) -> tuple[HostedAgent, ...]:
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
        snmp_engine.security_models[_CommunityV1.SECURITY_MODEL_ID] = _CommunityV1(self)
        snmp_engine.security_models[_CommunityV2c.SECURITY_MODEL_ID] = _CommunityV2c(self)
        snmp_engine.access_control_model[_ACM_ID] = _ReadOnlyAccess(self)

        # The responders register with the dispatcher under their context's engine ID; the
        # empty one is the dispatcher's wildcard, so one set of responders serves every camera
        # (USM has already made sure a v3 request is for the camera being served). Set after
        # construction: SnmpContext() only takes valid (5..32 octet) engine IDs.
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.contextEngineId = rfc1902.OctetString(b"")
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _HostMib(self))
        for responder in (_GetResponder, _NextResponder, _BulkResponder, _SetResponder):
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

    async def remove(self, agent: HostedAgent) -> None:
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
    def _serve(self, agent: HostedAgent, message: bytes, address: Any) -> None:
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
            self._sync_lcd(agent._state)
            snmp_engine.message_dispatcher.receive_message(
                snmp_engine, agent._domain, address, message)
        except Exception:
            # A malformed or hostile datagram must never take the agents down; pysnmp counts
            # most of them (snmpInASNParseErrs) but not every decoder path is guarded.
            log.debug("SNMP agent %s:%d dropped a message from %s", agent.address, agent.port,
                      address, exc_info=True)
        finally:
            self._serving = None

    def _serving_agent(self) -> HostedAgent:
        agent = self._serving
        if agent is None:
            # pysnmp asked for per-camera data outside receive_message: the synchronous
            # processing this host relies on no longer holds (see the module docstring).
            raise RuntimeError("SNMP request processed outside its datagram callback; "
                               "SnmpAgentHost cannot tell which camera it is for")
        return agent

    def _sync_lcd(self, state: CameraState) -> None:
        """Copy boots and uptime from the camera state into the engine's view of itself.

        USM reads snmpEngineBoots/snmpEngineTime from the engine's LCD for the timeliness
        check and for the values it puts into responses and reports, so they must follow the
        served camera's state (a reboot bumps boots and restarts the clock; RFC 3414 2.2.2).
        """
        boots = min(max(state.boots, 1), _INT32_MAX)
        if self._lcd_boots.syntax != boots:
            self._lcd_boots.syntax = self._lcd_boots.syntax.clone(boots)
        # pysnmp keeps snmpEngineTime as the wall-clock second the engine (re)booted and
        # subtracts it from time.time() on read. Clamped: a test clock running backwards
        # must not push the value out of its 0..2^31-1 range (USM would then drop everything).
        uptime = min(max(state.uptime_s(), 0.0), _INT32_MAX)
        self._lcd_time.syntax = self._lcd_time.syntax.clone(int(time.time() - uptime))

    def _claim_engine_id(self, agent: HostedAgent, engine_id: bytes) -> None:
        owner = self._engine_ids.get(engine_id)
        if owner is not None and owner is not agent:
            raise RuntimeError(f"engine ID {engine_id.hex()} is already used by the camera on "
                               f"{owner.address}:{owner.port} on this SNMP host")
        if self._engine_ids.get(agent._engine_id) is agent:
            del self._engine_ids[agent._engine_id]
        self._engine_ids[engine_id] = agent


class HostedAgent:
    """The SNMP side of one simulated camera on a :class:`SnmpAgentHost`; serves ``state`` on
    UDP ``address:port`` with the camera's own identity, credentials and objects.

    Made by :meth:`SnmpAgentHost.agent` or :meth:`SnmpAgentHost.add`. ``stop()`` frees the
    socket and ``start()`` binds the same port again (a reboot, a "removed" fault and its
    clearing); the camera stays on the host in between. ``spec.snmp.enabled`` is not
    consulted: whoever owns the camera decides whether to start the agent.
    """

    def __init__(self, host: SnmpAgentHost, state: CameraState, address: str,
                 port: int) -> None:
        self._host = host
        self._state = state
        self.address = address
        #: The bound port once started (useful when constructed with port 0).
        self.port = port
        self._ip_version = ipaddress.ip_address(address).version
        # The transport domain that names this camera's socket in the engine's dispatcher.
        base = udp6.DOMAIN_NAME if self._ip_version == 6 else udp.DOMAIN_NAME
        self._domain: tuple[int, ...] = (*base, next(host._domains))
        self._transport: Any = None
        self._socket: socket.socket | None = None
        self._removed = False
        self._engine_id = engine_id_for(state.spec)
        self._engine_id_value: Any = None  # as the engine's SnmpEngineID type, from start()
        self._mib = _CameraMib(state, _static_values(state.spec, self._engine_id))
        #: v1/v2c community (None: v1/v2c off) and (securityModel, securityName) -> level.
        self._community: bytes | None = None
        self._readers: dict[tuple[int, str], int] = {}
        #: (engine, engine ID, users) whose USM rows exist, or None.
        self._registered: tuple[Any, bytes, tuple[SnmpV3User, ...]] | None = None
        self._applied: SnmpSpec | None = None
        host._agents[self] = None

    @property
    def engine_id(self) -> bytes:
        return self._engine_id

    @property
    def running(self) -> bool:
        return self._transport is not None

    @property
    def host(self) -> SnmpAgentHost:
        return self._host

    @property
    def state(self) -> CameraState:
        return self._state

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind ``address:port`` and answer requests until :meth:`stop`."""
        if self._transport is not None:
            raise RuntimeError("SNMP agent already started")
        host = self._host
        if self._removed or host._engine is None:
            raise RuntimeError("SNMP agent's host is not open" if not self._removed
                               else "SNMP agent was removed from its host")
        spec = self._state.spec
        _check_privacy_support(spec.snmp)
        # The engine ID is derived at start, so a replaced unit (new MAC or enterprise) gets
        # its new one on the next start; refresh() keeps it: v3 keys are localised to it.
        engine_id = engine_id_for(spec)
        host._claim_engine_id(self, engine_id)
        if engine_id != self._engine_id:
            self._drop_users()
            self._engine_id = engine_id
        self._engine_id_value = host._lcd_engine_id.syntax.clone(engine_id)
        self._mib.load(_static_values(spec, engine_id))
        self._apply_access(spec.snmp, register=True)

        # Bind the socket ourselves: a bind error (port taken) surfaces here, synchronously,
        # and port 0 resolves before start() returns.
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if self._ip_version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, self.port))
            sock.setblocking(False)
            transport = (_Udp6Endpoint if self._ip_version == 6 else _Udp4Endpoint)(loop=loop)
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
        log.debug("SNMP agent for %s on %s:%d", spec.id, self.address, self.port)

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
        """Re-read identity, location and credentials from ``state.spec`` (it may be replaced).

        The engine ID stays the one chosen at start (see :meth:`start`).
        """
        spec = self._state.spec
        self._mib.load(_static_values(spec, self._engine_id))
        if spec.snmp != self._applied:
            _check_privacy_support(spec.snmp)
            self._apply_access(spec.snmp, register=self._registered is not None)

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
            readers[(1, _COMMUNITY_SECURITY_NAME)] = _NO_AUTH  # SNMPv1
            readers[(2, _COMMUNITY_SECURITY_NAME)] = _NO_AUTH  # SNMPv2c
        for user in snmp.v3_users:
            readers[(3, user.name)] = _security_level(user)
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
            _add_user(snmp_engine, user, self._engine_id)
        self._registered = wanted

    def _drop_users(self) -> None:
        registered, self._registered = self._registered, None
        if registered is None:
            return
        snmp_engine, engine_id, users = registered
        if snmp_engine is self._host._engine:  # otherwise they went with a closed engine
            for user in users:
                _delete_user(snmp_engine, user.name, engine_id)


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
