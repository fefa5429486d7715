"""PTZ presets and home, as the PTZ Device Test Specification's PTZ-4 and PTZ-5 cases. Every
test moves the head through the ``ptz`` fixture, which puts it back where it rested."""

from __future__ import annotations

import pytest

from camfleet.model import PtzVector
from devmgr.onvif.errors import SoapFaultError
from hil.camera import Camera
from hil.errors import DeviceFault, InfrastructureError
from hil.ptz import PtzDriver
from hil.spec import PTZ, conformance
from hil.suite.helpers import text
from hil.suite.ptz_common import PRESET_NAME, RESTORED, STEP, arrived, ptz_nodes

pytestmark = pytest.mark.hil_requires("ptz_service")


# -- presets ---------------------------------------------------------------------------------------
def _set_preset(ptz: PtzDriver, case_id: str, token: str | None = None) -> str:
    params = {"PresetName": PRESET_NAME, **({"PresetToken": token} if token else {})}
    try:
        body = ptz.camera.must_call("ptz", "SetPreset", {"ProfileToken": ptz.profile, **params})
    except DeviceFault as exc:
        if "TooManyPresets" in str(exc):
            pytest.skip(f"{ptz.camera.id}: the preset table is full ({exc})")
        raise AssertionError(f"{exc} ({case_id}: SetPreset)") from None
    found = text(body, "{*}PresetToken")
    assert found, f"{ptz.camera}: SetPreset returned no PresetToken ({case_id})"
    return found


def _listed(ptz: PtzDriver, token: str) -> list[tuple[str, PtzVector | None]]:
    """(name, position) of every listed preset with this token."""
    return [(p.name, p.position) for p in ptz.presets() if p.token == token]


def _two_positions(ptz: PtzDriver) -> tuple[PtzVector, PtzVector]:
    """X and Y, different, near the start and inside the limits."""
    start = ptz.position()
    x = ptz.nearby(start, -STEP, STEP)
    return x, ptz.nearby(x, 2 * STEP, -STEP)


@pytest.mark.hil_requires("ptz", "presets", "absolute_move")
@pytest.mark.hil_changes_config
@conformance("PTZ-4-1-4", PTZ, "SET AND GET PRESET", checks="""
    at position X SetPreset (Name "Test") gives a PresetToken A; GetPresets lists A named Test
    at X; at position Y SetPreset with PresetToken A overwrites it; GetPresets lists A named
    Test at Y; RemovePreset A (positions judged nearer X than Y, accuracy out of scope)""")
def test_PTZ_4_1_4_set_and_get_preset(ptz: PtzDriver) -> None:
    x, y = _two_positions(ptz)
    _settle, at_x = ptz.move_to(x)
    token = _set_preset(ptz, "PTZ-4-1-4")
    try:
        _check_stored(ptz, token, at_x, y, "at X")
        _settle, at_y = ptz.move_to(y)
        _set_preset(ptz, "PTZ-4-1-4", token)
        _check_stored(ptz, token, at_y, at_x, "overwritten at Y")
    finally:
        ptz.remove_preset(token)


def _check_stored(ptz: PtzDriver, token: str, here: PtzVector, there: PtzVector,
                  moment: str) -> None:
    """PTZ-4-1-4: GetPresets lists the preset, named Test, at ``here`` (not ``there``)."""
    camera = ptz.camera
    listed = _listed(ptz, token)
    assert listed, f"{camera}: GetPresets lacks preset {token} ({moment}) (PTZ-4-1-4)"
    name, position = listed[0]
    assert name == PRESET_NAME, (f"{camera}: preset {token} ({moment}) is named {name!r}, not "
                                 f"{PRESET_NAME!r} (PTZ-4-1-4)")
    assert position is not None, f"{camera}: preset {token} has no PTZPosition (PTZ-4-1-4)"
    wrong = arrived(ptz, position, here, there, zoom=False)
    assert not wrong, f"{camera}: preset {token} ({moment}) is stored at {'; '.join(wrong)} " \
                      "(PTZ-4-1-4)"


