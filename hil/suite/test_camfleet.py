"""camfleet's own acceptance checks: what the official tool leaves out and the regulation needs.

PTZ accuracy and repeatability (a "relatively fixed capture range", Art. 7, rests on a camera
going where it is told, every time), filing consistency (Art. 9: the unit on the pole is the
unit that was filed), and what the acceptance tester said to expect.
"""

from __future__ import annotations

import pytest

from devmgr.filings import parse_device_id
from devmgr.inventory.model import SnmpIdentity
from devmgr.model import GeoPosition, normalize_mac
from devmgr.snmp import snmp_identity_for_target
from devmgr.targets import TargetsError
from hil.camera import Camera
from hil.errors import InfrastructureError
from hil.measure import MeasurementLog
from hil.ptz import PtzDriver
from hil.suite.helpers import text

STEP = 0.04
CYCLES = 3


def test_CAMFLEET_expected_capabilities(camera: Camera) -> None:
    """What the expectations file (--hil-expect) says this unit has, it advertises."""
    if not camera.expected:
        pytest.skip(f"{camera.id}: no expected capabilities given (--hil-expect)")
    missing = sorted(camera.expected - camera.capabilities)
    assert not missing, f"{camera}: expected {', '.join(missing)}, which the camera does not " \
                        "advertise"


def test_CAMFLEET_identity_matches_target(camera: Camera) -> None:
    """Serial and MAC the targets file gives are what the unit reports (a swapped unit is a
    different filing)."""
    target = camera.target
    if not target.serial and not target.mac:
        pytest.skip(f"{camera.id}: the targets file gives neither serial nor MAC")
    if target.serial:
        serial = text(camera.must_call("device", "GetDeviceInformation"), "{*}SerialNumber")
        assert serial == target.serial, f"{camera}: serial {serial!r}, the targets file " \
                                        f"says {target.serial!r}"
    if target.mac:
        body = camera.must_call("device", "GetNetworkInterfaces")
        macs = set()
        for hw in body.iterfind(".//{*}Info/{*}HwAddress"):
            try:
                macs.add(normalize_mac(hw.text or ""))
            except ValueError:
                continue
        assert target.mac in macs, f"{camera}: MAC {sorted(macs)}, the targets file says " \
                                   f"{target.mac}"


def test_CAMFLEET_filing_id_well_formed(camera: Camera) -> None:
    """The target's filing id is a GB/T 28181 device id of a camera or IPC (Art. 9)."""
    filing_id = camera.target.filing_id
    if not filing_id:
        pytest.skip(f"{camera.id}: the targets file gives no filing_id")
    try:
        parse_device_id(filing_id)
    except ValueError as exc:
        raise AssertionError(f"{camera}: filing_id: {exc}") from None


@pytest.mark.hil_requires("geolocation")
def test_CAMFLEET_geolocation_reported(camera: Camera) -> None:
    body = camera.must_call("device", "GetGeoLocation")
    location = body.find(".//{*}GeoLocation")
    assert location is not None, f"{camera}: GetGeoLocation has no GeoLocation"
    try:
        GeoPosition(latitude=float(location.get("lat", "nan")),
                    longitude=float(location.get("lon", "nan")))
    except ValueError as exc:
        raise AssertionError(f"{camera}: GetGeoLocation position is invalid: {exc}") from None


@pytest.mark.hil_requires("snmp")
def test_CAMFLEET_snmp_identity_matches_onvif(camera: Camera) -> None:
    """SNMP and ONVIF describe the same unit (serial, MAC), as devmgr's discovery assumes."""
    try:
        found = camera.harness.run(snmp_identity_for_target(camera.target))
    except TargetsError as exc:  # a credential's variable is not set: ours to fix
        raise InfrastructureError(str(exc)) from None
    if not isinstance(found, SnmpIdentity):
        raise InfrastructureError(f"{camera.id}: no SNMP answer: {found.message}")
    identity = camera.identity
    if found.serial:
        assert found.serial == identity.get("serial"), (
            f"{camera}: SNMP serial {found.serial!r}, ONVIF {identity.get('serial')!r}")
    if found.mac:
        assert found.mac == identity.get("mac"), (
            f"{camera}: SNMP MAC {found.mac}, ONVIF {identity.get('mac')}")
    assert found.serial or found.mac, f"{camera}: SNMP reports neither serial nor MAC"


@pytest.mark.hil_requires("ptz", "absolute_move")
def test_CAMFLEET_ptz_accuracy(ptz: PtzDriver, measure: MeasurementLog) -> None:
    """Three absolute moves around the current position: the worst error and settle time."""
    start = ptz.position()
    errors, settles = [], []
    for dx, dy in ((STEP, STEP), (-STEP, STEP), (STEP / 2, -STEP)):
        target = ptz.nearby(start, dx, dy)
        settle_s, reached = ptz.move_to(target)
        errors.append(ptz.error(reached, target))
        settles.append(settle_s)
    worst, unit = max(errors)
    measure(ptz.measurement_name("ptz_position_error", unit), worst, unit=unit)
    measure("ptz_settle_time", max(settles), unit="s")


@pytest.mark.hil_requires("ptz")
def test_CAMFLEET_presets_within_limits(ptz: PtzDriver) -> None:
    """Every stored preset lies inside the configured limits: one outside can never be
    reached, and is a sign that the limits were changed after commissioning."""
    outside = [f"{p.token} ({p.name}) at {p.position}" for p in ptz.presets()
               if p.position is not None and not ptz.inside(p.position)]
    assert not outside, (f"{ptz.camera}: presets outside the PTZ limits (pan "
                         f"{ptz.pan_limits.min:.3f}..{ptz.pan_limits.max:.3f}, tilt "
                         f"{ptz.tilt_limits.min:.3f}..{ptz.tilt_limits.max:.3f}): "
                         + "; ".join(outside))


@pytest.mark.hil_requires("ptz", "presets")
def test_CAMFLEET_preset_repeatability(ptz: PtzDriver, camera: Camera,
                                       measure: MeasurementLog) -> None:
    """Leave a preset and come back, three times: how far apart are the arrivals?"""
    preset = next((p for p in ptz.presets() if p.position is not None), None)
    if preset is None or preset.position is None:
        pytest.skip(f"{camera.id} stores no preset with a position")
    stored = preset.position
    worst, unit = 0.0, "generic"
    for cycle in range(CYCLES):
        sign = 1 if cycle % 2 == 0 else -1
        ptz.move_to(ptz.nearby(stored, sign * STEP, -sign * STEP))
        _settle, reached = ptz.goto_preset(preset.token)
        error, unit = ptz.error(reached, stored)
        worst = max(worst, error)
    measure(ptz.measurement_name("preset_repeatability", unit), worst, unit=unit)


@pytest.mark.hil_requires("ptz", "home")
def test_CAMFLEET_home_repeatability(ptz: PtzDriver, measure: MeasurementLog) -> None:
    _settle, first = ptz.goto_home()
    ptz.move_to(ptz.nearby(first, STEP, STEP))
    _settle, second = ptz.goto_home()
    error, unit = ptz.error(second, first)
    measure(ptz.measurement_name("home_repeatability", unit), error, unit=unit)
