"""Faults a simulated camera can suffer, declared as data.

A fault is a small typed record (``{"kind": "mount_shifted", "pan_deg": 3}``) that a fleet file,
the control API or a test hands to a camera; nothing is monkeypatched. Four families:

* **wire faults** change how the camera answers requests: ``latency``, ``no_response``,
  ``soap_fault``, ``http_500``, ``malformed_xml``, ``quirk_datetime``,
  ``quirk_snapshot_digest``, ``quirk_digest_only``. They may be limited to some ONVIF
  operations (``ops``) and fire with a ``probability``.
* **unit faults** change what the camera is: ``moved``, ``replaced``, ``readdressed``,
  ``ptz_limits_changed``, ``auth_failure``, ``non_discoverable``, ``clock_skew``,
  ``mount_shifted``, ``preset_moved``. They are folded into an *effective spec* and state by
  :func:`effective_spec`, so clearing a fault restores exactly what was there.
* **configuration faults** are unit faults an audit judges against the regulation rather than
  against the filing of the unit's place: ``default_credentials`` and
  ``snmp_default_community`` (Art. 17, secure access), ``retention_changed`` (Art. 16(5),
  retention). They fold into the effective spec the same way.
* **image faults** spoil the picture: ``obstructed``, ``blurred``.

``removed`` silences the camera on every protocol; ``reboot`` is an action, not a lasting state.
``moved``, ``removed``, ``replaced`` and ``readdressed`` are the Art. 10 family: a unit taken
elsewhere, taken down, swapped, or given another IP address in the same place.

    >>> from simulators.faults import parse_fault
    >>> parse_fault({"kind": "latency", "ms": 800, "ops": ["GetStatus"]}).applies_to("GetStatus")
    True
    >>> parse_fault({"kind": "readdressed", "address": "127.0.9.9"}).address
    '127.0.9.9'
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import random
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, TypeAdapter, field_validator

from devmgr.model import GeoPosition, Model, Mount, PtzVector, Range, normalize_mac
from simulators.spec import CameraSpec, Location, User, UserLevel


class FaultBase(Model):
    """Fields every fault has."""

    #: Free text for reports ("knocked by a truck"); never interpreted.
    note: str = ""


class WireFault(FaultBase):
    #: ONVIF operation names this fault applies to; empty means every operation.
    ops: tuple[str, ...] = ()
    probability: float = Field(default=1.0, ge=0.0, le=1.0)

    def applies_to(self, operation: str | None) -> bool:
        return not self.ops or operation in self.ops

    def fires(self, operation: str | None, rng: random.Random) -> bool:
        if not self.applies_to(operation):
            return False
        return self.probability >= 1.0 or rng.random() < self.probability


class Latency(WireFault):
    kind: Literal["latency"] = "latency"
    ms: float = Field(default=1000.0, ge=0.0, le=600_000.0)


class NoResponse(WireFault):
    """The request is read and never answered (a hung web server, a dropped reply)."""

    kind: Literal["no_response"] = "no_response"


class SoapFaultInjection(WireFault):
    kind: Literal["soap_fault"] = "soap_fault"
    code: Literal["Sender", "Receiver"] = "Receiver"
    subcode: str = "ter:Action"
    reason: str = "injected fault"


class Http500(WireFault):
    kind: Literal["http_500"] = "http_500"


class MalformedXml(WireFault):
    """The reply is cut off mid-element, as a firmware with a broken buffer sends it."""

    kind: Literal["malformed_xml"] = "malformed_xml"


class QuirkDatetime(FaultBase):
    """Non-standard date/time rendering seen in the field: ``xs:dateTime`` values written as
    ``2026-11-29 08:00:00`` (space, no zone) and a non-POSIX time zone (``GMT+08:00``)."""

    kind: Literal["quirk_datetime"] = "quirk_datetime"


class QuirkSnapshotDigest(FaultBase):
    """The snapshot URI insists on HTTP Digest and refuses Basic (many do)."""

    kind: Literal["quirk_snapshot_digest"] = "quirk_snapshot_digest"


class QuirkDigestOnly(FaultBase):
    """The camera ignores WS-Security and insists on HTTP Digest (Profile T makes Digest
    mandatory; some firmware then stops honouring UsernameToken)."""

    kind: Literal["quirk_digest_only"] = "quirk_digest_only"


class AuthFailure(FaultBase):
    """Somebody changed the password on the unit: every authenticated request fails."""

    kind: Literal["auth_failure"] = "auth_failure"


class ClockSkew(FaultBase):
    kind: Literal["clock_skew"] = "clock_skew"
    seconds: float = 3600.0


class Moved(FaultBase):
    """The unit was taken down and put up elsewhere: position, address, scopes, sysLocation."""

    kind: Literal["moved"] = "moved"
    distance_m: float = Field(default=250.0, ge=0.0)
    bearing_deg: float = 45.0
    address: str | None = None
    location_scope: str | None = None
    #: The new mount heading; a moved camera rarely looks the same way.
    heading_deg: float | None = None


class MountShifted(FaultBase):
    """A knock: the unit turns on its bracket; the PTZ position it reports does not change."""

    kind: Literal["mount_shifted"] = "mount_shifted"
    pan_deg: float = Field(default=3.0, ge=-180.0, le=180.0)
    tilt_deg: float = Field(default=0.0, ge=-45.0, le=45.0)


class Obstructed(FaultBase):
    """Something in front of the lens (Art. 12: greenery, billboards). Region in frame
    fractions (x0, y0, x1, y1)."""

    kind: Literal["obstructed"] = "obstructed"
    region: tuple[float, float, float, float] = (0.0, 0.4, 0.5, 1.0)
    texture: Literal["foliage", "billboard"] = "foliage"


class Blurred(FaultBase):
    kind: Literal["blurred"] = "blurred"
    sigma_px: float = Field(default=4.0, gt=0.0, le=50.0)


class PtzLimitsChanged(FaultBase):
    """Somebody reconfigured PanTiltLimits/ZoomLimits (degrees; ``None`` keeps the axis)."""

    kind: Literal["ptz_limits_changed"] = "ptz_limits_changed"
    pan: Range | None = None
    tilt: Range | None = None
    zoom: Range | None = None


class PresetMoved(FaultBase):
    """A preset was re-stored at another position."""

    kind: Literal["preset_moved"] = "preset_moved"
    token: str = "1"
    pan_deg: float = 5.0
    tilt_deg: float = 0.0


class Removed(FaultBase):
    """Taken off the pole: silent on every protocol, no Bye."""

    kind: Literal["removed"] = "removed"


class Replaced(FaultBase):
    """Another unit in the same place, on the same address: new serial and MAC."""

    kind: Literal["replaced"] = "replaced"
    serial: str | None = None
    mac: str | None = None


class NonDiscoverable(FaultBase):
    kind: Literal["non_discoverable"] = "non_discoverable"


class Readdressed(FaultBase):
    """The unit got another IP address (DHCP, a re-addressing of the site); identity,
    position and view are unchanged.

    The camera stops answering on its old address on every protocol (HTTP/ONVIF, SNMP,
    WS-Discovery unicast) and answers on ``address``; it says Bye from the old address and
    Hello, with the new XAddrs, from the new one, under the same EndpointReference (it is the
    same unit). Clearing the fault moves it back.

    ``address`` must be one the camera's host can bind: any 127.0.0.0/8 address on the
    loopback (a lone camera, a ``CameraHost``, a loopback fleet). A camera in a network
    namespace of its own (the netns backend) refuses the fault: its namespace's interface has
    exactly one address, which the fleet assigned.
    """

    kind: Literal["readdressed"] = "readdressed"
    address: str

    @field_validator("address")
    @classmethod
    def _unicast_ipv4(cls, value: str) -> str:
        try:
            ip = ipaddress.IPv4Address(value.strip())
        except ValueError as exc:
            raise ValueError(f"readdressed needs an IPv4 address, not {value!r}") from exc
        if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address(
                "255.255.255.255"):
            raise ValueError(f"readdressed needs one unicast IPv4 address, not {ip} (a camera "
                             "answers from exactly one address)")
        return str(ip)


class DefaultCredentials(FaultBase):
    """An account with a factory-default password is active (the installer left it, or a
    partial reset brought it back): Art. 17 secure access.

    The account is added; if the unit already has a user of that name, that user's password
    becomes the default one (an ONVIF device keeps one password per user). The default
    username ``root`` is one no generated or example camera has, so the fleet's own
    credentials keep working while the fault is in force; ``{"username": "admin"}`` instead
    models a reset of the admin account, and then the filed admin password stops working.
    Both WS-UsernameToken and HTTP Digest accept it.
    """

    kind: Literal["default_credentials"] = "default_credentials"
    username: str = Field(default="root", min_length=1)
    password: str = "pass"
    level: UserLevel = "Administrator"


class RetentionChanged(FaultBase):
    """Recording MaximumRetentionTime reconfigured (Art. 16(5)): GetRecordings and
    GetRecordingConfiguration report ``days``. The default, a week, is below every floor."""

    kind: Literal["retention_changed"] = "retention_changed"
    days: float = Field(default=7.0, ge=0.0, le=36_500.0)


class SnmpDefaultCommunity(FaultBase):
    """The SNMP v1/v2c read community is set to a default (Art. 17): the agent answers that
    community, no longer the configured one, and still its v3 users. Turns v1/v2c on where the
    spec had it off. No effect on a camera whose SNMP agent is disabled."""

    kind: Literal["snmp_default_community"] = "snmp_default_community"
    community: str = Field(default="public", min_length=1)


class Reboot(FaultBase):
    """An action: Bye, silence, Hello, sysUpTime reset, snmpEngineBoots + 1."""

    kind: Literal["reboot"] = "reboot"


Fault = Annotated[
    Latency | NoResponse | SoapFaultInjection | Http500 | MalformedXml | QuirkDatetime
    | QuirkSnapshotDigest | QuirkDigestOnly | AuthFailure | ClockSkew | Moved | MountShifted
    | Obstructed | Blurred | PtzLimitsChanged | PresetMoved | Removed | Replaced
    | NonDiscoverable | Reboot | Readdressed | DefaultCredentials | RetentionChanged
    | SnmpDefaultCommunity,
    Field(discriminator="kind"),
]
FAULT_ADAPTER: TypeAdapter[Fault] = TypeAdapter(Fault)
#: Every fault kind, in the order of the union above.
FAULT_KINDS: tuple[str, ...] = tuple(model.model_fields["kind"].default
                                     for model in get_args(get_args(Fault)[0]))
#: Faults that are actions, applied once, never "in force".
ACTIONS = frozenset({"reboot"})


def parse_fault(data: Any) -> Fault:
    """Validate one fault from JSON/YAML data (``{"kind": ..., ...}``) or a kind name."""
    if isinstance(data, str):
        data = {"kind": data}
    return FAULT_ADAPTER.validate_python(data)


def fault_to_json(fault: Fault) -> dict[str, Any]:
    return fault.model_dump(mode="json", exclude_defaults=False)


# -- unit faults: the effective spec --------------------------------------------------------------

def _digest(*parts: object) -> bytes:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()


def replacement_identity(spec: CameraSpec, fault: Replaced) -> tuple[str, str]:
    """Serial and MAC of the replacement unit: given, or derived from the original."""
    digest = _digest("replaced", spec.identity.serial)
    serial = fault.serial or f"{spec.identity.serial[:-6]}{digest.hex()[:6].upper()}"
    if fault.mac:
        mac = normalize_mac(fault.mac)
    else:
        oui = spec.identity.mac[:8]  # same vendor, another unit
        mac = f"{oui}:{digest[0]:02x}:{digest[1]:02x}:{digest[2]:02x}"
    return serial, mac


def offset_position(position: GeoPosition, distance_m: float,
                    bearing_deg: float) -> GeoPosition:
    """The position ``distance_m`` away on ``bearing_deg`` (flat-earth; fine below ~10 km)."""
    bearing = math.radians(bearing_deg)
    d_north = distance_m * math.cos(bearing)
    d_east = distance_m * math.sin(bearing)
    lat = position.latitude + math.degrees(d_north / 6_371_008.8)
    lon = position.longitude + math.degrees(
        d_east / (6_371_008.8 * math.cos(math.radians(position.latitude))))
    return GeoPosition(latitude=lat, longitude=lon, elevation=position.elevation)


def effective_spec(base: CameraSpec, faults: Iterable[FaultBase]) -> CameraSpec:
    """What the camera is with these unit faults in force (wire/image faults don't touch it)."""
    spec = base
    for fault in faults:
        if isinstance(fault, Moved):
            loc = spec.location
            moved = Location(
                position=offset_position(loc.position, fault.distance_m, fault.bearing_deg),
                address=fault.address or f"{fault.distance_m:.0f} m from {loc.address}",
                scope=fault.location_scope or f"{loc.scope}/relocated",
                name=loc.name)
            mount = spec.mount
            if fault.heading_deg is not None:
                mount = mount.model_copy(update={"heading": fault.heading_deg})
            spec = spec.model_copy(update={"location": moved, "mount": mount})
        elif isinstance(fault, Replaced):
            serial, mac = replacement_identity(spec, fault)
            identity = spec.identity.model_copy(update={"serial": serial, "mac": mac})
            spec = spec.model_copy(update={"identity": identity})
        elif isinstance(fault, PtzLimitsChanged):
            limits = spec.ptz.effective_limits
            new_limits = limits.model_copy(update={
                axis: value for axis, value in (("pan", fault.pan), ("tilt", fault.tilt),
                                                ("zoom", fault.zoom)) if value is not None})
            spec = spec.model_copy(update={"ptz": spec.ptz.model_copy(
                update={"limits": new_limits})})
        elif isinstance(fault, AuthFailure):
            changed = tuple(User(username=u.username, password=f"changed-{u.password[::-1]}",
                                 level=u.level) for u in spec.users)
            spec = spec.model_copy(update={"users": changed})
        elif isinstance(fault, NonDiscoverable):
            spec = spec.with_network(discoverable=False)
        elif isinstance(fault, QuirkDigestOnly):
            spec = spec.with_network(ws_security=False)
        elif isinstance(fault, Readdressed):
            spec = spec.with_network(address=fault.address)
        elif isinstance(fault, DefaultCredentials):
            spec = spec.model_copy(update={"users": with_default_account(spec.users, fault)})
        elif isinstance(fault, RetentionChanged):
            spec = spec.model_copy(update={"recording": spec.recording.model_copy(
                update={"retention_days": fault.days})})
        elif isinstance(fault, SnmpDefaultCommunity):
            spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(
                update={"community": fault.community})})
    return spec


