"""SNMPv3 on pysnmp's v3arch engine: RFC 3414 discovery, then authenticated GETs.

pysnmp keeps USM users (with keys localised per remote engine) in MIB tables, writes them
through its full SET machinery and rebuilds its lookup map from the table whenever a row was
added since the last message. One engine for a whole sweep therefore turns quadratic; a fresh
engine every ``hosts_per_engine`` (:data:`DEFAULT_HOSTS_PER_ENGINE`) hosts keeps the tables
small, and engines are cheap to build here (MIB modules compiled once per process). Requests
go straight to the engine's message dispatcher with the host's address rather than through
v3arch ``get_cmd``, which would add two SNMP-TARGET-MIB rows per host. ``bench/README.md``
has the figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pysnmp.entity import config as snmp_config
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto import errind, rfc1902
from pysnmp.proto import error as proto_error
from pysnmp.proto.api import v2c
from pysnmp.proto.mpmod.rfc3412 import SnmpV3MessageProcessingModel
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.smi import instrum

from camfleet.errors import ErrorKind
from camfleet.protocols.pysnmp_mibs import CachedMibBuilder
from devmgr.snmp._answers import (
    V3_VAR_BINDS,
    Attempt,
    RemoteEngine,
    classify_failure,
    parse_identity,
)
from devmgr.snmp._plan import AUTH_PROTOCOLS, NO_AUTH_NO_PRIV, PRIV_PROTOCOLS, Plan, V3User
from devmgr.snmp._transport import TRANSPORTS, stop_dispatcher

#: securityName of the discovery request, a noAuthNoPriv USM row. With the engine ID unknown
#: (we make sure it is, see V3Engine._forget_engine) pysnmp sends the request with an empty
#: user name, as RFC 3414 4 says; the row only matters if pysnmp knew the engine after all.
_DISCOVERY_USER: Final = "camfleet-discovery"
#: Reports after which a request is re-sent at once: the engine ID or time window was stale
#: and pysnmp has learnt the right one from the report.
_RESYNC: Final = (errind.NotInTimeWindow, errind.UnknownEngineID)

#: How many hosts one v3 engine serves before a fresh one takes over (see V3Engine).
DEFAULT_HOSTS_PER_ENGINE: Final = 64


def _new_engine() -> Any:
    return SnmpEngine(msgAndPduDsp=MsgAndPduDispatcher(
        instrum.MibInstrumController(CachedMibBuilder())))


class V3Engine:
    """One pysnmp ``SnmpEngine`` serving the v3 requests of up to ``capacity`` hosts.

    Requests go straight to the engine's message dispatcher (RFC 3412 ``sendPdu``) with the
    host's address, not through ``get_cmd``: ``get_cmd`` needs a row in SNMP-TARGET-MIB per
    address (and the discovery request a second one), and pysnmp writes MIB rows through its
    full SET machinery, ~2 ms of CPU each. A USM user row per remote engine cannot be avoided
    (pysnmp keeps the localised keys there); see :meth:`_user_row` for the cheap way to it.

    Why not one engine for a whole sweep: pysnmp rebuilds its user lookup map from the USM
    table (a walk of every row) whenever a row was added since the last message, so with a
    row per host every message pays for all hosts seen so far and a sweep turns quadratic
    (1000 hosts: 10.4 ms of CPU per host, against 6.2 ms with 64 hosts per engine). An engine
    costs ~4 ms to build (see camfleet.protocols.pysnmp_mibs) plus two USM rows, spread over
    its hosts.
    """

    #: Re-sends after notInTimeWindow / unknownEngineID reports (a reboot, a replaced unit);
    #: pysnmp's command generator allows four as well.
    DISCOVERY_RETRIES: Final = 4

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hosts = 0
        self.active = 0
        self.closed = False
        self.engine = _new_engine()
        #: (remote engine ID, user name) -> the keys its USM row holds (or will, once cloned).
        self._rows: dict[tuple[bytes, str], tuple[Any, ...]] = {}
        #: user name -> the keys of its proto row (local engine ID), the source of clones.
        self._proto: dict[str, tuple[Any, ...]] = {}
        #: (engine ID, boots, time) of the v3 message being processed (see _observe).
        self._usm_header: tuple[bytes, int, int] | None = None
        #: The latest engine header seen from each (host, port).
        self.engines: dict[tuple[str, int], RemoteEngine] = {}
        self._domains: set[tuple[int, ...]] = set()
        # The discovery report and every authenticated response carry the remote engine's
        # ID, boots and time in their header; pysnmp shows them to observers only.
        self.engine.observer.register_observer(
            self._observe, "rfc3414.processIncomingMsg", "rfc3412.prepareDataElements:internal",
            "rfc3412.prepareDataElements:response")
        snmp_config.add_v3_user(self.engine, _DISCOVERY_USER)

    @property
    def full(self) -> bool:
        return self.hosts >= self.capacity

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.engine.observer.unregister_observer(self._observe)
        await stop_dispatcher(self.engine.transport_dispatcher, self.engine.close_dispatcher)
        self.engines.clear()
        self._rows.clear()

    def _ensure_transport(self, domain: tuple[int, ...]) -> None:
        if domain not in self._domains:
            snmp_config.add_transport(self.engine, domain, TRANSPORTS[domain]().open_client_mode())
            self._domains.add(domain)

    # -- pysnmp observers (called synchronously while a datagram is processed) ------------------
    def _observe(self, _engine: Any, point: str, variables: Mapping[str, Any],
                 _ctx: Any) -> None:
        if point == "rfc3414.processIncomingMsg":
            # USM runs first, inside the same call that later reaches prepareDataElements:
            # hold the header until we learn which address the message came from.
            self._usm_header = (bytes(variables["securityEngineId"]),
                                int(variables["snmpEngineBoots"]),
                                int(variables["snmpEngineTime"]))
            return
        header, self._usm_header = self._usm_header, None
        if int(variables.get("securityModel", 0)) != 3:
            return
        engine_id = bytes(variables["securityEngineId"])
        address = variables["transportAddress"]
        key = (str(address[0]), int(address[1]))
        if header is not None and header[0] == engine_id:
            self.engines[key] = RemoteEngine(engine_id, header[1], header[2])
        elif engine_id:
            self.engines[key] = RemoteEngine(engine_id, None, None)

    # -- requests ------------------------------------------------------------------------------
    async def _exchange(self, domain: tuple[int, ...], address: tuple[str, int], *,
                        security_name: Any, security_level: int, pdu: Any,
                        timeout_s: float) -> tuple[Any, Any]:
        """Send one request; return (error indication or None, response PDU or None)."""
        self._ensure_transport(domain)
        future: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()

        def done(_engine: Any, _mp: Any, _sm: Any, _name: Any, _level: Any, _ctx_id: Any,
                 _ctx_name: Any, _version: Any, response: Any, status: Any, _handle: Any,
                 _ctx: Any) -> None:
            if not future.done():
                future.set_result((status["errorIndication"] if status else None, response))

        ticks = timeout_s / self.engine.transport_dispatcher.get_timer_resolution() \
            if self.engine.transport_dispatcher is not None else timeout_s * 10
        try:
            self.engine.message_dispatcher.send_pdu(
                self.engine, domain, address, 3, 3, security_name, security_level, None, b"",
                1, pdu, True, ticks, done, None)
        except proto_error.StatusInformation as exc:
            # pysnmp refused to build the request (our configuration, not the device's):
            # a plain string, so that it is not taken for the agent's refusal.
            return f"request not sent: {exc['errorIndication']}", None
        return await future

    async def _request(self, domain: tuple[int, ...], address: tuple[str, int], *,
                       security_name: str, security_level: int, var_binds: Sequence[Any],
                       plan: Plan, discovery: bool = False) -> tuple[Any, Any]:
        """A GET with pysnmp's command-generator semantics: ``plan.retries`` re-sends after
        a timeout, and up to DISCOVERY_RETRIES immediate re-sends after a report that
        re-synchronised the engine ID or time window -- except for discovery itself, which
        stops at the first answer of any kind."""
        pdu = v2c.GetRequestPDU()
        v2c.apiPDU.set_defaults(pdu)
        v2c.apiPDU.set_varbinds(pdu, var_binds)
        timeouts = resyncs = 0
        while True:
            indication, response = await self._exchange(
                domain, address, security_name=rfc1902.OctetString(security_name),
                security_level=security_level, pdu=pdu, timeout_s=plan.timeout_s)
            if isinstance(indication, errind.RequestTimedOut):
                timeouts += 1
                if timeouts > plan.retries:
                    return indication, None
                continue
            if (not discovery and isinstance(indication, _RESYNC)
                    and resyncs < self.DISCOVERY_RETRIES):
                resyncs += 1
                continue
            if response is not None and (v2c.apiPDU.get_request_id(response)
                                         != v2c.apiPDU.get_request_id(pdu)):
                return "response to another request", None
            return indication, response

    async def discover(self, domain: tuple[int, ...], address: tuple[str, int],
                       plan: Plan) -> RemoteEngine | Attempt:
        """RFC 3414 section 4 discovery: one unauthenticated request with an empty engine ID.

        An agent answers it with a report carrying its snmpEngineID, boots and time, whatever
        our credentials; the observer keeps them, and pysnmp caches the engine ID for the
        authenticated request that follows.
        """
        self.engines.pop(address, None)
        self._forget_engine(domain, address)
        deadline = plan.round_trip_s + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, _ = await self._request(
                    domain, address, security_name=_DISCOVERY_USER,
                    security_level=NO_AUTH_NO_PRIV, var_binds=(), plan=plan, discovery=True)
        except TimeoutError:
            indication = errind.requestTimedOut
        found = self.engines.get(address)
        if found is not None:  # any answer at all (report or response) proves an engine
            return found
        if isinstance(indication, errind.RequestTimedOut):
            return Attempt(kind=ErrorKind.TIMEOUT,
                           detail=f"no answer within {plan.round_trip_s:g} s")
        return Attempt(kind=ErrorKind.PROTOCOL, detail=f"unexpected outcome: {indication}")

    def _forget_engine(self, domain: tuple[int, ...], address: tuple[str, int]) -> None:
        """Drop pysnmp's cached engine ID for this address, so discovery really discovers.

        pysnmp's v3 message processing caches the engine ID of each address for 300 s, only
        fills the cache when the address has no entry, and sends even a "discovery" request
        under the cached ID. A unit replaced on the same address (new engine ID: Art. 10's
        "replaced") would then be asked under its predecessor's ID, which agents may ignore
        (the simulated ones do) -- and look removed. There is a public getter but no way to
        forget an entry, hence the private attribute; should a future pysnmp rename it, only
        a unit replaced while this engine lives is affected (its v3 attempt times out and
        the communities are tried).
        """
        model = self.engine.message_processing_subsystems.get(
            SnmpV3MessageProcessingModel.MESSAGE_PROCESSING_MODEL_ID)
        cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
        if isinstance(cache, dict):
            cache.pop((domain, address), None)

    def _user_row(self, user: V3User, engine_id: bytes) -> None:
        """Make sure USM holds ``user``'s keys, localised, for one remote engine.

        The cheap way, taken whenever it is unambiguous (a sweep: one key set per user name):
        one "proto" row per user name with the master keys; pysnmp clones it for each new
        remote engine on the first request (one MIB write, localising the keys). Only when a
        different key set for the same user name comes along (per-camera keys in a targets
        file) does that camera get an explicit row of its own (``add_v3_user``: ~6 MIB
        writes, 5x the clone); a row holding other keys is replaced.
        """
        key = (engine_id, user.name)
        keys = (user.auth_protocol, user.auth_key, user.priv_protocol, user.priv_key)
        held = self._rows.get(key)
        if held == keys:
            return
        proto = self._proto.get(user.name)
        if proto is None and held is None:
            snmp_config.add_v3_user(
                self.engine, user.name,
                AUTH_PROTOCOLS[user.auth_protocol], user.auth_key,
                PRIV_PROTOCOLS[user.priv_protocol], user.priv_key,
                authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
                privKeyType=snmp_config.USM_KEY_TYPE_MASTER)
            self._proto[user.name] = proto = keys
        if proto == keys and held is None:
            self._rows[key] = keys  # cloned from the proto row on the first request
            return
        security_engine = rfc1902.OctetString(engine_id)
        if held is not None:
            snmp_config.delete_v3_user(self.engine, user.name, security_engine)
        snmp_config.add_v3_user(
            self.engine, user.name,
            AUTH_PROTOCOLS[user.auth_protocol], user.auth_key,
            PRIV_PROTOCOLS[user.priv_protocol], user.priv_key,
            securityEngineId=security_engine,
            authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
            privKeyType=snmp_config.USM_KEY_TYPE_MASTER)
        self._rows[key] = keys

    async def get(self, domain: tuple[int, ...], address: tuple[str, int], user: V3User,
                  found: RemoteEngine, plan: Plan) -> Attempt:
        self._user_row(user, found.engine_id)
        # Re-sends after reports (a reboot moves the time window) fit in twice the budget.
        deadline = plan.round_trip_s * 2 + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, response = await self._request(
                    domain, address, security_name=user.name,
                    security_level=user.security_level, var_binds=V3_VAR_BINDS, plan=plan)
        except TimeoutError:
            return Attempt(kind=ErrorKind.TIMEOUT, detail=f"no answer within {deadline:g} s")
        if response is None:
            return classify_failure(indication or "no response", 0, 0, plan) or Attempt(
                kind=ErrorKind.PROTOCOL, detail="no response")
        failed = classify_failure(indication, v2c.apiPDU.get_error_status(response),
                          v2c.apiPDU.get_error_index(response, muteErrors=True), plan)
        if failed is not None:
            return failed
        return parse_identity(address[0], address[1], f"v3:{user.name}",
                              v2c.apiPDU.get_varbinds(response), self.engines.get(address))
