"""What a simulated switch's SNMP agent serves, rendered from its live state.

* MIB-II system group; IF-MIB ``ifTable`` (``ifOperStatus``, ``ifLastChange`` ...) and
  ``ifXTable`` (``ifName``, ``ifAlias``), one row per port;
* BRIDGE-MIB (``dot1dBaseBridgeAddress``, ``dot1dBasePortTable``, ``dot1dTpAgingTime``,
  ``dot1dTpFdbTable``) and Q-BRIDGE-MIB (``dot1qTpFdbTable`` indexed by VLAN and MAC,
  ``dot1qPvid``);
* LLDP-MIB: the local chassis and ports, and ``lldpRemTable`` for devices that speak LLDP;
* POWER-ETHERNET-MIB (RFC 3621): ``pethPsePortTable`` (one PSE group, 1) with
  ``pethPsePortAdminEnable`` writable, ``pethPsePortDetectionStatus``,
  ``pethPsePortPowerClassifications``; ``pethMainPseTable`` with the budget and the power
  drawn. RFC 3621 has no per-port watts; the total is ``pethMainPseConsumptionPower``.

Tables are rendered again when the switch's state changes (``SimSwitch.version``) or a
second has passed (MACs age), and served by bisection like the camera's objects.
"""

from __future__ import annotations

import bisect
import time
from typing import Any, Final

from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error

from simulators.switch.model import DETECTION, SimSwitch

Oid = tuple[int, ...]

_SYSTEM: Final = (1, 3, 6, 1, 2, 1, 1)
_IF_ENTRY: Final = (1, 3, 6, 1, 2, 1, 2, 2, 1)
_IFX_ENTRY: Final = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
_DOT1D: Final = (1, 3, 6, 1, 2, 1, 17)
_DOT1D_FDB_ENTRY: Final = (*_DOT1D, 4, 3, 1)
_DOT1Q_FDB_ENTRY: Final = (*_DOT1D, 7, 1, 2, 2, 1)
_DOT1Q_PVID: Final = (*_DOT1D, 7, 1, 4, 5, 1, 1)
_LLDP: Final = (1, 0, 8802, 1, 1, 2, 1)
_LLDP_LOC_PORT_ENTRY: Final = (*_LLDP, 3, 7, 1)
_LLDP_REM_ENTRY: Final = (*_LLDP, 4, 1, 1)
_PETH_PORT_ENTRY: Final = (1, 3, 6, 1, 2, 1, 105, 1, 1, 1)
_PETH_MAIN_ENTRY: Final = (1, 3, 6, 1, 2, 1, 105, 1, 3, 1, 1)
SYS_UPTIME: Final = (*_SYSTEM, 3, 0)
#: pethPsePortAdminEnable.<group>.<port>: the one column a manager may set.
PETH_ADMIN_ENABLE: Final = (*_PETH_PORT_ENTRY, 3)
PSE_GROUP: Final = 1
#: sysObjectID of the simulated switch model (under the net-snmp enterprise, 8072).
SWITCH_OBJECT_ID: Final = (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10, 1)
_TRUE, _FALSE = 1, 2
_REFRESH_S: Final = 1.0


def _text(value: str) -> Any:
    return rfc1902.OctetString(value.encode("utf-8"))


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def port_name(number: int) -> str:
    return f"Gi1/0/{number}"


