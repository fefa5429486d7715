"""pysnmp's extension points, each deferring to the camera whose datagram is being served.

One engine serves many cameras: its transports hand each datagram over on the socket it came
in on, and its community check, access control and MIB ask the host for the camera being
served instead of the engine's shared tables (see :mod:`simulators.snmp_agent`).
"""

from __future__ import annotations

import hmac
from typing import Any, Final, Protocol

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity.rfc3413 import cmdrsp
from pysnmp.proto import errind
from pysnmp.proto import error as proto_error
from pysnmp.proto.secmod import rfc2576 as community_secmod

from simulators.snmp_agent._objects import DeviceMib


class ServedCamera(Protocol):
    """What the hooks read of the camera being served (``HostedAgent``'s package-internal
    state)."""

    #: (securityModel, securityName) -> the lowest securityLevel it may read at.
    _readers: dict[tuple[int, str], int]
    #: Who may write, likewise (nobody on a camera; a switch's PoE ports are set).
    _writers: dict[tuple[int, str], int]
    #: The v1/v2c community, or None when v1/v2c are off.
    _community: bytes | None
    #: The v1/v2c community that may also write, or None.
    _write_community: bytes | None
    #: The camera's engine ID, as the engine's SnmpEngineID type.
    _engine_id_value: Any
    _mib: DeviceMib

    def _received(self, transport: Any, message: bytes, address: Any) -> None: ...


class Serving(Protocol):
    """The host: it knows which camera's datagram the engine is processing."""

    def _serving_agent(self) -> ServedCamera: ...


#: Our private access-control model id (pysnmp uses 0 for "void" and 3 for VACM).
ACM_ID: Final = 0xCA3F

#: securityName a matching community maps to (SNMPv1/v2c securityModel 1 and 2).
COMMUNITY_SECURITY_NAME: Final = "camfleet-community"
#: securityName the write community maps to (a switch's ``rwcommunity``).
WRITE_COMMUNITY_SECURITY_NAME: Final = "camfleet-community-rw"


class ReadOnlyAccess:
    """Access control: who may read the served camera at which minimum security level; nobody
    may write a camera, and only the write community or a write user a switch.

    Does what ``rouser NAME priv`` / ``rocommunity`` do on a net-snmp based camera, without
    loading SNMP-VIEW-BASED-ACM-MIB and four VACM tables into the engine, tables that all
    cameras on it would share.
    """

    def __init__(self, host: Serving) -> None:
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
        agent = self._host._serving_agent()
        table = {"read": agent._readers, "write": agent._writers}.get(view_type, {})
        needed = table.get((int(security_model), str(security_name)))
        if needed is None or int(security_level) < needed:
            raise proto_error.StatusInformation(errorIndication=errind.noAccessEntry)


class CommunityV1(community_secmod.SnmpV1SecurityModel):  # type: ignore[misc]
    """The community check against the camera being served, not the engine's community table.

    pysnmp's ``_com2sec`` looks communities up in SNMP-COMMUNITY-MIB, shared by all cameras
    on the engine, whose only per-row filter is a transport tag matched against the *peer's*
    address: it cannot say "this community, but only on that camera's socket", so any
    camera's community would open every camera. The served camera's own community decides
    here, and "no community" means v1/v2c are off.
    """

    def __init__(self, host: Serving) -> None:
        super().__init__()
        self._host = host

    def _com2sec(self, snmp_engine: Any, community_name: Any,
                 transport_information: Any) -> tuple[str, Any, bytes]:
        agent = self._host._serving_agent()
        given = bytes(community_name)
        writer = agent._write_community
        if writer is not None and hmac.compare_digest(given, writer):
            return WRITE_COMMUNITY_SECURITY_NAME, agent._engine_id_value, b""
        expected = agent._community
        if expected is None or not hmac.compare_digest(given, expected):
            raise proto_error.StatusInformation(errorIndication=errind.unknownCommunityName)
        # (securityName, contextEngineId, contextName): the camera's own context.
        return COMMUNITY_SECURITY_NAME, agent._engine_id_value, b""


class CommunityV2c(CommunityV1):
    SECURITY_MODEL_ID = 2


class HostMib:
    """The MIB instrumentation the responders read: that of the camera being served."""

    def __init__(self, host: Serving) -> None:
        self._host = host

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.read_variables(*var_binds, **context)

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.read_next_variables(*var_binds, **context)

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        return self._host._serving_agent()._mib.write_variables(*var_binds, **context)


# The stock responders, pointed at ReadOnlyAccess instead of VACM.
class GetResponder(cmdrsp.GetCommandResponder):  # type: ignore[misc]
    ACM_ID = ACM_ID


class NextResponder(cmdrsp.NextCommandResponder):  # type: ignore[misc]
    ACM_ID = ACM_ID


class BulkResponder(cmdrsp.BulkCommandResponder):  # type: ignore[misc]
    ACM_ID = ACM_ID


class SetResponder(cmdrsp.SetCommandResponder):  # type: ignore[misc]
    ACM_ID = ACM_ID


#: Every responder an engine needs, all read-only by :class:`ReadOnlyAccess`.
RESPONDERS: Final = (GetResponder, NextResponder, BulkResponder, SetResponder)


class _DirectDelivery:
    """Hands each datagram to its camera's agent at once.

    pysnmp's datagram transports defer every datagram with ``loop.call_soon`` and let the
    dispatcher find the transport's domain again. Delivering it here, on the socket it came
    in on, says which camera it is for without any lookup, and leaves nothing queued behind
    a stop(): a deferred datagram whose transport has been unregistered makes pysnmp raise
    "Unregistered transport" into the loop's error log.
    """

    agent: ServedCamera

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.agent._received(self, datagram, address)


class Udp4Endpoint(_DirectDelivery, udp.UdpAsyncioTransport):  # type: ignore[misc]
    pass


class Udp6Endpoint(_DirectDelivery, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    pass
