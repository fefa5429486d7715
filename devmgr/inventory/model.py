"""What discovery finds and inventory collects: typed records shared by collectors, the
registry, the audit and the reports.

Errors are data too: a camera that times out, refuses credentials or answers garbage is an
``Inventory`` with ``errors`` (each classified), never an exception that stops a sweep.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import GeoPosition, MacAddress, Model, PtzVector, Range
from camfleet.protocols.ptz_spaces import PT_POSITION_DEGREES


class Route(StrEnum):
    """How a device was found."""

    WSD_MULTICAST = "wsd-multicast"
    WSD_UNICAST = "wsd-unicast"
    WSD_HELLO = "wsd-hello"
    SNMP = "snmp"
    TARGETS = "targets"
    #: An ARP reply on an attached segment (devmgr.layer2): alive, MAC and vendor (OUI) only.
    ARP = "arp"


class WsdEndpoint(Model):
    """A WS-Discovery ProbeMatch or Hello, as seen on the wire."""

    address: str
    endpoint: str
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    metadata_version: int = 0
    #: What the reply got wrong but could still be read (bare ProbeMatch, ...); empty: conformant.
    nonconformities: tuple[str, ...] = ()


class UnreadableReply(Model):
    """A WS-Discovery reply that arrived but could not be read: who sent it, and why not.

    ``reason`` is bounded and escaped (:data:`UNREADABLE_REASON_CHARS`)."""

    address: str
    reason: str


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
    #: How its WS-Discovery replies departed from the standard (accepted anyway); empty if
    #: they conformed or it was not found by WS-Discovery.
    nonconformities: tuple[str, ...] = ()


class DeviceInfo(Model):
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    hardware_id: str = ""


class VideoEncoder(Model):
    """A profile's video encoder configuration (Media 1 ``tt:VideoEncoderConfiguration``):
    what its stream should be. Values are checked where they are read
    (:mod:`devmgr.inventory.encoders`), so only plausible ones get here."""

    token: str = ""
    name: str = ""
    #: ``H264``, ``JPEG``, ``H265``, ``MPEG4`` as the camera writes it.
    encoding: str = ""
    width: int | None = None
    height: int | None = None
    #: RateControl FrameRateLimit, pictures per second.
    frame_rate: float | None = None
    #: RateControl BitrateLimit, kbit/s.
    bitrate_kbps: int | None = None
    #: Pictures per group of pictures (H264/MPEG4 GovLength).
    gov_length: int | None = None
    #: H264Profile / Mpeg4Profile (``Main``, ``High`` ...).
    codec_profile: str = ""
    quality: float | None = None

    def describe(self, *, short: bool = False) -> str:
        """``H264 1920x1080 25 fps 4096 kbit/s`` (``short``: ``H264 1920x1080@25``)."""
        parts = [self.encoding or "?"]
        if self.width and self.height:
            parts.append(f"{self.width}x{self.height}")
        if self.frame_rate is not None:
            if short:
                parts[-1] += f"@{self.frame_rate:g}"
            else:
                parts.append(f"{self.frame_rate:g} fps")
        if self.bitrate_kbps is not None and not short:
            parts.append(f"{self.bitrate_kbps} kbit/s")
        return " ".join(parts)


class MediaProfile(Model):
    token: str
    name: str = ""
    encoding: str = ""
    width: int | None = None
    height: int | None = None
    stream_uri: str = ""
    snapshot_uri: str = ""
    ptz_configuration: str = ""
    #: The profile's video encoder configuration, if it has one the camera described sanely.
    video_encoder: VideoEncoder | None = None


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

    def degrees_ranges(self) -> tuple[Range, Range] | None:
        """Pan and tilt ranges of the spherical degrees space (Profile T), if advertised."""
        for space in self.spaces:
            if space.uri == PT_POSITION_DEGREES and space.x is not None and space.y is not None:
                return space.x, space.y
        return None


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
    #: Where ``geolocation`` comes from: ``gnss`` (the camera's own fix: GetGeoLocation
    #: ``AutoGeo`` or a ``GeoSource``), ``configured`` (typed in), None (no position).
    geolocation_source: Literal["gnss", "configured"] | None = None
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