def render(switch: SimSwitch) -> dict[Oid, Any]:
    """Every object of the switch, now, as pyasn1 values (sysUpTime excepted)."""
    spec = switch.spec
    bridge = _mac(spec.bridge_mac)
    v: dict[Oid, Any] = {
        (*_SYSTEM, 1, 0): _text(f"camfleet simulated access switch, {spec.ports} ports, PoE"),
        (*_SYSTEM, 2, 0): rfc1902.ObjectIdentifier(SWITCH_OBJECT_ID),
        (*_SYSTEM, 4, 0): _text(spec.snmp.contact),
        (*_SYSTEM, 5, 0): _text(spec.name),
        (*_SYSTEM, 6, 0): _text(spec.location),
        (*_SYSTEM, 7, 0): rfc1902.Integer32(2),  # sysServices: datalink/subnetwork
        (1, 3, 6, 1, 2, 1, 2, 1, 0): rfc1902.Integer32(spec.ports),  # ifNumber
        (*_DOT1D, 1, 1, 0): rfc1902.OctetString(bridge),  # dot1dBaseBridgeAddress
        (*_DOT1D, 1, 2, 0): rfc1902.Integer32(spec.ports),  # dot1dBaseNumPorts
        (*_DOT1D, 1, 3, 0): rfc1902.Integer32(2),  # dot1dBaseType: transparent-only
        (*_DOT1D, 4, 2, 0): rfc1902.Integer32(spec.aging_s),  # dot1dTpAgingTime
        (*_LLDP, 3, 1, 0): rfc1902.Integer32(4),  # lldpLocChassisIdSubtype: macAddress
        (*_LLDP, 3, 2, 0): rfc1902.OctetString(bridge),  # lldpLocChassisId
        (*_LLDP, 3, 3, 0): _text(spec.name),  # lldpLocSysName
    }
    consumed = 0.0
    for n, port in switch.ports.items():
        up = switch.link_up(n)
        v[(*_IF_ENTRY, 1, n)] = rfc1902.Integer32(n)  # ifIndex
        v[(*_IF_ENTRY, 2, n)] = _text(f"GigabitEthernet1/0/{n}")  # ifDescr
        v[(*_IF_ENTRY, 3, n)] = rfc1902.Integer32(6)  # ethernetCsmacd
        v[(*_IF_ENTRY, 5, n)] = rfc1902.Gauge32(1_000_000_000 if up else 0)  # ifSpeed
        v[(*_IF_ENTRY, 6, n)] = rfc1902.OctetString(bridge[:5] + bytes([n % 256]))
        v[(*_IF_ENTRY, 7, n)] = rfc1902.Integer32(1)  # ifAdminStatus: up
        v[(*_IF_ENTRY, 8, n)] = rfc1902.Integer32(1 if up else 2)  # ifOperStatus
        v[(*_IF_ENTRY, 9, n)] = rfc1902.TimeTicks(port.last_change)  # ifLastChange
        v[(*_IFX_ENTRY, 1, n)] = _text(port_name(n))  # ifName
        v[(*_IFX_ENTRY, 15, n)] = rfc1902.Gauge32(1000 if up else 0)  # ifHighSpeed
        v[(*_IFX_ENTRY, 18, n)] = _text(port.device.name if port.device else "")  # ifAlias
        v[(*_DOT1D, 1, 4, 1, 1, n)] = rfc1902.Integer32(n)  # dot1dBasePort
        v[(*_DOT1D, 1, 4, 1, 2, n)] = rfc1902.Integer32(n)  # dot1dBasePortIfIndex
        v[(*_DOT1Q_PVID, n)] = rfc1902.Unsigned32(switch.vlan_of(n))  # dot1qPvid
        v[(*_LLDP_LOC_PORT_ENTRY, 2, n)] = rfc1902.Integer32(5)  # interfaceName
        v[(*_LLDP_LOC_PORT_ENTRY, 3, n)] = _text(port_name(n))
        v[(*_LLDP_LOC_PORT_ENTRY, 4, n)] = _text(f"GigabitEthernet1/0/{n}")
        _lldp_and_poe(switch, n, v)
        consumed += switch.power_w(n)
    for mac, n, vlan in switch.fdb():
        octets = tuple(_mac(mac))
        v[(*_DOT1D_FDB_ENTRY, 1, *octets)] = rfc1902.OctetString(bytes(octets))
        v[(*_DOT1D_FDB_ENTRY, 2, *octets)] = rfc1902.Integer32(n)
        v[(*_DOT1D_FDB_ENTRY, 3, *octets)] = rfc1902.Integer32(3)  # learned
        v[(*_DOT1Q_FDB_ENTRY, 2, vlan, *octets)] = rfc1902.Integer32(n)  # dot1qTpFdbPort
        v[(*_DOT1Q_FDB_ENTRY, 3, vlan, *octets)] = rfc1902.Integer32(3)  # learned
    v[(*_PETH_MAIN_ENTRY, 2, PSE_GROUP)] = rfc1902.Gauge32(spec.poe_budget_w)
    v[(*_PETH_MAIN_ENTRY, 3, PSE_GROUP)] = rfc1902.Integer32(1)  # pethMainPseOperStatus: on
    v[(*_PETH_MAIN_ENTRY, 4, PSE_GROUP)] = rfc1902.Gauge32(round(consumed))
    return v


