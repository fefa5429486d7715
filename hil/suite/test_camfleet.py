"""camfleet's own acceptance checks: what the official tool leaves out and the regulation needs.

PTZ accuracy and repeatability (a "relatively fixed capture range", Art. 7, rests on a camera
going where it is told, every time), filing consistency (Art. 9: the unit on the pole is the
unit that was filed), and what the acceptance tester said to expect.
"""

from __future__ import annotations

import math
import time
import uuid

import pytest
from lxml import etree

from camfleet.model import GeoPosition, normalize_mac
from camfleet.protocols.ptz_spaces import PT_POSITION_GENERIC
from camfleet.targets import TargetsError
from devmgr.filings import parse_device_id
from devmgr.inventory.model import SnmpIdentity
from devmgr.snmp import snmp_identity_for_target
from hil import reboots
from hil.camera import Camera
from hil.errors import DeviceFault, InfrastructureError
from hil.measure import MeasurementLog
from hil.ptz import PtzDriver
from hil.suite.helpers import text

STEP = 0.04
CYCLES = 3
#: Stored presets test_CAMFLEET_stored_presets_reachable visits: enough to show GotoPreset
#: works without touring a site's whole table.
PRESETS_VISITED = 2


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


@pytest.mark.hil_reboots
@pytest.mark.hil_discovery
def test_CAMFLEET_boot_time(camera: Camera, measure: MeasurementLog) -> None:
    """A reboot as a field engineer times it: ``boot_time`` from SystemReboot until the unit
    answers ONVIF again. The reboot is the one DEVICE-3-1-8 and DISCOVERY-1-1-2/1-1-8 watch
    (they judge its Hello and Bye)."""
    if camera.multicast_interface is None:
        pytest.skip(f"{camera.id}: no local interface on its segment to hear Bye and Hello "
                    "(--hil-interface)")
    seen = reboots.shared_reboot(camera)
    measure("boot_time", math.nan if seen.answered_after_s is None else seen.answered_after_s,
            unit="s")
    assert seen.came_back, (f"{camera}: not back within {camera.settings.reboot_timeout_s:g} s "
                            "of SystemReboot")


@pytest.mark.hil_requires("ptz", "absolute_move")
def test_CAMFLEET_ptz_accuracy(ptz: PtzDriver, measure: MeasurementLog) -> None:
    """Three absolute moves around the current position, and a relative one where the camera
    offers it: the worst error and settle time."""
    start = ptz.position()
    errors, settles = [], []
    for dx, dy in ((STEP, STEP), (-STEP, STEP), (STEP / 2, -STEP)):
        target = ptz.nearby(start, dx, dy)
        settle_s, reached = ptz.move_to(target)
        errors.append(ptz.error(reached, target))
        settles.append(settle_s)
    if "relative_move" in ptz.camera.capabilities:
        here = reached
        goal = ptz.nearby(here, STEP, STEP)
        began = time.monotonic()
        ptz.relative(goal.pan - here.pan, goal.tilt - here.tilt)
        settle_s, reached = ptz.settle(began, goal)
        errors.append(ptz.error(reached, goal))
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
        _settle, reached = ptz.goto_preset(preset.token, stored)
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


@pytest.mark.hil_requires("ptz")
def test_CAMFLEET_ptz_node_consistent(camera: Camera) -> None:
    """GetNode returns the node asked for, with the spaces GetNodes gives it; every PTZ
    configuration has a token and names a node that exists."""
    nodes = {n.get("token"): n for n in camera.must_call("ptz", "GetNodes").iterfind(
        "{*}PTZNode")}
    for token, node in nodes.items():
        single = camera.must_call("ptz", "GetNode", {"NodeToken": token}).find("{*}PTZNode")
        assert single is not None, f"{camera}: GetNode({token}) returns no node"
        assert single.get("token") == token, f"{camera}: GetNode({token}) returns node " \
                                             f"{single.get('token')}"
        assert _uris(single) == _uris(node), (
            f"{camera}: GetNode({token}) and GetNodes disagree about the node's spaces")
    for config in camera.must_call("ptz", "GetConfigurations").iterfind("{*}PTZConfiguration"):
        token, node_token = config.get("token", ""), text(config, "{*}NodeToken")
        assert token, f"{camera}: a PTZ configuration has no token"
        assert node_token in nodes, f"{camera}: configuration {token} names unknown node " \
                                    f"{node_token!r}"


def _uris(element: etree._Element) -> set[str]:
    return {(uri.text or "").strip() for uri in element.iterfind(".//{*}URI")}


