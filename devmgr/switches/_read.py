"""Reading an access switch over SNMP v2c: bounded walks of the tables that place a unit.

Per switch, GETBULK walks of ifOperStatus and ifName (IF-MIB), dot1dBasePortIfIndex and the
forwarding tables (Q-BRIDGE-MIB ``dot1qTpFdbPort`` with its VLAN, else BRIDGE-MIB
``dot1dTpFdbPort``), LLDP-MIB ``lldpRemSysName``/``lldpRemChassisId`` and RFC 3621
``pethPsePortAdminEnable``/``pethPsePortDetectionStatus``. Assumptions, as on most access
switches: a PSE port index and an LLDP local port number are the bridge port number.

Every byte is the switch's: a walk stops at ``max_rows`` (the table is then named in
``truncated``), at the end of its subtree, or at an OID that does not increase (a looping
agent); rows with a bad index or type are counted in ``rejected`` and dropped; no answer,
a refusal or an error status is a classified :class:`~camfleet.errors.DeviceError` on the
reading, never an exception.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any, Final

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.hlapi.v1arch.asyncio import (
    CommunityData,
    ObjectIdentity,
    ObjectType,
    SnmpDispatcher,
    bulk_cmd,
)
from pysnmp.proto import rfc1902, rfc1905

from camfleet.errors import DeviceError, ErrorKind
from camfleet.targets import SwitchTarget
from devmgr.snmp._plan import Plan
from devmgr.snmp._transport import (
    TRANSPORTS,
    close_transport_dispatcher,
    transport_target,
)
from devmgr.switches._model import DETECTION_NAMES, PortEvidence, SwitchReading

Oid = tuple[int, ...]

IF_OPER: Final = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_NAME: Final = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
BASE_PORT_IFINDEX: Final = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2)
DOT1D_FDB_PORT: Final = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2)
DOT1Q_FDB_PORT: Final = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2)
LLDP_REM_CHASSIS: Final = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 5)
LLDP_REM_SYSNAME: Final = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 9)
PETH_ADMIN: Final = (1, 3, 6, 1, 2, 1, 105, 1, 1, 1, 3)
PETH_DETECTION: Final = (1, 3, 6, 1, 2, 1, 105, 1, 1, 1, 6)
#: Rows read per table at most: a campus access switch learns a few thousand MACs.
MAX_ROWS: Final = 20_000
#: Ports kept per switch at most (a stack of 8 x 52 is 416).
MAX_PORTS: Final = 1024
_REPETITIONS: Final = 40


class _Failed(Exception):
    def __init__(self, error: DeviceError) -> None:
        super().__init__(error.message)
        self.error = error


def _community(target: SwitchTarget) -> str | None:
    if target.snmp.community_env:
        return os.environ.get(target.snmp.community_env)
    return target.snmp.community


class _Walker:
    def __init__(self, dispatcher: Any, auth: Any, transport: Any, deadline_s: float,
                 max_rows: int) -> None:
        self._dispatcher, self._auth, self._transport = dispatcher, auth, transport
        self._deadline, self._max_rows = deadline_s, max_rows
        self.truncated: list[str] = []

    async def walk(self, root: Oid, label: str) -> list[tuple[Oid, Any]]:
        """(index below ``root``, value) rows of one table, bounded."""
        rows: list[tuple[Oid, Any]] = []
        current = root
        while True:
            try:
                async with asyncio.timeout(self._deadline):
                    indication, status, index, var_binds = await bulk_cmd(
                        self._dispatcher, self._auth, self._transport, 0, _REPETITIONS,
                        ObjectType(ObjectIdentity(current)), lookupMib=False)
            except TimeoutError:
                raise _Failed(DeviceError(kind=ErrorKind.TIMEOUT, operation="snmp-walk",
                                          message=f"no answer within {self._deadline:g} s "
                                                  f"walking {label}")) from None
            if indication:
                kind = ErrorKind.TIMEOUT if "timeout" in str(indication).lower() \
                    else ErrorKind.PROTOCOL
                raise _Failed(DeviceError(kind=kind, operation="snmp-walk",
                                          message=f"{label}: {indication}"))
            if int(status):
                kind = ErrorKind.AUTH if int(status) in (6, 16) else ErrorKind.PROTOCOL
                raise _Failed(DeviceError(kind=kind, operation="snmp-walk",
                                          message=f"{label}: error status {int(status)} at "
                                                  f"index {int(index)}"))
            if not var_binds:
                return rows
            for name, value in var_binds:
                oid = tuple(name)
                if oid[:len(root)] != root or isinstance(value, rfc1905.EndOfMibView):
                    return rows
                if oid <= current:  # not increasing: an agent that would loop forever
                    raise _Failed(DeviceError(kind=ErrorKind.PROTOCOL, operation="snmp-walk",
                                              message=f"{label}: OID not increasing at "
                                                      f"{'.'.join(map(str, oid))}"))
                rows.append((oid[len(root):], value))
                current = oid
                if len(rows) >= self._max_rows:
                    self.truncated.append(label)
                    return rows


def _int(value: Any) -> int | None:
    # Integer32, Unsigned32, Gauge32 ... all derive from ASN.1 INTEGER.
    if isinstance(value, univ.Integer) and not isinstance(value, rfc1902.TimeTicks):
        return int(value)
    return None


def _text(value: Any, limit: int = 255) -> str | None:
    if not isinstance(value, univ.OctetString):
        return None
    return bytes(value)[:limit].decode("utf-8", "replace").replace("\x00", "")


async def read_switch(target: SwitchTarget, *, timeout_s: float = 2.0, retries: int = 1,
                      max_rows: int = MAX_ROWS) -> SwitchReading:
    """Read one switch; a failure is on the reading (``error``), never raised."""
    community = _community(target)
    reading = SwitchReading(name=target.name, address=target.address)
    if not community:
        return reading.model_copy(update={"error": DeviceError(
            kind=ErrorKind.AUTH, operation="snmp-walk",
            message=f"switch {target.name}: no community configured (or its variable unset)")})
    plan = Plan(v3_users=(), communities=(), port=target.snmp.port, timeout_s=timeout_s,
                retries=retries, parallel_communities=False, secrets=(community,))
    dispatcher = SnmpDispatcher(AsyncioDispatcher())
    try:
        transport = await transport_target(target.address, target.snmp.port, plan)
        domain = tuple(transport.TRANSPORT_DOMAIN)
        dispatcher.transport_dispatcher.register_transport(
            transport.TRANSPORT_DOMAIN, TRANSPORTS[domain]().open_client_mode())
        walker = _Walker(dispatcher, CommunityData(community, mpModel=1), transport,
                         timeout_s * (retries + 1) + 1.0, max_rows)
        walks = (("ifOperStatus", IF_OPER), ("ifName", IF_NAME),
                 ("dot1dBasePortIfIndex", BASE_PORT_IFINDEX), ("dot1qTpFdbPort", DOT1Q_FDB_PORT),
                 ("lldpRemSysName", LLDP_REM_SYSNAME), ("lldpRemChassisId", LLDP_REM_CHASSIS),
                 ("pethPsePortAdminEnable", PETH_ADMIN),
                 ("pethPsePortDetectionStatus", PETH_DETECTION))
        # The tables at once: one round trip per GETBULK page of the longest, not of all.
        rows = await asyncio.gather(*(walker.walk(root, label) for label, root in walks))
        tables = {label: table for (label, _), table in zip(walks, rows, strict=True)}
        if not tables["dot1qTpFdbPort"]:
            tables["dot1dTpFdbPort"] = await walker.walk(DOT1D_FDB_PORT, "dot1dTpFdbPort")
        return parse_tables(reading, tables, walker.truncated)
    except _Failed as failed:
        return reading.model_copy(update={"error": failed.error})
    except OSError as exc:
        return reading.model_copy(update={"error": DeviceError(
            kind=ErrorKind.UNREACHABLE, operation="snmp-walk", message=str(exc))})
    finally:
        await close_transport_dispatcher(dispatcher.transport_dispatcher)


def parse_tables(reading: SwitchReading, tables: dict[str, list[tuple[Oid, Any]]],
                 truncated: Sequence[str] = ()) -> SwitchReading:
    """Turn walked rows into ports and a forwarding table, dropping what makes no sense."""
    rejected = 0
    ports: dict[int, dict[str, Any]] = {}

    def port(number: int) -> dict[str, Any] | None:
        if not 0 < number < 2**31 or (number not in ports and len(ports) >= MAX_PORTS):
            return None
        return ports.setdefault(number, {"switch": reading.name, "port": number})

    if_of_port = {idx[0]: _int(v) for idx, v in tables.get("dot1dBasePortIfIndex", [])
                  if len(idx) == 1}
    port_of_if = {ifindex: p for p, ifindex in if_of_port.items() if ifindex is not None}
    for label, key in (("ifOperStatus", "link_up"), ("ifName", "name")):
        for idx, value in tables.get(label, []):
            parsed = _int(value) if key == "link_up" else _text(value, 64)
            entry = port(port_of_if.get(idx[0], idx[0])) if len(idx) == 1 else None
            if entry is None or parsed is None:
                rejected += 1
                continue
            entry[key] = parsed == 1 if key == "link_up" else parsed
    for label, key in (("pethPsePortAdminEnable", "poe_enabled"),
                       ("pethPsePortDetectionStatus", "poe")):
        for idx, value in tables.get(label, []):
            number = _int(value)
            entry = port(idx[1]) if len(idx) == 2 else None  # (group, port)
            if entry is None or number is None:
                rejected += 1
                continue
            entry[key] = number == 1 if key == "poe_enabled" else DETECTION_NAMES.get(number)
    for label, key in (("lldpRemSysName", "lldp_name"), ("lldpRemChassisId", "lldp_chassis")):
        for idx, value in tables.get(label, []):
            text = _text(value, 64) if key == "lldp_name" else (
                bytes(value)[:32].hex(":") if isinstance(value, univ.OctetString) else None)
            entry = port(idx[1]) if len(idx) == 3 else None  # (timemark, port, index)
            if entry is None or text is None:
                rejected += 1
                continue
            entry[key] = text
    fdb: dict[str, list[tuple[int, int | None]]] = {}
    for label, vlan_in_index in (("dot1qTpFdbPort", True), ("dot1dTpFdbPort", False)):
        for idx, value in tables.get(label, []):
            octets = idx[1:] if vlan_in_index else idx
            number = _int(value)
            if len(octets) != 6 or any(not 0 <= o < 256 for o in octets) or number is None \
                    or port(number) is None:
                rejected += 1
                continue
            mac = ":".join(f"{o:02x}" for o in octets)
            fdb.setdefault(mac, []).append((number, idx[0] if vlan_in_index else None))
            ports[number]["macs"] = ports[number].get("macs", 0) + 1
    return reading.model_copy(update={
        "ports": {n: PortEvidence.model_validate(p) for n, p in sorted(ports.items())},
        "fdb": fdb, "truncated": tuple(truncated), "rejected": rejected})
