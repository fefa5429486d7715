"""The SNMP objects camfleet reads and serves, and the one table of camera vendors.

The manager asks for these objects and the simulated agent answers them, so both name them
from here (RFC 3418 SNMPv2-MIB system group, RFC 2863 IF-MIB, RFC 6933 ENTITY-MIB, RFC 3411
SNMP-FRAMEWORK-MIB). The vendor table maps IANA private enterprise numbers, under which a
unit's sysObjectID lives, to the name the same units report as ONVIF Manufacturer.

    >>> vendor_for("1.3.6.1.4.1.39165.1.12345")
    'Hikvision'
    >>> enterprise_for("Hikvision")
    39165
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ENTERPRISES",
    "ENT_PHYSICAL_MODEL_1",
    "ENT_PHYSICAL_SERIAL_1",
    "IF_PHYS_ADDRESS_1",
    "SNMP_ENGINE_BOOTS",
    "SNMP_ENGINE_ID",
    "SYS_CONTACT",
    "SYS_DESCR",
    "SYS_LOCATION",
    "SYS_NAME",
    "SYS_OBJECT_ID",
    "SYS_UPTIME",
    "VENDOR_BY_ENTERPRISE",
    "enterprise_for",
    "enterprise_number",
    "vendor_for",
]

#: IANA private enterprise numbers of the camera vendors we know -> vendor name.
VENDOR_BY_ENTERPRISE: Final[Mapping[int, str]] = MappingProxyType({
    39165: "Hikvision",
    368: "Axis",
    1004849: "Dahua",
    36849: "Hanwha",
    25506: "Uniview",
})

#: ``enterprises`` (1.3.6.1.4.1): every sysObjectID of a vendor's product lives under it.
ENTERPRISES: Final = (1, 3, 6, 1, 4, 1)

SYS_DESCR: Final = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID: Final = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT: Final = "1.3.6.1.2.1.1.4.0"
SYS_NAME: Final = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION: Final = "1.3.6.1.2.1.1.6.0"
IF_PHYS_ADDRESS_1: Final = "1.3.6.1.2.1.2.2.1.6.1"
ENT_PHYSICAL_SERIAL_1: Final = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_PHYSICAL_MODEL_1: Final = "1.3.6.1.2.1.47.1.1.1.1.13.1"
SNMP_ENGINE_ID: Final = "1.3.6.1.6.3.10.2.1.1.0"
SNMP_ENGINE_BOOTS: Final = "1.3.6.1.6.3.10.2.1.2.0"


def enterprise_number(sys_object_id: str) -> int | None:
    """The enterprise number of a sysObjectID (``1.3.6.1.4.1.<n>...``), else None."""
    try:
        arcs = tuple(int(arc) for arc in sys_object_id.strip().strip(".").split("."))
    except ValueError:
        return None
    if len(arcs) <= len(ENTERPRISES) or arcs[: len(ENTERPRISES)] != ENTERPRISES:
        return None
    return arcs[len(ENTERPRISES)]


def vendor_for(sys_object_id: str) -> str:
    """Vendor name from a sysObjectID's enterprise number; "" if unknown.

    >>> vendor_for("1.3.6.1.4.1.8072.3.2.10")
    ''
    """
    number = enterprise_number(sys_object_id)
    return VENDOR_BY_ENTERPRISE.get(number, "") if number is not None else ""


def enterprise_for(manufacturer: str) -> int | None:
    """The enterprise number of a vendor by its ONVIF Manufacturer name (any case), else None."""
    wanted = manufacturer.strip().lower()
    return next((number for number, name in VENDOR_BY_ENTERPRISE.items()
                 if name.lower() == wanted), None)
