"""What discovery finds and inventory collects: typed records shared by collectors, the
registry, the audit and the reports.

Errors are data too: a camera that times out, refuses credentials or answers garbage is an
``Inventory`` with ``errors`` (each classified), never an exception that stops a sweep.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from devmgr.model import GeoPosition, MacAddress, Model, PtzVector, Range


class ErrorKind(StrEnum):
    """Why no fair answer was obtained, in the order a field engineer checks them."""

    UNREACHABLE = "unreachable"  # nothing listens: refused, no route, host down
    TIMEOUT = "timeout"          # something listens, but did not answer in time
    AUTH = "auth"                # it answered: credentials refused
    PROTOCOL = "protocol"        # it answered: a SOAP fault, HTTP error or unparsable reply


class DeviceError(Model):
    kind: ErrorKind
    #: The ONVIF operation or SNMP request that failed (``GetProfiles``, ``snmp-get``).
    operation: str
    message: str


class Route(StrEnum):
    """How a device was found."""

    WSD_MULTICAST = "wsd-multicast"
    WSD_UNICAST = "wsd-unicast"
    WSD_HELLO = "wsd-hello"
    SNMP = "snmp"
    TARGETS = "targets"


class WsdEndpoint(Model):
    """A WS-Discovery ProbeMatch or Hello, as seen on the wire."""

    address: str
    endpoint: str
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    metadata_version: int = 0


class SnmpIdentity(Model):
    """What the SNMP agent says: system group, interface MAC, ENTITY-MIB, engine."""

    address: str
    port: int = 161
    #: "v2c:<community>" or "v3:<user>"; which credentials worked (never the secret).
    access: str = ""
    sys_descr: str = ""
    sys_object_id: str = ""
    sys_name: str = ""
    sys_location: str = ""
    sys_contact: str = ""
    uptime_s: float | None = None
    mac: MacAddress | None = None
    serial: str = ""
    model: str = ""
    engine_id: str = ""
    engine_boots: int | None = None
    #: Vendor from the sysObjectID enterprise number, e.g. "Hikvision".
    vendor: str = ""


class DiscoveredDevice(Model):
    """One physical unit, merged from every route that saw it."""

    key: str
    addresses: tuple[str, ...]
    routes: tuple[Route, ...]
    serial: str = ""
    mac: MacAddress | None = None
    endpoint: str = ""
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    vendor: str = ""
    model: str = ""
    snmp: SnmpIdentity | None = None


class DeviceInfo(Model):
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    hardware_id: str = ""


class MediaProfile(Model):
    token: str
    name: str = ""
    encoding: str = ""
    width: int | None = None
    height: int | None = None
    stream_uri: str = ""
    snapshot_uri: str = ""
    ptz_configuration: str = ""


class PtzSpace(Model):
    uri: str
    x: Range | None = None
    y: Range | None = None


class PtzPreset(Model):
    token: str
    name: str = ""
    #: Position in the generic space (pan/tilt -1..1, zoom 0..1), as the camera reports it.
    position: PtzVector | None = None


class PtzInventory(Model):
    """The PTZ facts the regulation's "relatively fixed capture range" rests on."""

    node: str = ""
    fixed_home: bool | None = None
    home_supported: bool | None = None
    max_presets: int | None = None
    configuration: str = ""
    #: PanTiltLimits / ZoomLimits (generic space unless ``limits_space`` says otherwise).
    pan_limits: Range | None = None
    tilt_limits: Range | None = None
    zoom_limits: Range | None = None
    limits_space: str = ""
    #: Every space the node and the configuration options advertise.
    spaces: tuple[PtzSpace, ...] = ()
    default_timeout_s: float | None = None
    position: PtzVector | None = None
    move_status: str = ""
    presets: tuple[PtzPreset, ...] = ()


class Inventory(Model):
    """Everything one sweep learnt about one camera, including what it could not learn."""

    target_id: str
    address: str
    collected_at: datetime
    reachable: bool = True
    device: DeviceInfo | None = None
    mac: MacAddress | None = None
    hostname: str = ""
    scopes: tuple[str, ...] = ()
    #: Camera clock minus ours, seconds (positive: the camera is ahead).
    clock_offset_s: float | None = None
    camera_time: datetime | None = None
    timezone: str = ""
    ntp_servers: tuple[str, ...] = ()
    #: Service namespace -> XAddr (GetServices, else GetCapabilities).
    services: dict[str, str] = Field(default_factory=dict)
    geolocation: GeoPosition | None = None
    profiles: tuple[MediaProfile, ...] = ()
    ptz: PtzInventory | None = None
    recording_retention_days: float | None = None
    discovery_mode: str = ""
    users: tuple[str, ...] = ()
    snmp: SnmpIdentity | None = None
    errors: tuple[DeviceError, ...] = ()
    #: Wall time the collection took, seconds.
    elapsed_s: float = 0.0

    @property
    def error_kinds(self) -> set[ErrorKind]:
        return {e.kind for e in self.errors}
