"""What a camera's agent serves: its identity and objects, from a sorted OID list.

The MIB-II system group, a one-row ifTable, one ENTITY-MIB entPhysicalTable row and the
SNMP-FRAMEWORK-MIB engine scalars. Values that change (uptime, boots, engine time) are read
from the live state on every request; the rest is rendered once per spec.
"""

from __future__ import annotations

import bisect
import struct
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error

from simulators.spec import CameraSpec
from simulators.state import CameraState

Oid = tuple[int, ...]

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

INT32_MAX: Final = 2**31 - 1

#: Objects whose value changes while the agent runs: computed from the state per request.
#: Module-level so all agents share the one table.
_DYNAMIC: Final[Mapping[Oid, Callable[[CameraState], Any]]] = {
    SYS_UPTIME: lambda st: rfc1902.TimeTicks(st.uptime_ticks()),
    SNMP_ENGINE_BOOTS: lambda st: rfc1902.Integer32(min(st.boots, INT32_MAX)),
    SNMP_ENGINE_TIME: lambda st: rfc1902.Integer32(min(max(int(st.uptime_s()), 0), INT32_MAX)),
}


def _text(value: str) -> Any:
    # pyasn1 would encode a str as ISO 8859-1 and fail on e.g. a Chinese street address;
    # SnmpAdminString and DisplayString content is UTF-8 on every camera we model.
    return rfc1902.OctetString(value.encode("utf-8"))


def static_values(spec: CameraSpec, engine_id: bytes) -> dict[Oid, Any]:
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


class DeviceMib(Protocol):
    """The three calls pysnmp's command responders make on a device's objects; varBinds are
    (name, value) pairs, ``context`` carries the responder's access check (``acFun``)."""

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]: ...

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]: ...

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[Any]: ...


class CameraMib:
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
