"""The plugin's fixtures: ``camera``, ``measure``, ``ptz``, ``hil_settings``, and the guard that
runs before every camera test.

* ``camera``: the camera under test, one parametrisation per target (:mod:`hil.hooks`);
* ``measure``: measurements with limits (:mod:`hil.measure`), failing the test after it ran;
* ``ptz``: a PTZ driver that puts the camera back where the test found it;
* the guard (autouse): the latch (a camera that stopped answering skips the rest of its tests
  with the original error), ``--hil-read-only``, liveness, ``hil_requires`` and known defects
  (strict xfails), and the test's identity properties for the reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from hil.capabilities import CAPABILITIES
from hil.measure import MeasurementLog
from hil.settings import HilSettings, KnownDefect
from hil.state import MEASURE_KEY, run_of, target_id_of

if TYPE_CHECKING:  # the client side is imported only when a run has cameras
    from hil.camera import Camera
    from hil.ptz import PtzDriver

#: The fixtures, all of which :mod:`hil.plugin` gathers.
__all__ = ["_hil_guard", "camera", "hil_settings", "hil_target_id", "measure", "ptz"]


@pytest.fixture(scope="session")
def hil_target_id() -> str:
    """Parametrised per target by the plugin; reached only when no cameras were given."""
    pytest.skip("no cameras to test: pass --hil-targets FILE or --hil-fleet sim:N")


@pytest.fixture(scope="session")
def hil_settings(pytestconfig: pytest.Config) -> HilSettings:
    run = run_of(pytestconfig)
    return run.settings if run is not None else HilSettings()


@pytest.fixture(scope="session")
def camera(pytestconfig: pytest.Config, hil_target_id: str) -> Camera:
    """The camera under test, one per target of the run (see :class:`hil.camera.Camera`)."""
    run = run_of(pytestconfig)
    assert run is not None
    return run.camera(hil_target_id)


@pytest.fixture(autouse=True)
def _hil_guard(request: pytest.FixtureRequest) -> None:
    """Before each camera test: latch, read-only, liveness, capabilities, known defects."""
    if "hil_target_id" not in request.fixturenames or run_of(request.config) is None:
        return
    camera: Camera = request.getfixturevalue("camera")
    _prepare_test(request.node, camera)


def _prepare_test(item: pytest.Item, camera: Camera) -> None:
    item.user_properties.append(("hil_camera", camera.id))
    if camera.latch is not None:
        pytest.skip(camera.latch.skip_reason(camera.id))
    camera.ensure_ready()  # an InfrastructureError here is this test's ERROR, and latches
    for key in ("manufacturer", "model", "firmware", "serial"):
        item.user_properties.append((f"hil_{key}", camera.identity.get(key, "")))
    _skip_by_mode(item, camera)
    marks = list(item.iter_markers("hil_requires"))[::-1]  # module's before the function's
    required = [name for mark in marks for name in mark.args]
    missing = [name for name in dict.fromkeys(required) if name not in camera.capabilities]
    if missing:
        model = camera.identity.get("model", "")
        why = "; ".join(f"{name}: {CAPABILITIES[name]}" for name in missing)
        expected = [name for name in missing if name in camera.expected]
        note = (f" (expected by --hil-expect: {', '.join(expected)}; see "
                "test_CAMFLEET_expected_capabilities)" if expected else "")
        pytest.skip(f"{camera.id} ({model}) does not advertise {', '.join(missing)} "
                    f"[{why}]{note}")
    _mark_known_defects(item, camera)
    _spend_auth_failures(item, camera)


def _skip_by_mode(item: pytest.Item, camera: Camera) -> None:
    """What this run may do to a camera (the README's "What --hil-read-only touches")."""
    settings = camera.settings
    read_only = f"{camera.id}: read-only run (--hil-read-only): this test"
    if settings.read_only and item.get_closest_marker("hil_changes_config"):
        pytest.skip(f"{read_only} changes the camera's configuration")
    if settings.read_only and item.get_closest_marker("hil_reboots"):
        pytest.skip(f"{read_only} reboots the camera")
    if (settings.read_only and not settings.negative_auth
            and item.get_closest_marker("hil_auth_failures")):
        pytest.skip(f"{read_only} sends refused credentials, which can lock the account "
                    "out; --hil-negative-auth runs it")
    if settings.no_move and item.get_closest_marker("hil_moves_head"):
        pytest.skip(f"{camera.id}: --hil-no-move: this test moves the PTZ head")
    if not settings.slow and item.get_closest_marker("hil_slow"):
        reason = item.get_closest_marker("hil_slow")
        why = reason.args[0] if reason is not None and reason.args else "long waits"
        pytest.skip(f"{camera.id}: {why}; --hil-slow runs it")


def _spend_auth_failures(item: pytest.Item, camera: Camera) -> None:
    """Reserve the refused logins the test will cause, within the lockout-safe budget."""
    mark = item.get_closest_marker("hil_auth_failures")
    if mark is None:
        return
    needed = int(mark.args[0])
    budget = camera.settings.auth_failures
    if budget is not None and camera.auth_failures + needed > budget:
        pytest.skip(f"{camera.id}: this test makes {needed} refused login(s) with "
                    f"{camera.target.onvif.username!r}; {camera.auth_failures} of the "
                    f"{budget} allowed (--hil-auth-failures) are spent")
    camera.auth_failures += needed


def _mark_known_defects(item: pytest.Item, camera: Camera) -> None:
    """Strict xfail where a known defect (marker or expectations file) matches this camera.
    Only the camera being wrong is the known defect: an infrastructure error stays an ERROR
    (a measurement out of limits fails through ``pytest.fail``, so it counts as the defect)."""
    from hil.errors import DeviceFault  # noqa: PLC0415

    run = run_of(item.config)
    assert run is not None
    name = getattr(item, "originalname", item.name)
    firmware, model = camera.identity.get("firmware", ""), camera.identity.get("model", "")
    defects = [KnownDefect(test=name, **m.kwargs) for m in item.iter_markers("hil_known_defect")]
    for defect in [*defects, *run.expectations.known_defects]:
        if defect.matches(name, firmware, model):
            item.add_marker(pytest.mark.xfail(
                strict=True, raises=(AssertionError, DeviceFault, pytest.fail.Exception),
                reason=f"{camera.id}: known defect of {model} firmware {firmware}: "
                       f"{defect.reason}"))


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> MeasurementLog:
    """Record a measurement with limits: ``measure("clock_offset", 0.4, unit="s")``."""
    run = run_of(request.config)
    camera_id = target_id_of(request.node) or ""
    log = MeasurementLog(camera=camera_id, overrides=run.settings.limits if run else {})
    request.node.stash[MEASURE_KEY] = log
    return log


@pytest.fixture
def ptz(camera: Camera) -> Iterator[PtzDriver]:
    """PTZ of the camera under test; puts the camera back where the test found it.

    The start is where the head rests, read without commanding it: a head that is moving
    (a patrol, a tour, an operator) is given a few seconds to come to rest, and otherwise the
    test is skipped, never stopped and sent somewhere it happened to pass."""
    from hil.ptz import HeadBusy, PtzDriver  # noqa: PLC0415

    if "ptz" not in camera.capabilities:
        pytest.skip(f"{camera.id} does not advertise PTZ")
    driver = PtzDriver(camera)
    try:
        start = driver.at_rest()
    except HeadBusy as exc:
        pytest.skip(str(exc))
    yield driver
    if camera.latch is None:
        driver.restore(start)
