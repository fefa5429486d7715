"""PoE power control of one switch port (RFC 3621 ``pethPsePortAdminEnable``), as HIL
harnesses power-cycle a unit under test (labgrid's PoE driver does the same over SNMP).

Returns None when the switch took the setting, else a classified
:class:`~camfleet.errors.DeviceError`: TIMEOUT (no answer: v2c agents drop a wrong
community), AUTH (the community may not write), PROTOCOL (the switch refused the value or
the port).
"""

from __future__ import annotations

import asyncio
import os

from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.hlapi.v1arch.asyncio import (
    CommunityData,
    ObjectIdentity,
    ObjectType,
    SnmpDispatcher,
    set_cmd,
)
from pysnmp.proto import rfc1902

from camfleet.errors import DeviceError, ErrorKind
from camfleet.targets import SwitchTarget
from devmgr.snmp._plan import Plan
from devmgr.snmp._transport import (
    TRANSPORTS,
    close_transport_dispatcher,
    transport_target,
)
from devmgr.switches._read import PETH_ADMIN

#: The PSE group of a single switch (stacks number their members' PSEs 1, 2 ...).
PSE_GROUP = 1
_AUTH_STATUSES = (6, 16)  # noAccess, authorizationError


def _write_community(target: SwitchTarget) -> str | None:
    if target.write_community_env:
        return os.environ.get(target.write_community_env)
    return target.write_community


async def set_port_power(target: SwitchTarget, port: int, on: bool, *,
                         timeout_s: float = 2.0, retries: int = 1) -> DeviceError | None:
    """Turn the PoE of ``port`` on or off; None when done."""
    community = _write_community(target)
    if not community:
        return DeviceError(kind=ErrorKind.AUTH, operation="snmp-set",
                           message=f"switch {target.name}: no write community configured")
    if not 0 < port < 2**31:
        return DeviceError(kind=ErrorKind.PROTOCOL, operation="snmp-set",
                           message=f"switch {target.name}: no such port {port}")
    plan = Plan(v3_users=(), communities=(), port=target.snmp.port, timeout_s=timeout_s,
                retries=retries, parallel_communities=False, secrets=(community,))
    dispatcher = SnmpDispatcher(AsyncioDispatcher())
    deadline = timeout_s * (retries + 1) + 1.0
    try:
        transport = await transport_target(target.address, target.snmp.port, plan)
        dispatcher.transport_dispatcher.register_transport(
            transport.TRANSPORT_DOMAIN,
            TRANSPORTS[tuple(transport.TRANSPORT_DOMAIN)]().open_client_mode())
        async with asyncio.timeout(deadline):
            indication, status, _, _ = await set_cmd(
                dispatcher, CommunityData(community, mpModel=1), transport,
                ObjectType(ObjectIdentity((*PETH_ADMIN, PSE_GROUP, port)),
                           rfc1902.Integer32(1 if on else 2)), lookupMib=False)
    except TimeoutError:
        return DeviceError(kind=ErrorKind.TIMEOUT, operation="snmp-set",
                           message=f"switch {target.name}: no answer within {deadline:g} s")
    except OSError as exc:
        return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-set", message=str(exc))
    finally:
        await close_transport_dispatcher(dispatcher.transport_dispatcher)
    if indication:
        kind = ErrorKind.TIMEOUT if "timeout" in str(indication).lower() else ErrorKind.PROTOCOL
        return DeviceError(kind=kind, operation="snmp-set",
                           message=f"switch {target.name}: {indication}")
    if int(status):
        kind = ErrorKind.AUTH if int(status) in _AUTH_STATUSES else ErrorKind.PROTOCOL
        return DeviceError(kind=kind, operation="snmp-set",
                           message=f"switch {target.name} refused PoE {'on' if on else 'off'} "
                                   f"on port {port}: error status {int(status)}")
    return None


async def power_cycle(target: SwitchTarget, port: int, *, off_s: float = 2.0,
                      timeout_s: float = 2.0) -> DeviceError | None:
    """PoE off, ``off_s`` seconds, PoE on: the unit on ``port`` boots."""
    failed = await set_port_power(target, port, False, timeout_s=timeout_s)
    if failed is not None:
        return failed
    await asyncio.sleep(off_s)
    return await set_port_power(target, port, True, timeout_s=timeout_s)
