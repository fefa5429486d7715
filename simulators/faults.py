"""Faults a simulated camera can suffer, declared as data.

A fault is a small typed record (``{"kind": "mount_shifted", "pan_deg": 3}``) that a fleet file,
the control API or a test hands to a camera; nothing is monkeypatched. Four families:

* **wire faults** change how the camera answers requests: ``latency``, ``no_response``,
  ``soap_fault``, ``http_500``, ``malformed_xml``, ``quirk_datetime``,
  ``quirk_snapshot_digest``, ``quirk_digest_only``, ``quirk_fault_subcode``, and the hostile
  behaviours of :mod:`simulators.hostile` (``hostile_value``, ``redirect``, ``basic_only``,
  ``trickle``, ``oversized``, ``dtd``, ``image_bomb``). They may be
  limited to some ONVIF operations (``ops``) and fire with a ``probability``.
* **unit faults** change what the camera is: ``moved``, ``replaced``, ``readdressed``,
  ``ptz_limits_changed``, ``auth_failure``, ``non_discoverable``, ``clock_skew``,
  ``mount_shifted``, ``preset_moved``, ``scopes_missing``, ``quirk_answers_any_probe``,
  ``quirk_no_announcements``, ``quirk_auth_everything``. They
  are folded into an *effective spec* and state by :func:`effective_spec`, so clearing a fault
  restores exactly what was there.
* **configuration faults** are unit faults an audit judges against the regulation rather than
  against the filing of the unit's place: ``default_credentials`` and
  ``snmp_default_community`` (Art. 17, secure access), ``retention_changed`` (Art. 16(5),
  retention). They fold into the effective spec the same way.
* **image faults** spoil the picture: ``obstructed``, ``blurred``.
* **stream faults** spoil the RTSP stream: ``stream_down``, ``frozen``, ``black``,
  ``low_fps``, ``wrong_resolution`` (folded by :mod:`simulators.rtsp.faults`).

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
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, TypeAdapter, field_validator

from camfleet.model import Mount, PtzVector, Range, normalize_mac
from simulators.fault_base import FaultBase, WireFault
from simulators.hostile import BasicOnly, Dtd, HostileValue, ImageBomb, Oversized, Redirect, Trickle
from simulators.moves import moved_view, offset_position
from simulators.spec import CameraSpec, Location, User, UserLevel


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


class QuirkAuthEverything(FaultBase):
    """The camera wants credentials even for the pre-auth operations (GetSystemDateAndTime):
    HTTP 401 with a Digest challenge to a request without them, as firmware with
    "authenticate every ONVIF request" switched on answers."""

    kind: Literal["quirk_auth_everything"] = "quirk_auth_everything"


class QuirkFaultSubcode(WireFault):
    """Where the camera refuses a request with a SOAP fault, the fault says something else:
    another code or subcode than ONVIF prescribes (``ter:InvalidArgs`` for ``ter:NoProfile``).
    Requests the camera answers normally are untouched."""

    kind: Literal["quirk_fault_subcode"] = "quirk_fault_subcode"
    code: Literal["Sender", "Receiver"] | None = None
    subcodes: tuple[str, ...] = ("ter:InvalidArgs",)


class ScopesMissing(FaultBase):
    """Configurable scopes an installer cleared: the ``location`` and/or ``name`` scopes
    ONVIF makes mandatory are no longer advertised (GetScopes, Hello, ProbeMatch)."""

    kind: Literal["scopes_missing"] = "scopes_missing"
    categories: tuple[Literal["location", "name"], ...] = ("name",)


class QuirkAnswersAnyProbe(FaultBase):
    """The camera's WS-Discovery answers every Probe, whatever Types and Scopes it asks for
    (DISCOVERY-1-1-5 requires silence for Types and Scopes it does not have)."""

    kind: Literal["quirk_answers_any_probe"] = "quirk_answers_any_probe"


class QuirkNoAnnouncements(FaultBase):
    """The camera's WS-Discovery never sends Hello or Bye (on start, reboot or a mode switch),
    though it still answers Probes: DISCOVERY-1-1-2, 1-1-8 and DEVICE-3-1-8 expect both."""

    kind: Literal["quirk_no_announcements"] = "quirk_no_announcements"


class AuthFailure(FaultBase):
    """Somebody changed the password on the unit: every authenticated request fails."""

    kind: Literal["auth_failure"] = "auth_failure"


class ClockSkew(FaultBase):
    kind: Literal["clock_skew"] = "clock_skew"
    seconds: float = 3600.0


class Moved(FaultBase):
    """The unit was taken down and put up elsewhere.

    Silent by default, as in the field: its GeoLocation, location scope and sysLocation are
    configuration an installer typed once, and stay as they were (a GNSS fix, though, is
    measured and follows the unit); what changes is where it is plugged in (in a fleet with
    switches) and what it sees
    (:func:`simulators.moves.moved_view`); ``heading_deg`` sets the new heading outright.
    ``announce``: the installer re-typed them (position ``distance_m`` away on
    ``bearing_deg``, ``address``, ``location_scope``).
    """

    kind: Literal["moved"] = "moved"
    #: Its self-reported position, scopes and sysLocation follow the move.
    announce: bool = False
    distance_m: float = Field(default=250.0, ge=0.0)
    bearing_deg: float = 45.0
    address: str | None = None
    location_scope: str | None = None
    #: The new mount heading; a moved camera rarely looks the same way.
    heading_deg: float | None = None
    #: Where it is plugged in now, in a fleet with switches: switch name and port (None:
    #: the fleet picks a free port on another switch, or on the same one if it has one).
    switch: str | None = None
    port: int | None = Field(default=None, ge=1, le=512)


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
    """Taken off the pole: silent on every protocol, no Bye; in a fleet with switches its
    port has no link, its MAC leaves the forwarding table and PoE detects no device."""

    kind: Literal["removed"] = "removed"


class ServicesDown(FaultBase):
    """Hung services on a unit still on its pole: ONVIF, SNMP and WS-Discovery dead (silent,
    no Bye), while its link, ARP and PoE draw are alive (the switch still sees it)."""

    kind: Literal["services_down"] = "services_down"


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

    ``address``: any 127.0.0.0/8 address on the loopback; on netns the fleet moves the
    camera's interface there (the old address dies, ARP included), also into another private
    /24 gatewayed by the bridge (``Fleet.spare_address`` names free ones); docker refuses it.
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


# -- stream faults: what the RTSP stream sends (simulators.rtsp.faults folds them) --------
class StreamDown(FaultBase):
    """The camera's RTSP service is down: connections are refused."""

    kind: Literal["stream_down"] = "stream_down"