def with_default_account(users: Sequence[User], fault: DefaultCredentials) -> tuple[User, ...]:
    """The users with the default account in force: added, or replacing a namesake's password
    (its level stays: a reset password does not promote the account)."""
    if any(u.username == fault.username for u in users):
        return tuple(u.model_copy(update={"password": fault.password})
                     if u.username == fault.username else u for u in users)
    return (*users, User(username=fault.username, password=fault.password, level=fault.level))


def mount_with_shifts(mount: Mount, faults: Iterable[FaultBase]) -> Mount:
    heading, tilt = mount.heading, mount.tilt
    for fault in faults:
        if isinstance(fault, MountShifted):
            heading += fault.pan_deg
            tilt += fault.tilt_deg
    return mount.model_copy(update={"heading": (heading + 360.0) % 360.0,
                                    "tilt": max(-90.0, min(90.0, tilt))})


def clock_offset(faults: Iterable[FaultBase]) -> float:
    return sum(f.seconds for f in faults if isinstance(f, ClockSkew))


def preset_offsets(faults: Iterable[FaultBase]) -> dict[str, PtzVector]:
    offsets: dict[str, PtzVector] = {}
    for fault in faults:
        if isinstance(fault, PresetMoved):
            prev = offsets.get(fault.token, PtzVector())
            offsets[fault.token] = PtzVector(pan=prev.pan + fault.pan_deg,
                                             tilt=prev.tilt + fault.tilt_deg, zoom=prev.zoom)
    return offsets


def has(faults: Sequence[FaultBase], kind: type[FaultBase]) -> bool:
    return any(isinstance(f, kind) for f in faults)