@pytest.mark.hil_requires("ptz", "presets", "absolute_move")
@pytest.mark.hil_changes_config
@conformance("PTZ-4-1-5", PTZ, "GOTO PRESET", checks="""
    at position X SetPreset (Name "Test") gives a PresetToken A; after a move to Y, GotoPreset A
    is accepted and GetStatus reports X (nearer X than Y); RemovePreset A""")
def test_PTZ_4_1_5_goto_preset(ptz: PtzDriver) -> None:
    camera = ptz.camera
    x, y = _two_positions(ptz)
    _settle, at_x = ptz.move_to(x)
    token = _set_preset(ptz, "PTZ-4-1-5")
    try:
        _settle, at_y = ptz.move_to(y)
        _settle, reached = ptz.goto_preset(token, at_x)
        wrong = arrived(ptz, reached, at_x, at_y, zoom=False)
        assert not wrong, f"{camera}: after GotoPreset {token} GetStatus reports " \
                          f"{'; '.join(wrong)} (PTZ-4-1-5)"
    finally:
        ptz.remove_preset(token)


@pytest.mark.hil_requires("ptz", "presets")
@pytest.mark.hil_changes_config
@conformance("PTZ-4-1-6", PTZ, "REMOVE PRESET", checks="""
    SetPreset (Name "Test") gives a PresetToken A; GetPresets lists A named Test; RemovePreset
    A is accepted; GetPresets no longer lists A named Test""")
def test_PTZ_4_1_6_remove_preset(ptz: PtzDriver) -> None:
    camera = ptz.camera
    token = _set_preset(ptz, "PTZ-4-1-6")
    removed = False
    try:
        names = [name for name, _position in _listed(ptz, token)]
        assert PRESET_NAME in names, (
            f"{camera}: GetPresets does not list preset {token} named {PRESET_NAME} "
            "(PTZ-4-1-6)")
        ptz.remove_preset(token)
        removed = True
        left = [name for name, _position in _listed(ptz, token) if name == PRESET_NAME]
        assert not left, f"{camera}: preset {token} ({PRESET_NAME}) is still listed after " \
                         "RemovePreset (PTZ-4-1-6)"
    finally:
        if not removed:
            ptz.remove_preset(token)


# -- home ------------------------------------------------------------------------------------------
def _fixed_home(camera: Camera) -> bool | None:
    """The node's FixedHomePosition attribute (None: not given)."""
    nodes = ptz_nodes(camera)
    value = nodes[0].get("FixedHomePosition") if nodes else None
    return None if value is None else value.lower() in ("true", "1")


def restore_home(ptz: PtzDriver, home: PtzVector, case_id: str) -> None:
    """Put the home position back where it was: move there (up to three tries), and only once
    the head is found there, SetHomePosition; then check GotoHomePosition goes there. A
    failure names the original home loudly: the camera's home is left changed."""
    reached: PtzVector | None = None
    problem = ""
    for _attempt in range(3):
        try:
            _settle, reached = ptz.move_to(home)
        except (DeviceFault, InfrastructureError) as exc:
            problem = str(exc)
            continue
        if ptz.error(reached, home)[0] <= RESTORED * (1 if ptz.degrees is None else 180):
            break
        problem = f"the head stopped at {reached}"
    else:
        raise DeviceFault(
            f"{ptz.camera}: HOME POSITION NOT RESTORED after {case_id}: could not move back to "
            f"the original home (pan {home.pan:.4f}, tilt {home.tilt:.4f}, zoom {home.zoom:.4f}, "
            f"generic space) to set it again ({problem}); the camera's home is now the test's "
            "position: set it back by hand")
    ptz.set_home()
    _settle, again = ptz.goto_home()
    error, unit = ptz.error(again, home)
    if error > RESTORED * (1 if unit == "generic" else 180):
        raise DeviceFault(f"{ptz.camera}: HOME POSITION NOT RESTORED after {case_id}: home is "
                          f"now {again}, it was {home}: set it back by hand")


@pytest.mark.hil_requires("ptz", "home", "absolute_move")
@pytest.mark.hil_changes_config
@conformance("PTZ-5-1-1", PTZ, "HOME POSITION OPERATIONS (CONFIGURABLE)", checks="""
    on a node with a configurable home: at position X SetHomePosition is accepted; after a move
    to Y, GotoHomePosition is accepted and GetStatus reports X (nearer X than Y). The original
    home is put back afterwards and checked""")
