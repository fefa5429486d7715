"""The typed description of one simulated camera, loadable from YAML.

A spec is plain data: it says what the camera is (identity, location, optics, PTZ, credentials,
SNMP, recording, mount, network), never how it is served. ``SimulatedCamera`` does the serving.

    >>> from simulators.spec import CameraSpec
    >>> spec = CameraSpec.example()
    >>> spec.identity.manufacturer, spec.ptz.type
    ('Hikvision', <PtzType.DOME: 'dome'>)

YAML uses the same field names (see ``simulators/specs/dome.yaml``). Every value is validated
when the spec is built; a bad file fails with the file name, the field path and the reason.
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from camfleet.model import (
    DeviceIdentity,
    GeoPosition,
    Model,
    Mount,
    Preset,
    PtzLimits,
    PtzType,
    PtzVector,
    Range,
    format_validation_error,
)
from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.snmp_mib import enterprise_for


class SpecError(ValueError):
    """A camera spec could not be loaded; the message names the file, the field and the fix."""


class Location(Model):
    """Where the unit is, as the camera itself reports it (GeoLocation, scopes, sysLocation)."""

    position: GeoPosition
    #: The position is the unit's own GNSS fix (GetGeoLocation ``AutoGeo``): measured where
    #: it is, so it follows a move; false: typed by the installer, and stays as typed.
    gnss: bool = False
    address: str = ""
    #: ONVIF ``onvif://www.onvif.org/location/...`` scope segments, e.g. ``city/wuhan``.
    scope: str = ""
    #: ONVIF ``onvif://www.onvif.org/name/...`` scope.
    name: str = ""


class Optics(Model):
    """Sensor and lens. Field-of-view angles are at the widest zoom."""

    width: int = Field(default=1920, ge=16, le=7680)
    height: int = Field(default=1080, ge=16, le=4320)
    hfov: float = Field(default=60.0, gt=1.0, lt=170.0, description="horizontal FOV, degrees")
    vfov: float | None = Field(
        default=None, gt=1.0, lt=170.0, description="vertical FOV; derived from hfov if unset"
    )
    zoom_max: float = Field(default=1.0, ge=1.0, le=60.0, description="optical zoom factor")

    @property
    def vertical_fov(self) -> float:
        if self.vfov is not None:
            return self.vfov
        half = math.radians(self.hfov) / 2
        return math.degrees(2 * math.atan(math.tan(half) * self.height / self.width))

    def hfov_at(self, zoom: float) -> float:
        """Horizontal FOV in degrees at normalized zoom 0..1 (linear in focal length)."""
        factor = 1.0 + zoom * (self.zoom_max - 1.0)
        return math.degrees(2 * math.atan(math.tan(math.radians(self.hfov) / 2) / factor))

    def focal_px(self, zoom: float = 0.0) -> float:
        """Focal length in pixels at the given zoom: f = (W/2) / tan(HFOV/2)."""
        return (self.width / 2) / math.tan(math.radians(self.hfov_at(zoom)) / 2)


class PtzSpec(Model):
    """PTZ mechanics. Positions in degrees relative to the mount; zoom normalized 0..1.

    ``pan_range``/``tilt_range`` are what the mechanism can physically reach and define the
    mapping to ONVIF's generic space (-1..1); ``limits`` are the configured PanTiltLimits and
    ZoomLimits inside them.
    """

    type: PtzType = PtzType.DOME
    pan_range: Range = Range(min=-180.0, max=180.0)
    tilt_range: Range = Range(min=-90.0, max=30.0)
    limits: PtzLimits | None = None
    pan_speed: float = Field(default=120.0, gt=0, description="degrees per second at speed 1")
    tilt_speed: float = Field(default=60.0, gt=0, description="degrees per second at speed 1")
    zoom_speed: float = Field(default=0.5, gt=0, description="zoom units per second at speed 1")
    presets: tuple[Preset, ...] = ()
    home: PtzVector = PtzVector()
    home_fixed: bool = False
    max_presets: int = Field(default=64, ge=0)
    #: Offer SphericalPositionSpaceDegrees besides the generic spaces (Profile T).
    degrees_space: bool = True

    @property
    def effective_limits(self) -> PtzLimits:
        return self.limits or PtzLimits(pan=self.pan_range, tilt=self.tilt_range)

    @model_validator(mode="after")
    def _consistent(self) -> PtzSpec:
        limits = self.effective_limits
        for what, lim, rng in (
            ("pan", limits.pan, self.pan_range),
            ("tilt", limits.tilt, self.tilt_range),
        ):
            if lim.min < rng.min or lim.max > rng.max:
                raise ValueError(f"{what} limits {lim.min}..{lim.max} exceed the mechanical "
                                 f"range {rng.min}..{rng.max}")
        if not limits.contains(self.home):
            raise ValueError(f"home position {self.home} lies outside the limits")
        for preset in self.presets:
            if not limits.contains(preset.position):
                raise ValueError(f"preset {preset.token!r} lies outside the limits")
        tokens = [p.token for p in self.presets]
        if len(tokens) != len(set(tokens)):
            raise ValueError("preset tokens must be unique")
        return self

    def to_generic(self, position: PtzVector) -> tuple[float, float, float]:
        """Degrees -> ONVIF generic position space (pan/tilt -1..1, zoom 0..1)."""
        return (
            _to_unit(position.pan, self.pan_range),
            _to_unit(position.tilt, self.tilt_range),
            position.zoom,
        )

    def from_generic(self, x: float, y: float, zoom: float) -> PtzVector:
        return PtzVector(
            pan=_from_unit(x, self.pan_range),
            tilt=_from_unit(y, self.tilt_range),
            zoom=zoom,
        )

    def generic_limits(self) -> tuple[Range, Range]:
        """The configured pan/tilt limits expressed in the generic space."""
        lim = self.effective_limits
        return (
            Range(min=_to_unit(lim.pan.min, self.pan_range),
                  max=_to_unit(lim.pan.max, self.pan_range)),
            Range(min=_to_unit(lim.tilt.min, self.tilt_range),
                  max=_to_unit(lim.tilt.max, self.tilt_range)),
        )


def _to_unit(value: float, rng: Range) -> float:
    return 2.0 * (value - rng.min) / (rng.max - rng.min) - 1.0


def _from_unit(value: float, rng: Range) -> float:
    return rng.min + (value + 1.0) * (rng.max - rng.min) / 2.0


#: ONVIF user levels (ONVIF Core 5.9.4.4), highest first.
UserLevel = Literal["Administrator", "Operator", "User"]


class User(Model):
    username: str = Field(min_length=1)
    password: str
    level: UserLevel = "Administrator"


class SnmpV3User(Model):
    name: str = Field(min_length=1)
    auth_protocol: Literal["none", "MD5", "SHA", "SHA256"] = "SHA"
    auth_key: str = ""
    priv_protocol: Literal["none", "DES", "AES"] = "AES"
    priv_key: str = ""

    @model_validator(mode="after")
    def _keys(self) -> SnmpV3User:
        if self.auth_protocol != "none" and len(self.auth_key) < 8:
            raise ValueError(f"SNMPv3 user {self.name!r}: auth_key needs at least 8 characters")
        if self.priv_protocol != "none":
            if self.auth_protocol == "none":
                raise ValueError(f"SNMPv3 user {self.name!r}: privacy requires authentication")
            if len(self.priv_key) < 8:
                raise ValueError(f"SNMPv3 user {self.name!r}: priv_key needs at least 8 "
                                 "characters")
        return self


class SnmpSpec(Model):
    enabled: bool = True
    port: int = Field(default=161, ge=1, le=65535)
    #: v2c read community; ``None`` turns v1/v2c off (v3 only).
    community: str | None = "public"
    v3_users: tuple[SnmpV3User, ...] = ()
    contact: str = ""
    #: Enterprise number for sysObjectID; defaults to the manufacturer's.
    enterprise: int | None = None


class RecordingSpec(Model):
    retention_days: float = Field(default=30.0, ge=0)
    recording_token: str = "REC_1"


class NetworkSpec(Model):
    """How the camera is reached. Port 0 picks a free port (what tests use)."""

    address: str = "127.0.0.1"
    prefix_length: int = Field(default=8, ge=0, le=32)
    http_port: int = Field(default=80, ge=0, le=65535)
    #: RTSP port; None: 554, or any free port (0) where ``http_port`` is 0 (tests).
    rtsp_port: int | None = Field(default=None, ge=0, le=65535)
    hostname: str = ""
    discoverable: bool = True
    #: Upper bound of the random delay before a ProbeMatch (APP_MAX_DELAY, milliseconds).
    discovery_max_delay_ms: int = Field(default=500, ge=0, le=5000)
    #: WS-Discovery port; the standard one everywhere but in tests that must not collide.
    discovery_port: int = Field(default=wsd.PORT, ge=1, le=65535)
    #: Seconds a WS-Security Created timestamp may differ from the camera clock.
    wsse_max_skew_s: float = Field(default=300.0, gt=0)
    #: Honour WS-Security UsernameToken; off, only HTTP Digest authenticates.
    ws_security: bool = True
    #: Answer the pre-auth operations (GetSystemDateAndTime, ...) without credentials, as
    #: ONVIF Core 5.9.1 asks; off, they want credentials too (firmware with "authenticate
    #: every ONVIF request" on).
    pre_auth: bool = True
    #: HTTP Digest algorithms challenged with, in this order (RFC 7616 puts the preferred
    #: first); only these are accepted. MD5 alone is what most cameras send, and all that
    #: urllib-based clients read (they take the first challenge only).
    digest_algorithms: tuple[Literal["MD5", "SHA-256"], ...] = Field(default=("MD5",),
                                                                     min_length=1)
    ntp_servers: tuple[str, ...] = ("ntp.camfleet.invalid",)
    #: POSIX TZ string the camera reports (``CST-8`` is China Standard Time, UTC+8).
    timezone: str = "CST-8"

    @property
    def effective_rtsp_port(self) -> int:
        if self.rtsp_port is not None:
            return self.rtsp_port
        return 0 if self.http_port == 0 else 554

    @field_validator("address")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


Weather = Literal["clear", "rain", "fog", "haze", "snow"]


class LivingWorld(Model):
    """The conditions a camera's scene lives in (``simulators.scene.living``): a clock with
    daylight, dusk and night (IR), weather, traffic. Conditions, not faults: a healthy camera
    lives in them. Off by default: the frozen world of fixed noon light and no traffic."""

    enabled: bool = False
    #: Hour of day (0..24, local solar time) when the camera starts (or the world is set).
    start_hour: float = Field(default=12.0, ge=0.0, lt=24.0)
    #: Simulated seconds per real second: 1 is real time, 1440 a day in a minute; 0 stops
    #: the clock at ``start_hour``.
    speed: float = Field(default=1.0, ge=0.0, le=100_000.0)
    day_of_year: int = Field(default=172, ge=1, le=366)
    latitude: float = Field(default=30.6, ge=-66.0, le=66.0)
    weather: Weather = "clear"
    #: Strength of the weather, 0..1 (1: dense fog, heavy rain or snow).
    intensity: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Vehicles and pedestrians, 0 (none) .. 1 (rush hour).
    traffic: float = Field(default=0.3, ge=0.0, le=1.0)
    #: Minutes per hour a large vehicle stands close to the lens (a bus at its stop).
    bus_minutes_per_hour: float = Field(default=0.0, ge=0.0, le=60.0)
    #: Whether the camera switches to IR at night (without: a dark picture).
    ir: bool = True


class CameraSpec(Model):
    """Everything that describes one simulated camera."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    identity: DeviceIdentity
    location: Location
    optics: Optics = Optics()
    ptz: PtzSpec = PtzSpec()
    mount: Mount = Mount()
    users: tuple[User, ...] = (User(username="admin", password="admin"),)
    snmp: SnmpSpec = SnmpSpec()
    recording: RecordingSpec = RecordingSpec()
    network: NetworkSpec = NetworkSpec()
    #: Seed of the world the camera looks at; cameras sharing a seed see the same scene.
    scene_seed: int = 0
    #: The living world around it: clock, daylight, night IR, weather, traffic.
    world: LivingWorld = LivingWorld()

    @model_validator(mode="after")
    def _fixed_units_do_not_move(self) -> CameraSpec:
        if self.ptz.type is PtzType.FIXED and self.ptz.presets:
            raise ValueError("a fixed camera cannot have PTZ presets")
        return self

    @property
    def is_ptz(self) -> bool:
        return self.ptz.type is not PtzType.FIXED

    @property
    def enterprise_number(self) -> int:
        if self.snmp.enterprise is not None:
            return self.snmp.enterprise
        return enterprise_for(self.identity.manufacturer) or 99999

    @property
    def hostname(self) -> str:
        return self.network.hostname or f"cam-{self.id}"

    def with_network(self, **changes: Any) -> CameraSpec:
        """A copy with network fields replaced (tests bind to 127.0.0.1 and port 0)."""
        return self.model_copy(update={"network": self.network.model_copy(update=changes)})

    @classmethod
    def example(cls) -> CameraSpec:
        """A PTZ dome in central Wuhan; the spec the quick start serves."""
        return CameraSpec(
            id="dome-1",
            identity=DeviceIdentity(
                manufacturer="Hikvision",
                model="DS-2DE4425IW-DE",
                firmware="V5.7.3 build 220112",
                serial="DS-2DE4425IW-DE20220315AAWRJ12345678",
                hardware_id="88",
                mac="44:19:b6:12:34:56",
            ),
            location=Location(
                position=GeoPosition(latitude=30.5928, longitude=114.3055, elevation=32.0),
                address="1 Zhongshan Avenue, Jiang'an District, Wuhan",
                scope="country/china/city/wuhan",
                name="Zhongshan-Ave-North",
            ),
            optics=Optics(width=1280, height=720, hfov=60.0, zoom_max=25.0),
            ptz=PtzSpec(
                limits=PtzLimits(pan=Range(min=-170.0, max=170.0),
                                 tilt=Range(min=-80.0, max=10.0)),
                presets=(
                    Preset(token="1", name="gate",
                           position=PtzVector(pan=20.0, tilt=-10.0, zoom=0.0)),
                    Preset(token="2", name="crossing",
                           position=PtzVector(pan=-45.0, tilt=-15.0, zoom=0.2)),
                ),
                home=PtzVector(pan=0.0, tilt=-5.0, zoom=0.0),
            ),
            mount=Mount(heading=90.0, tilt=0.0),
            users=(User(username="admin", password="Cam-2024!secure"),),
            snmp=SnmpSpec(
                community="c4mfleet-ro",
                v3_users=(SnmpV3User(name="monitor", auth_key="authpass123",
                                     priv_key="privpass123"),),
                contact="ops@example.org",
            ),
            recording=RecordingSpec(retention_days=90.0),
            network=NetworkSpec(hostname="dome-1"),
        )


def load_spec(path: str | Path) -> CameraSpec:
    """Load and validate a camera spec from a YAML file.

    Raises :class:`SpecError` naming the file and every invalid field.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read camera spec: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a camera spec is a mapping of fields, got {type(data).__name__}")
    try:
        return CameraSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: invalid camera spec:\n{format_validation_error(exc)}") from exc
