"""The pytest plugin (entry point ``pytest11: hil``): options, markers, fixtures, outcomes, reports.

Thin by design: the work is done by :mod:`hil.run` (targets, fleets, cameras), :mod:`hil.camera`
(talking to one camera over devmgr's client), :mod:`hil.measure` and :mod:`hil.report`.

    pytest --pyargs hil.suite --hil-targets site.yaml --hil-report out/
    pytest --pyargs hil.suite --hil-fleet sim:20 -n 2

What the plugin adds to pytest:

* ``camera``: one parametrisation per target (ids = target ids), each marked
  ``xdist_group(<id>)``; with ``-n`` the plugin switches xdist to ``--dist loadgroup`` (unless
  ``--dist`` was given) and schedules by camera (:mod:`hil.xdist`), so all tests of a camera
  run on one worker, in one session;
* ``measure``: measurements with limits (:mod:`hil.measure`); ``ptz``: a PTZ driver that puts
  the camera back where the test found it;
* markers ``hil_requires(*capabilities)``, ``hil_known_defect(firmware=, reason=)`` and
  ``hil_changes_config`` (skipped by ``--hil-read-only``);
* outcomes by fault: an infrastructure error during a test is reported as an ERROR (terminal,
  JUnit, JSON, HTML), never a FAIL; a camera that stopped answering is latched and the rest of
  its tests are skipped with the original error;
* reports: JUnit properties per test (camera identity, firmware, measurements) and per suite
  (targets file SHA-256, fleet), and with ``--hil-report DIR`` the JSON and HTML records.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.junitxml import xml_key  # LogXML: the one place to add testsuite properties

from hil.capabilities import CAPABILITIES, check_names
from hil.measure import MeasurementLog
from hil.report import RunRecorder
from hil.settings import OPTIONS, HilSettings, KnownDefect, settings_from

if TYPE_CHECKING:  # the client side is imported only when a run has cameras
    from hil.camera import Camera
    from hil.ptz import PtzDriver
    from hil.run import HilRun

RUN_KEY = pytest.StashKey["HilRun"]()
RECORDER_KEY = pytest.StashKey[RunRecorder]()
MEASURE_KEY = pytest.StashKey[MeasurementLog]()
RETRY_START_KEY = pytest.StashKey[int]()

MARKERS = (
    "hil_requires(*capabilities): skip on cameras that do not advertise these capabilities "
    f"({', '.join(CAPABILITIES)})",
    "hil_known_defect(firmware, reason, model='*'): strict xfail on cameras whose reported "
    "firmware (and model) match these globs",
    "hil_changes_config: the test changes the camera's configuration; skipped with "
    "--hil-read-only",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "camfleet acceptance testing (real cameras or simulated "
                                   "fleets)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": option.dest, "default": option.default,
                                  "help": option.help}
        if option.action:
            kwargs["action"] = option.action
        if option.metavar:
            kwargs["metavar"] = option.metavar
        if option.kind is not None:
            kwargs["type"] = option.kind
        group.addoption(option.flag, **kwargs)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _dist_given(config: pytest.Config) -> bool:
    return any(arg == "--dist" or arg.startswith("--dist=") or arg in ("-d", "--distload")
               for arg in config.invocation_params.args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    try:
        settings = settings_from(config.getoption)
        if not settings.active:
            return
        from hil.run import HilRun  # noqa: PLC0415 (only runs with cameras need the client)

        run = HilRun(settings)
    except ValueError as exc:  # TargetsError and pydantic's errors are ValueErrors too
        raise pytest.UsageError(str(exc)) from None
    if _is_worker(config):
        workerinput: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
        run.adopt_fleet(workerinput.get("hil_manifest"), workerinput.get("hil_fleet_error"))
        if workerinput.get("hil_loadgroup"):
            config.option.loadgroup = True  # xdist appends @<group> to node ids at collection
    else:
        if getattr(config.option, "dist", "no") == "load" and not _dist_given(config):
            # One camera's tests belong to one worker: its session, latch and PTZ state.
            config.option.dist = "loadgroup"
        recorder = config.stash[RECORDER_KEY] = RunRecorder({})
        config.pluginmanager.register(_Reporter(config, recorder), "hil-reporter")
    config.stash[RUN_KEY] = run


def _run(config: pytest.Config) -> HilRun | None:
    return config.stash.get(RUN_KEY, None)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The run's owner starts the fleet, before xdist starts its workers."""
    config = session.config
    run = _run(config)
    if run is None or _is_worker(config):
        return
    if not config.getoption("collectonly"):
        run.start_fleet(run.settings.report_dir)
    recorder = config.stash[RECORDER_KEY]
    recorder.run = run.run_info()
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("hil_targets_file", recorder.run["targets_file"])
        xml.add_global_property("hil_targets_sha256", run.targets_sha256)
        if run.fleet_run is not None:
            xml.add_global_property("hil_fleet", run.fleet_run.spec.describe())
        xml.add_global_property("hil_read_only", str(run.settings.read_only).lower())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the fleet's manifest (the fleet runs once, here)."""
    run = _run(node.config)
    if run is None:
        return
    manifest = run.fleet_run.manifest_path if run.fleet_run else None
    node.workerinput["hil_manifest"] = str(manifest) if manifest else None
    node.workerinput["hil_fleet_error"] = str(run.failure) if run.failure else None
    node.workerinput["hil_loadgroup"] = node.config.getoption("dist", "no") == "loadgroup"


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist: group tests by camera (see :mod:`hil.xdist` for why not plain loadgroup)."""
    run = _run(config)
    if run is None or config.getoption("dist", "no") != "loadgroup":
        return None
    from hil.xdist import CameraScheduling  # noqa: PLC0415 (xdist is optional)

    return CameraScheduling(config, log, run.camera_ids)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    if run is None:
        return []
    source = (f"fleet {run.fleet_spec.describe()}" if run.fleet_spec
              else f"targets {run.targets_path}")
    lines = [f"hil: {source}; {len(run.camera_ids)} camera(s)"
             + ("; read-only" if run.settings.read_only else "")]
    if run.failure is not None:
        lines.append(f"hil: {run.failure}")
    return lines


# -- collection ----------------------------------------------------------------------------------
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One parametrisation of ``camera`` per target, grouped per camera for xdist."""
    if "hil_target_id" not in metafunc.fixturenames:
        return
    run = _run(metafunc.config)
    if run is None:
        return
    grouped = metafunc.config.pluginmanager.hasplugin("xdist")
    params = [pytest.param(cid, id=cid, marks=[pytest.mark.xdist_group(cid)] if grouped else [])
              for cid in run.camera_ids]
    metafunc.parametrize("hil_target_id", params, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A misspelt capability or an incomplete known defect must not skip or pass silently."""
    for item in items:
        for mark in item.iter_markers("hil_requires"):
            unknown = check_names(tuple(mark.args))
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: hil_requires: unknown capabilities "
                                        f"{', '.join(unknown)}; known: {', '.join(CAPABILITIES)}")
        for mark in item.iter_markers("hil_known_defect"):
            try:
                KnownDefect(test=item.name, **mark.kwargs)
            except ValueError as exc:
                raise pytest.UsageError(f"{item.nodeid}: hil_known_defect needs firmware= and "
                                        f"reason= (model= is optional): {exc}") from None


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def hil_target_id() -> str:
    """Parametrised per target by the plugin; reached only when no cameras were given."""
    pytest.skip("no cameras to test: pass --hil-targets FILE or --hil-fleet sim:N")


@pytest.fixture(scope="session")
def hil_settings(pytestconfig: pytest.Config) -> HilSettings:
    run = _run(pytestconfig)
    return run.settings if run is not None else HilSettings()


@pytest.fixture(scope="session")
def camera(pytestconfig: pytest.Config, hil_target_id: str) -> Camera:
    """The camera under test, one per target of the run (see :class:`hil.camera.Camera`)."""
    run = _run(pytestconfig)
    assert run is not None
    return run.camera(hil_target_id)


@pytest.fixture(autouse=True)
def _hil_guard(request: pytest.FixtureRequest) -> None:
    """Before each camera test: latch, read-only, liveness, capabilities, known defects."""
    if "hil_target_id" not in request.fixturenames or _run(request.config) is None:
        return
    camera: Camera = request.getfixturevalue("camera")
    prepare_test(request.node, camera)


def prepare_test(item: pytest.Item, camera: Camera) -> None:
    item.user_properties.append(("hil_camera", camera.id))
    if camera.settings.read_only and item.get_closest_marker("hil_changes_config"):
        pytest.skip(f"{camera.id}: read-only run (--hil-read-only): this test changes the "
                    "camera's configuration")
    if camera.latch is not None:
        pytest.skip(camera.latch.skip_reason(camera.id))
    camera.ensure_ready()  # an InfrastructureError here is this test's ERROR, and latches
    for key in ("manufacturer", "model", "firmware", "serial"):
        item.user_properties.append((f"hil_{key}", camera.identity.get(key, "")))
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


def _mark_known_defects(item: pytest.Item, camera: Camera) -> None:
    """Strict xfail where a known defect (marker or expectations file) matches this camera.
    Only the camera being wrong is the known defect: an infrastructure error stays an ERROR
    (a measurement out of limits fails through ``pytest.fail``, so it counts as the defect)."""
    from hil.errors import DeviceFault  # noqa: PLC0415

    run = _run(item.config)
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
    run = _run(request.config)
    camera_id = _target_id(request.node) or ""
    log = MeasurementLog(camera=camera_id, overrides=run.settings.limits if run else {})
    request.node.stash[MEASURE_KEY] = log
    return log


@pytest.fixture
def ptz(camera: Camera) -> Iterator[PtzDriver]:
    """PTZ of the camera under test; puts the camera back where the test found it."""
    from hil.ptz import PtzDriver  # noqa: PLC0415

    if "ptz" not in camera.capabilities:
        pytest.skip(f"{camera.id} does not advertise PTZ")
    driver = PtzDriver(camera)
    start = driver.position()
    yield driver
    if camera.latch is None:
        driver.stop()
        driver.restore(start)


# -- outcomes ------------------------------------------------------------------------------------
def _target_id(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("hil_target_id") if callspec is not None else None
    return str(value) if value is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run, target_id = _run(item.config), _target_id(item)
    if run is not None and target_id is not None:
        camera = run.camera(target_id)
        camera.current_test = item.nodeid
        item.stash[RETRY_START_KEY] = len(camera.retries)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    """Measurements out of limits fail the test once it has run to its end."""
    result = yield
    log = pyfuncitem.stash.get(MEASURE_KEY, None)
    if log is not None:
        for m in log.measurements:
            pyfuncitem.user_properties.append((f"hil_measure_{m.name}", m.describe()))
        if log.failed:
            pytest.fail(log.failure_message(), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the camera, its identity, measurements and retries to each report, and mark an
    infrastructure error during the call (an ERROR, not a FAIL)."""
    report: Any = yield
    run, target_id = _run(item.config), _target_id(item)
    if run is None or target_id is None:
        return report  # type: ignore[no-any-return]
    from hil.errors import InfrastructureError  # noqa: PLC0415

    camera = run.camera(target_id)
    report.hil_camera = target_id
    report.hil_address = camera.address
    report.hil_identity = camera.identity
    report.hil_targets_sha256 = run.targets_sha256
    report.hil_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    log = item.stash.get(MEASURE_KEY, None)
    report.hil_measurements = [m.as_dict() for m in log.measurements] if log else []
    start = item.stash.get(RETRY_START_KEY, len(camera.retries))
    report.hil_retries = [r.as_dict() for r in camera.retries[start:]]
    for retry in report.hil_retries:
        report.user_properties.append(("hil_retry", f"{retry['operation']}: {retry['kind']} "
                                                    f"(attempt {retry['attempt']})"))
    if (call.when == "call" and report.failed and call.excinfo is not None
            and call.excinfo.errisinstance(InfrastructureError)):
        report.hil_error = True
    return report  # type: ignore[no-any-return]


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    if getattr(report, "hil_error", False) and report.failed:
        return "error", "E", "ERROR"
    return None


class _Reporter:
    """The run owner's reporting (its own plugin object, registered in ``pytest_configure``):
    every test report goes into the :class:`RunRecorder`, and JUnit gets an infrastructure
    error of the call as an ``<error>`` (it files errors only for setup and teardown, so the
    report is shown to it as a setup error, then put back and the message corrected)."""

    def __init__(self, config: pytest.Config, recorder: RunRecorder) -> None:
        self.config = config
        self.recorder = recorder

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Iterator[None]:
        self.recorder.add(report)
        flip = getattr(report, "hil_error", False) and report.when == "call"
        if flip:
            report.when = "setup"
        try:
            return (yield)
        finally:
            if flip:
                report.when = "call"
                self._retitle_junit_error(report)

    def _retitle_junit_error(self, report: pytest.TestReport) -> None:
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        for node in getattr(xml.node_reporter(report), "nodes", ()):
            message = node.get("message", "")
            if node.tag == "error" and message.startswith("failed on setup with "):
                node.set("message", "infrastructure error during the test: "
                         + message.removeprefix("failed on setup with "))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run, recorder = _run(config), config.stash.get(RECORDER_KEY, None)
    if run is None or recorder is None or run.settings.report_dir is None:
        return
    recorder.run = run.run_info()
    recorder.write(run.settings.report_dir)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER_KEY, None)
    run = _run(config)
    if recorder is None or run is None or not recorder.cameras:
        return
    terminalreporter.section("camfleet acceptance")
    for camera_id, decided in sorted(recorder.verdicts().items()):
        terminalreporter.write_line(f"{camera_id}: {decided}")
    if run.settings.report_dir is not None:
        terminalreporter.write_line(f"reports: {run.settings.report_dir}")


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()
