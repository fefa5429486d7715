"""Device management (ONVIF Core): clock, identity, capabilities vs services, network, users."""

from __future__ import annotations

import re
from datetime import timedelta

from devmgr.model import normalize_mac
from devmgr.onvif.session import SERVICE_NAMESPACES, parse_onvif_datetime
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import text, url_path

#: POSIX TZ (IEEE 1003.1 8.3): std name, offset (west-positive), optional DST part.
POSIX_TZ = re.compile(r"^(?:[A-Za-z]{3,}|<[^>]+>)([+-]?\d{1,2}(?::\d{2}){0,2})"
                      r"(?:(?:[A-Za-z]{3,}|<[^>]+>).*)?$")
USER_LEVELS = {"Administrator", "Operator", "User", "Anonymous", "Extended"}


def posix_utc_offset(tz: str) -> timedelta | None:
    """Local time minus UTC of a POSIX TZ's standard time (``CST-8`` -> +8 h)."""
    match = POSIX_TZ.match(tz)
    if match is None:
        return None
    sign = -1 if match.group(1).startswith("-") else 1
    hours, _, rest = match.group(1).lstrip("+-").partition(":")
    minutes = int(rest.split(":")[0]) if rest else 0
    return -sign * timedelta(hours=int(hours), minutes=minutes)


def test_DEVICE_3_1_1_system_date_and_time(camera: Camera) -> None:
    """GetSystemDateAndTime (pre-auth): type, time zone, UTC and local time that agree."""
    body = camera.must_call("device", "GetSystemDateAndTime")
    info = body.find("{*}SystemDateAndTime")
    assert info is not None, f"{camera}: GetSystemDateAndTime has no SystemDateAndTime"
    assert text(info, "{*}DateTimeType") in ("Manual", "NTP"), (
        f"{camera}: DateTimeType {text(info, '{*}DateTimeType')!r} is neither Manual nor NTP")
    assert text(info, "{*}DaylightSavings") in ("true", "false", "1", "0"), (
        f"{camera}: DaylightSavings missing or not a boolean")
    utc = parse_onvif_datetime(info.find("{*}UTCDateTime"))
    assert utc is not None, f"{camera}: no valid UTCDateTime"
    tz = text(info, "{*}TimeZone/{*}TZ")
    offset = posix_utc_offset(tz)
    assert offset is not None, f"{camera}: time zone {tz!r} is not a POSIX TZ string"
    local = parse_onvif_datetime(info.find("{*}LocalDateTime"))
    if local is not None:
        dst = timedelta(hours=1) if text(info, "{*}DaylightSavings") in ("true", "1") else \
            timedelta(0)
        shown = local - utc
        assert abs(shown - offset) <= timedelta(seconds=2) or abs(
            shown - offset - dst) <= timedelta(seconds=2), (
            f"{camera}: LocalDateTime is UTC{shown} but the time zone {tz!r} says UTC{offset}")


def test_CAMFLEET_clock_offset(camera: Camera, measure: MeasurementLog) -> None:
    """The camera's clock against ours: clock skew is the commonest field failure (Art. 17)."""
    measure("clock_offset", camera.clock_offset_s(), unit="s")


def test_DEVICE_3_1_9_device_information(camera: Camera) -> None:
    body = camera.must_call("device", "GetDeviceInformation")
    empty = [name for name in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber",
                               "HardwareId") if not text(body, f"{{*}}{name}")]
    assert not empty, f"{camera}: GetDeviceInformation leaves {', '.join(empty)} empty"


def _capability_xaddrs(camera: Camera) -> dict[str, str]:
    body = camera.must_call("device", "GetCapabilities", {"Category": "All"})
    caps = body.find("{*}Capabilities")
    assert caps is not None, f"{camera}: GetCapabilities has no Capabilities"
    found = {}
    for name, path in (("device", "{*}Device/{*}XAddr"), ("media", "{*}Media/{*}XAddr"),
                       ("ptz", "{*}PTZ/{*}XAddr"), ("imaging", "{*}Imaging/{*}XAddr"),
                       ("recording", "{*}Extension/{*}Recording/{*}XAddr")):
        if text(caps, path):
            found[name] = text(caps, path)
    return found


def test_DEVICE_1_1_2_all_capabilities(camera: Camera) -> None:
    xaddrs = _capability_xaddrs(camera)
    assert "device" in xaddrs, f"{camera}: GetCapabilities(All) has no Device XAddr"
    assert "media" in xaddrs, f"{camera}: GetCapabilities(All) has no Media XAddr"
    bad = {k: v for k, v in xaddrs.items() if not v.startswith(("http://", "https://"))}
    assert not bad, f"{camera}: XAddrs that are not HTTP URLs: {bad}"


def test_DEVICE_1_1_30_services_match_capabilities(camera: Camera) -> None:
    """GetServices and GetCapabilities list the same services at the same addresses."""
    body = camera.must_call("device", "GetServices", {"IncludeCapability": False})
    by_namespace = {text(s, "{*}Namespace"): text(s, "{*}XAddr")
                    for s in body.iterfind("{*}Service")}
    services = {name: by_namespace[ns] for name, ns in SERVICE_NAMESPACES.items()
                if ns in by_namespace}
    capabilities = _capability_xaddrs(camera)
    assert set(services) == set(capabilities), (
        f"{camera}: GetServices lists {sorted(services)}, GetCapabilities "
        f"{sorted(capabilities)}")
    differ = {name: (services[name], capabilities[name]) for name in services
              if url_path(services[name]) != url_path(capabilities[name])}
    assert not differ, f"{camera}: service addresses differ (GetServices, GetCapabilities): " \
                       f"{differ}"


def test_DEVICE_2_1_17_network_interfaces(camera: Camera) -> None:
    body = camera.must_call("device", "GetNetworkInterfaces")
    interfaces = list(body.iterfind("{*}NetworkInterfaces"))
    assert interfaces, f"{camera}: GetNetworkInterfaces lists no interface"
    for interface in interfaces:
        token = interface.get("token", "")
        assert token, f"{camera}: a network interface has no token"
        hw = text(interface, "{*}Info/{*}HwAddress")
        try:
            normalize_mac(hw)
        except ValueError:
            raise AssertionError(f"{camera}: interface {token}: HwAddress {hw!r} is not a "
                                 "MAC address") from None
        if text(interface, "{*}Enabled") in ("true", "1"):
            assert interface.find("{*}IPv4") is not None or interface.find(
                "{*}IPv6") is not None, f"{camera}: enabled interface {token} has no IP setup"


def test_DEVICE_4_1_1_users(camera: Camera) -> None:
    body = camera.must_call("device", "GetUsers")
    users = {text(u, "{*}Username"): text(u, "{*}UserLevel") for u in body.iterfind("{*}User")}
    assert users, f"{camera}: GetUsers lists no user"
    assert "" not in users, f"{camera}: GetUsers lists a user without a name"
    odd = {u: level for u, level in users.items() if level not in USER_LEVELS}
    assert not odd, f"{camera}: unknown user levels {odd}"
    assert camera.target.onvif.username in users, (
        f"{camera}: the user we log in as ({camera.target.onvif.username}) is not listed")