class StreamFault(FaultBase):
    #: Profile tokens the fault applies to; empty means every stream.
    streams: tuple[str, ...] = ()

    def applies_to(self, token: str) -> bool:
        return not self.streams or token in self.streams


class Frozen(StreamFault):
    """A hung pipeline: the last picture repeats, timestamps go on."""

    kind: Literal["frozen"] = "frozen"


class Black(StreamFault):
    kind: Literal["black"] = "black"


class LowFps(StreamFault):
    kind: Literal["low_fps"] = "low_fps"
    fps: float = Field(default=1.0, gt=0.0, le=60.0)


class WrongResolution(StreamFault):
    """The encoder sends another size than the media profile announces."""

    kind: Literal["wrong_resolution"] = "wrong_resolution"
    width: int | None = Field(default=None, ge=16, le=2040)
    height: int | None = Field(default=None, ge=16, le=2040)


class Reboot(FaultBase):
    """An action: Bye, silence, Hello, sysUpTime reset, snmpEngineBoots + 1."""

    kind: Literal["reboot"] = "reboot"


Fault = Annotated[
    Latency | NoResponse | SoapFaultInjection | Http500 | MalformedXml | QuirkDatetime
    | QuirkSnapshotDigest | QuirkDigestOnly | QuirkAuthEverything | AuthFailure | ClockSkew
    | Moved | MountShifted | Obstructed | Blurred | PtzLimitsChanged | PresetMoved | Removed
    | ServicesDown | Replaced | NonDiscoverable | Reboot | Readdressed | DefaultCredentials
    | RetentionChanged | SnmpDefaultCommunity | QuirkFaultSubcode | ScopesMissing
    | QuirkAnswersAnyProbe | QuirkNoAnnouncements | StreamDown | Frozen | Black | LowFps
    | WrongResolution | HostileValue | Redirect | BasicOnly | Trickle | Oversized | Dtd
    | ImageBomb,
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


def effective_spec(base: CameraSpec, faults: Iterable[FaultBase]) -> CameraSpec:
    """What the camera is with these unit faults in force (wire/image faults don't touch it)."""
    spec = base
    for fault in faults:
        if isinstance(fault, Moved):
            loc = spec.location
            there = offset_position(loc.position, fault.distance_m, fault.bearing_deg)
            if fault.announce:
                moved = Location(
                    position=there, gnss=loc.gnss,
                    address=fault.address or f"{fault.distance_m:.0f} m from {loc.address}",
                    scope=fault.location_scope or f"{loc.scope}/relocated", name=loc.name)
            elif loc.gnss:  # a GNSS fix is measured: it follows the unit, re-typed or not
                moved = loc.model_copy(update={"position": there})
            else:
                moved = loc
            seed, heading = moved_view(spec, fault.distance_m, fault.bearing_deg,
                                       fault.heading_deg)
            mount = spec.mount.model_copy(update={"heading": heading})
            spec = spec.model_copy(update={"location": moved, "mount": mount,
                                           "scene_seed": seed})
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
        elif isinstance(fault, QuirkAuthEverything):
            spec = spec.with_network(pre_auth=False)
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
        elif isinstance(fault, ScopesMissing):
            cleared = {"scope": ""} if "location" in fault.categories else {}
            if "name" in fault.categories:
                cleared["name"] = ""
            spec = spec.model_copy(update={"location": spec.location.model_copy(
                update=cleared)})
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
