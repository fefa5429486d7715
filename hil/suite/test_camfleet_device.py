"""camfleet's own checks of the device management answers, stricter than the DEVICE cases of
test_device.py: a consistent clock and time zone, MAC addresses, user levels."""

from __future__ import annotations

from datetime import timedelta

from camfleet.model import normalize_mac
from devmgr.onvif.soap import SERVICE_NAMESPACES
from devmgr.onvif.xml import parse_onvif_datetime
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import USER_LEVELS, capabilities, posix_utc_offset, services, text, url_path


def test_CAMFLEET_clock_offset(camera: Camera, measure: MeasurementLog) -> None:
    """The camera's clock against ours: clock skew is the commonest field failure (Art. 17)."""
    measure("clock_offset", camera.clock_offset_s(), unit="s")


def test_CAMFLEET_clock_consistent(camera: Camera) -> None:
    """Stricter than DEVICE-3-1-1: UTC time given, a POSIX time zone, and local time that
    agrees with both (recordings are timestamped by it, Art. 17)."""
    info = camera.must_call("device", "GetSystemDateAndTime").find("{*}SystemDateAndTime")
    assert info is not None, f"{camera}: GetSystemDateAndTime has no SystemDateAndTime"
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


def test_CAMFLEET_network_interfaces(camera: Camera) -> None:
    """Every interface has a MAC address, and an enabled one an IP configuration."""
    body = camera.must_call("device", "GetNetworkInterfaces")
    for interface in body.iterfind("{*}NetworkInterfaces"):
        token = interface.get("token", "")
        hw = text(interface, "{*}Info/{*}HwAddress")
        try:
            normalize_mac(hw)
        except ValueError:
            raise AssertionError(f"{camera}: interface {token}: HwAddress {hw!r} is not a "
                                 "MAC address") from None
        if text(interface, "{*}Enabled") in ("true", "1"):
            assert interface.find("{*}IPv4") is not None or interface.find(
                "{*}IPv6") is not None, f"{camera}: enabled interface {token} has no IP setup"


def test_CAMFLEET_users(camera: Camera) -> None:
    """Users with names and known levels, among them the account we log in with."""
    body = camera.must_call("device", "GetUsers")
    users = {text(u, "{*}Username"): text(u, "{*}UserLevel") for u in body.iterfind("{*}User")}
    assert users, f"{camera}: GetUsers lists no user"
    assert "" not in users, f"{camera}: GetUsers lists a user without a name"
    odd = {u: level for u, level in users.items() if level not in USER_LEVELS}
    assert not odd, f"{camera}: unknown user levels {odd}"
    assert camera.target.onvif.username in users, (
        f"{camera}: the user we log in as ({camera.target.onvif.username}) is not listed")


def test_CAMFLEET_service_addresses_agree(camera: Camera) -> None:
    """GetServices and GetCapabilities name the same services at the same paths (what the
    suite's DEVICE-1-1-30 used to check; the official case compares capability flags)."""
    listed = {name: text(services(camera, capabilities=False).get(ns), "{*}XAddr")
              for name, ns in SERVICE_NAMESPACES.items()}
    caps = capabilities(camera, "All")
    for name, path in (("device", "{*}Device"), ("media", "{*}Media"), ("ptz", "{*}PTZ"),
                       ("imaging", "{*}Imaging"), ("events", "{*}Events"),
                       ("recording", "{*}Extension/{*}Recording")):
        given = text(caps, f"{path}/{{*}}XAddr")
        if not given and not listed.get(name):
            continue
        both = bool(given) and bool(listed.get(name))
        assert both, (
            f"{camera}: {name}: GetServices XAddr {listed.get(name)!r}, GetCapabilities "
            f"{given!r}")
        assert url_path(given) == url_path(listed[name]), (
            f"{camera}: {name} at {listed[name]} (GetServices) and {given} (GetCapabilities)")