@pytest.mark.hil_requires("ptz")
def test_CAMFLEET_ptz_limits_within_space(camera: Camera) -> None:
    """The configured PanTiltLimits lie inside their space's range, as the options give it:
    limits wider than the space mean the configuration was edited carelessly."""
    for config in camera.must_call("ptz", "GetConfigurations").iterfind("{*}PTZConfiguration"):
        limits = config.find("{*}PanTiltLimits/{*}Range")
        if limits is None:
            continue
        token = config.get("token", "")
        options = camera.must_call("ptz", "GetConfigurationOptions",
                                   {"ConfigurationToken": token})
        space = text(limits, "{*}URI")
        ranges = [s for s in options.iterfind(".//{*}AbsolutePanTiltPositionSpace")
                  if text(s, "{*}URI") == space]
        assert ranges, f"{camera}: limits are in space {space}, which the options do not offer"
        for axis in ("XRange", "YRange"):
            low, high = (float(text(limits, f"{{*}}{axis}/{{*}}{e}")) for e in ("Min", "Max"))
            room_low, room_high = (float(text(ranges[0], f"{{*}}{axis}/{{*}}{e}"))
                                   for e in ("Min", "Max"))
            assert room_low - 1e-6 <= low <= high <= room_high + 1e-6, (
                f"{camera}: PanTiltLimits {axis} {low}..{high} exceeds the space's "
                f"{room_low}..{room_high}")


@pytest.mark.hil_requires("ptz", "absolute_move")
def test_CAMFLEET_refused_move_stays(camera: Camera, ptz: PtzDriver) -> None:
    """An absolute move outside the space is refused with a fault, and nothing moves."""
    before = ptz.position()
    fault = camera.expect_fault("ptz", "AbsoluteMove", {
        "ProfileToken": ptz.profile,
        "Position": {"PanTilt": {"x": 1.5, "y": before.tilt, "space": PT_POSITION_GENERIC}}})
    assert fault.code.endswith("Sender"), f"{camera}: out-of-bounds move: fault {fault.code}"
    time.sleep(0.3)
    error, unit = ptz.error(ptz.position(), before)
    assert error < 0.01, f"{camera}: the camera moved ({error:.3f} {unit}) after refusing"


def _room(ptz: PtzDriver, pan: float) -> float:
    """Pan direction with more room to the limit: +1 or -1."""
    return 1.0 if ptz.pan_limits.max - pan >= pan - ptz.pan_limits.min else -1.0


@pytest.mark.hil_requires("ptz", "continuous_move")
def test_CAMFLEET_continuous_move_stops_at_timeout(camera: Camera, ptz: PtzDriver) -> None:
    """A continuous move goes the commanded way and stops by itself at a short timeout."""
    start = ptz.position()
    direction = _room(ptz, start.pan)
    began = time.monotonic()
    ptz.continuous(0.3 * direction, 0.0, timeout_s=0.5)
    _settle_s, stopped = ptz.settle(began, None, timeout_s=10.0)
    moved = (stopped.pan - start.pan) * direction
    assert moved > 1e-3, f"{camera}: continuous pan {direction:+.0f} moved {moved:+.4f} (from " \
                         f"{start} to {stopped})"


@pytest.mark.hil_requires("ptz", "continuous_move")
def test_CAMFLEET_stop_holds(camera: Camera, ptz: PtzDriver) -> None:
    """Stop ends a continuous move before its timeout, and the camera stays put."""
    start = ptz.position()
    direction = _room(ptz, start.pan)
    ptz.continuous(0.3 * direction, 0.0, timeout_s=10.0)
    time.sleep(0.3)
    began = time.monotonic()
    ptz.stop()
    _settle_s, stopped = ptz.settle(began, None, timeout_s=5.0)
    time.sleep(0.3)
    drift, unit = ptz.error(ptz.position(), stopped)
    assert drift < 0.01, f"{camera}: still moving after Stop ({drift:.3f} {unit} in 0.3 s)"
    assert (stopped.pan - start.pan) * direction > 0, f"{camera}: did not move before the Stop"


@pytest.mark.hil_requires("ptz", "presets")
def test_CAMFLEET_stored_presets_reachable(ptz: PtzDriver, camera: Camera,
                                          measure: MeasurementLog) -> None:
    """GotoPreset reaches the stored presets (the first PRESETS_VISITED of them): a preset the
    head cannot reach (outside the limits, say) is a view the site no longer has."""
    presets = [p for p in ptz.presets() if p.position is not None][:PRESETS_VISITED]
    if not presets:
        pytest.skip(f"{camera.id} stores no preset with a position")
    errors = []
    for preset in presets:
        assert preset.position is not None
        _settle, reached = ptz.goto_preset(preset.token, preset.position)
        errors.append(ptz.error(reached, preset.position))
    worst, unit = max(errors)
    measure(ptz.measurement_name("ptz_position_error", unit), worst, unit=unit)


@pytest.mark.hil_requires("ptz", "presets")
@pytest.mark.hil_changes_config
def test_CAMFLEET_removed_preset_refused(camera: Camera, ptz: PtzDriver) -> None:
    """A removed preset is gone: GotoPreset to it is refused with a fault."""
    try:
        token = ptz.set_preset(f"hil-{uuid.uuid4().hex[:8]}")
    except DeviceFault as exc:
        if "TooManyPresets" in str(exc):
            pytest.skip(f"{camera.id}: the preset table is full ({exc})")
        raise
    ptz.remove_preset(token)
    try:
        camera.expect_fault("ptz", "GotoPreset", {"ProfileToken": ptz.profile,
                                                  "PresetToken": token})
    except DeviceFault:
        raise AssertionError(f"{camera}: GotoPreset to removed preset {token} did not fault") \
            from None