def test_PTZ_5_1_1_home_configurable(ptz: PtzDriver) -> None:
    camera = ptz.camera
    if _fixed_home(camera):
        pytest.skip(f"{camera.id} has a fixed home position (see PTZ-5-1-2)")
    _settle, home = ptz.goto_home()
    x, y = _two_positions(ptz)
    _settle, at_x = ptz.move_to(x)
    ptz.set_home()
    try:
        _settle, at_y = ptz.move_to(y)
        _settle, reached = ptz.goto_home()
        wrong = arrived(ptz, reached, at_x, at_y, zoom=False)
        assert not wrong, (f"{camera}: after SetHomePosition at X and a move to Y, "
                           f"GotoHomePosition reached {'; '.join(wrong)} (PTZ-5-1-1)")
    finally:
        restore_home(ptz, home, "PTZ-5-1-1")


@pytest.mark.hil_requires("ptz", "home", "absolute_move")
@pytest.mark.hil_changes_config
@conformance("PTZ-5-1-2", PTZ, "HOME POSITION OPERATIONS (FIXED)", checks="""
    on a node with a fixed home: GotoHomePosition (position A); after a move to Y,
    SetHomePosition is refused with the fault ter:CannotOverwriteHome; GotoHomePosition
    returns to A (nearer A than Y)""")
def test_PTZ_5_1_2_home_fixed(ptz: PtzDriver) -> None:
    camera = ptz.camera
    if not _fixed_home(camera):
        pytest.skip(f"{camera.id} has a configurable home position (see PTZ-5-1-1)")
    _settle, home = ptz.goto_home()
    _settle, at_y = ptz.move_to(ptz.nearby(home, STEP, -STEP))
    try:
        fault: SoapFaultError = camera.expect_fault("ptz", "SetHomePosition",
                                                    {"ProfileToken": ptz.profile})
    except DeviceFault:
        restore_home(ptz, home, "PTZ-5-1-2")  # it accepted: its home moved to Y
        raise AssertionError(f"{camera}: a fixed home accepted SetHomePosition (PTZ-5-1-2)") \
            from None
    assert any(s.endswith("CannotOverwriteHome") for s in fault.subcodes), (
        f"{camera}: a fixed home refused SetHomePosition with {fault.code} {fault.subcodes}, "
        "not ter:CannotOverwriteHome (PTZ-5-1-2)")
    _settle, back = ptz.goto_home()
    wrong = arrived(ptz, back, home, at_y, zoom=False)
    assert not wrong, f"{camera}: GotoHomePosition went to {'; '.join(wrong)} (PTZ-5-1-2)"


@pytest.mark.hil_requires("ptz", "home")
@pytest.mark.hil_changes_config
@conformance("PTZ-5-1-3", PTZ, "HOME POSITION OPERATIONS (FIXEDHOMEPOSITION FLAG)", checks="""
    GetNode gives FixedHomePosition (skipped where it does not); SetHomePosition (sent at the
    home position, so a camera that accepts it keeps its home) is accepted where it is false,
    and refused with ter:CannotOverwriteHome or ter:ActionNotSupported where it is true""")
def test_PTZ_5_1_3_fixed_home_flag(ptz: PtzDriver) -> None:
    camera = ptz.camera
    fixed = _fixed_home(camera)
    if fixed is None:
        pytest.skip(f"{camera.id}: GetNode gives no FixedHomePosition")
    ptz.goto_home()
    if not fixed:
        ptz.set_home()
        return
    try:
        fault = camera.expect_fault("ptz", "SetHomePosition", {"ProfileToken": ptz.profile})
    except DeviceFault:
        raise AssertionError(f"{camera}: FixedHomePosition is true but SetHomePosition was "
                             "accepted (PTZ-5-1-3)") from None
    said = [s.rsplit(":", 1)[-1] for s in fault.subcodes]
    assert "CannotOverwriteHome" in said or "ActionNotSupported" in said, (
        f"{camera}: FixedHomePosition true: SetHomePosition refused with {fault.code} "
        f"{fault.subcodes}, not ter:CannotOverwriteHome or ter:ActionNotSupported (PTZ-5-1-3)")