def _lldp_and_poe(switch: SimSwitch, n: int, v: dict[Oid, Any]) -> None:
    """Port ``n``'s LLDP neighbour (while its link is up) and its PSE row."""
    port = switch.ports[n]
    up = switch.link_up(n)
    device = port.device
    if up and device is not None and device.name:  # LLDP neighbour, while the link is up
        row = (0, n, 1)  # lldpRemTimeMark, lldpRemLocalPortNum, lldpRemIndex
        v[(*_LLDP_REM_ENTRY, 4, *row)] = rfc1902.Integer32(4)  # chassis: macAddress
        v[(*_LLDP_REM_ENTRY, 5, *row)] = rfc1902.OctetString(_mac(device.mac))
        v[(*_LLDP_REM_ENTRY, 6, *row)] = rfc1902.Integer32(3)  # port: macAddress
        v[(*_LLDP_REM_ENTRY, 7, *row)] = rfc1902.OctetString(_mac(device.mac))
        v[(*_LLDP_REM_ENTRY, 8, *row)] = _text("eth0")
        v[(*_LLDP_REM_ENTRY, 9, *row)] = _text(device.name)
        v[(*_LLDP_REM_ENTRY, 10, *row)] = _text(device.description)
    pse = (PSE_GROUP, n)
    v[(*_PETH_PORT_ENTRY, 3, *pse)] = rfc1902.Integer32(_TRUE if port.poe_enabled else _FALSE)
    v[(*_PETH_PORT_ENTRY, 4, *pse)] = rfc1902.Integer32(_FALSE)  # pairs control ability
    v[(*_PETH_PORT_ENTRY, 5, *pse)] = rfc1902.Integer32(1)  # pethPsePortPowerPairs: signal
    v[(*_PETH_PORT_ENTRY, 6, *pse)] = rfc1902.Integer32(DETECTION[switch.detection(n)])
    v[(*_PETH_PORT_ENTRY, 7, *pse)] = rfc1902.Integer32(3)  # priority: low
    if switch.powered(n) and device is not None:  # class only while delivering power
        v[(*_PETH_PORT_ENTRY, 10, *pse)] = rfc1902.Integer32(device.poe_class + 1)


class SwitchMib:
    """MIB instrumentation over a :class:`SimSwitch` (the ``DeviceMib`` calls)."""

    def __init__(self, switch: SimSwitch) -> None:
        self._switch = switch
        self._rendered_version = -1
        self._rendered_at = 0.0
        self._values: dict[Oid, Any] = {}
        self._oids: list[Oid] = []
        self._objects: set[Oid] = set()

    def _fresh(self) -> None:
        now = time.monotonic()
        if self._switch.version == self._rendered_version and now - self._rendered_at < \
                _REFRESH_S:
            return
        self._values = render(self._switch)
        self._oids = sorted({*self._values, SYS_UPTIME})
        self._objects = {oid[:-1] for oid in self._oids}
        self._rendered_version, self._rendered_at = self._switch.version, now

    def _value(self, oid: Oid) -> Any:
        if oid == SYS_UPTIME:
            return rfc1902.TimeTicks(self._switch.uptime_ticks())
        return self._values[oid]

    @staticmethod
    def _denied(oid: Oid, idx: int, context: dict[str, Any]) -> bool:
        ac_fun = context.get("acFun")
        return ac_fun is not None and bool(ac_fun("read", (oid, None), **{**context, "idx": idx}))

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        self._fresh()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            if oid in self._values or oid == SYS_UPTIME:
                denied = self._denied(oid, idx, context)
                out.append((oid, rfc1905.noSuchObject if denied else self._value(oid)))
            elif oid[:-1] in self._objects:
                out.append((oid, rfc1905.noSuchInstance))
            else:
                out.append((oid, rfc1905.noSuchObject))
        return out

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        self._fresh()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            pos = bisect.bisect_right(self._oids, oid)
            while pos < len(self._oids) and self._denied(self._oids[pos], idx, context):
                pos += 1
            if pos < len(self._oids):
                out.append((self._oids[pos], self._value(self._oids[pos])))
            else:
                out.append((oid, rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]:
        """Set ``pethPsePortAdminEnable`` (true(1)/false(2)); all or nothing (RFC 3416 4.2.5).

        Anything else is notWritable; a wrong type or value fails the whole request.
        """
        self._fresh()
        ac_fun = context.get("acFun")
        changes: list[tuple[int, bool]] = []
        for idx, (name, value) in enumerate(var_binds):
            oid = tuple(name)
            if ac_fun is not None:
                ac_fun("write", (oid, value), **{**context, "idx": idx})
            port = oid[-1] if len(oid) == len(PETH_ADMIN_ENABLE) + 2 else 0
            if oid[:-2] != PETH_ADMIN_ENABLE or oid[-2] != PSE_GROUP or \
                    port not in self._switch.ports:
                raise smi_error.NotWritableError(name=oid, idx=idx)
            if not isinstance(value, rfc1902.Integer):
                raise smi_error.WrongTypeError(name=oid, idx=idx)
            if int(value) not in (_TRUE, _FALSE):
                raise smi_error.WrongValueError(name=oid, idx=idx)
            changes.append((port, int(value) == _TRUE))
        for port, enabled in changes:
            self._switch.set_poe(port, enabled)
        self._fresh()
        return [(tuple(name), value) for name, value in var_binds]
