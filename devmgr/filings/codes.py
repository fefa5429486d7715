"""GB/T 28181 code lists: the 20-digit device id and the catalog's enumerations.

A catalog item is named by a device id (8-digit centre code, 2 industry, 3 type, 1 network,
6 serial); directory nodes are named by a 2/4/6/8-digit administrative division code (GB/T
2260) or by a device id of type 215 (business group) or 216 (virtual organisation).

    >>> parse_device_id("42010000001320000001").type_name
    'IPC'
    >>> [catalog_kind(i) for i in ("4201", "42010000002160000001", "42010000001180000001")]
    ['division', 'virtual-organisation', 'other-device']
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Literal, NamedTuple

__all__ = [
    "CAMERA_TYPE_CODES",
    "DEVICE_TYPE_CODES",
    "CatalogKind",
    "CatalogPtzType",
    "DeviceIdParts",
    "Direction",
    "PointType",
    "PositionType",
    "RegisterWay",
    "RoomType",
    "SafetyWay",
    "SupplyLightType",
    "UseType",
    "catalog_kind",
    "parse_device_id",
    "split_device_id",
]

#: GB/T 28181 device type codes (positions 11-13 of the device id).
DEVICE_TYPE_CODES: dict[str, str] = {
    "111": "DVR",
    "112": "video server",
    "113": "encoder",
    "114": "decoder",
    "118": "NVR",
    "131": "camera",
    "132": "IPC",
    "133": "display",
    "134": "alarm input",
    "135": "alarm output",
    "200": "central signalling server",
    "215": "business group",
    "216": "virtual organisation",
}
#: A filing record describes one camera, so only these type codes are accepted.
CAMERA_TYPE_CODES = frozenset({"131", "132"})


class DeviceIdParts(NamedTuple):
    """The five fields of a GB/T 28181 device id.

    >>> parse_device_id("42010000001320000001").centre
    '42010000'
    """

    centre: str  # GB/T 2260 administrative division of the centre, zero-padded to 8
    industry: str  # 00-03 public order, 04-07 traffic, 08 urban management, ...
    type_code: str  # 131 camera, 132 IPC, ...
    network: str  # 0-4 private, 5 public-security, 6 e-government, 7 Internet, 8 social, 9 reserved
    serial: str

    @property
    def type_name(self) -> str:
        return DEVICE_TYPE_CODES.get(self.type_code, "unknown type")


def split_device_id(value: str) -> DeviceIdParts:
    """Split a 20-digit device id of any type; raise ``ValueError`` saying what is wrong."""
    if not re.fullmatch(r"[0-9]+", value):
        raise ValueError(f"device id {value!r} must be 20 decimal digits (found non-digits)")
    if len(value) != 20:
        raise ValueError(f"device id {value!r} must be 20 digits, not {len(value)}")
    return DeviceIdParts(value[:8], value[8:10], value[10:13], value[13], value[14:])


def parse_device_id(value: str) -> DeviceIdParts:
    """Split and check the 20-digit device id of a camera; raise ``ValueError`` if it is not.

    >>> parse_device_id("42010000001180000001")
    Traceback (most recent call last):
    ...
    ValueError: device id type code 118 (NVR) is not a camera (131) or an IPC (132)
    """
    parts = split_device_id(value)
    if parts.type_code not in CAMERA_TYPE_CODES:
        raise ValueError(
            # a filing record is "one camera, one file": recorders, servers and groups have none
            f"device id type code {parts.type_code} ({parts.type_name}) is not a camera (131) "
            "or an IPC (132)"
        )
    return parts


#: What a catalog item is, judged from its id alone.
CatalogKind = Literal[
    "camera", "division", "business-group", "virtual-organisation", "other-device"
]
_DIVISION_LENGTHS = frozenset({2, 4, 6, 8})  # province, city, county, grassroots unit


def catalog_kind(device_id: str) -> CatalogKind:
    """Camera, directory node or another device; ``ValueError`` for an id that is none.

    Directory nodes are administrative divisions (2, 4, 6 or 8 digits), business groups (type
    215) and virtual organisations (216); any other 20-digit id that is not a camera (an NVR,
    an alarm input, the platform itself) is ``other-device``.
    """
    if re.fullmatch(r"[0-9]+", device_id) and len(device_id) in _DIVISION_LENGTHS:
        return "division"
    type_code = split_device_id(device_id).type_code
    if type_code in CAMERA_TYPE_CODES:
        return "camera"
    if type_code == "215":
        return "business-group"
    if type_code == "216":
        return "virtual-organisation"
    return "other-device"


# ---------------------------------------------------------------------------------------------
# Catalog item enumerations


class SafetyWay(IntEnum):
    """``SafetyWay``: signalling security mode."""

    NONE = 0
    SMIME_SIGNATURE = 1
    SMIME_ENCRYPTION_SIGNATURE = 2
    DIGEST = 3


class RegisterWay(IntEnum):
    """``RegisterWay``: how the device registers (1 is plain SIP digest, RFC 3261)."""

    RFC3261 = 1
    PASSWORD_MUTUAL = 2
    CERTIFICATE_MUTUAL = 3


# ---------------------------------------------------------------------------------------------
# <Info> enumerations


class CatalogPtzType(IntEnum):
    """GB/T 28181 ``PTZType`` (5-7 added in 2022).

    Not the same as :class:`camfleet.model.PtzType`, which only tells fixed from dome for the
    simulator; this is the catalog's own code list.
    """

    DOME = 1
    HEMISPHERE = 2
    FIXED = 3
    REMOTE_CONTROLLED_BOX = 4
    REMOTE_CONTROLLED_HEMISPHERE = 5
    MULTI_LENS_PANORAMA = 6
    MULTI_LENS_SPLIT = 7


class PositionType(IntEnum):
    """``PositionType`` (2016): the kind of place watched."""

    INTER_PROVINCIAL_CHECKPOINT = 1
    PARTY_GOVERNMENT_ORGANS = 2
    STATIONS_PORTS = 3
    CENTRAL_SQUARE = 4
    STADIUM = 5
    COMMERCIAL_CENTRE = 6
    RELIGIOUS_SITE = 7
    AROUND_SCHOOLS = 8
    COMPLEX_PUBLIC_ORDER_AREA = 9
    TRAFFIC_ARTERY = 10


class RoomType(IntEnum):
    """``RoomType``: outdoor or indoor."""

    OUTDOOR = 1
    INDOOR = 2


class UseType(IntEnum):
    """``UseType`` (2016): what the camera is for."""

    PUBLIC_ORDER = 1
    TRAFFIC = 2
    KEY_SITES = 3


class SupplyLightType(IntEnum):
    """``SupplyLightType`` (4 and 9 added in 2022)."""

    NONE = 1
    INFRARED = 2
    WHITE_LIGHT = 3
    LASER = 4
    OTHER = 9


class Direction(IntEnum):
    """GB/T 28181 ``DirectionType``: compass direction of the optical axis."""

    E = 1
    W = 2
    S = 3
    N = 4
    SE = 5
    NE = 6
    SW = 7
    NW = 8


class PointType(IntEnum):
    """GB/T 28181-2022 ``PointType``: class of the monitoring point."""

    CLASS_1 = 1
    CLASS_2 = 2
    CLASS_3 = 3
    OTHER = 9
