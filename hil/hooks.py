"""The plugin's pytest and xdist hooks: options, the run, collection, outcomes by fault.

* ``pytest_configure`` builds the :class:`~hil.run.HilRun` of this process; the process that
  owns the run (the only one, or the xdist controller) also registers the
  :class:`~hil.reporting.Reporter`; workers adopt the controller's fleet;
* with ``-n`` the controller hands xdist :class:`~hil.xdist.CameraScheduling` (all tests of one
  camera on one worker) through ``pytest_xdist_make_scheduler``, unless another ``--dist`` mode
  than ``loadgroup`` was asked for;
* collection parametrises ``camera`` per target and refuses misspelt markers;
* outcomes: measurements out of limits fail the test after it ran to its end; a report carries
  the camera, its identity, measurements and retries; an infrastructure error during the call
  is shown as an ERROR (``pytest_report_teststatus``), never a FAIL.

Public pytest and xdist API only: no private attributes, no rewriting of reports or options.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from hil.capabilities import CAPABILITIES, check_names
from hil.report import RunRecorder
from hil.reporting import Reporter
from hil.settings import OPTIONS, KnownDefect, settings_from
from hil.state import (
    MEASURE_KEY,
    RECORDER_KEY,
    RETRY_START_KEY,
    RUN_KEY,
    WORKERS_KEY,
    run_of,
    target_id_of,
)

if TYPE_CHECKING:
    from hil.xdist import CameraScheduling

MARKERS = (
    "hil_requires(*capabilities): skip on cameras that do not advertise these capabilities "
    f"({', '.join(CAPABILITIES)})",
    "hil_known_defect(firmware, reason, model='*'): strict xfail on cameras whose reported "
    "firmware (and model) match these globs",
    "hil_changes_config: the test changes the camera's configuration; skipped with "
    "--hil-read-only",
    "hil_reboots: the test reboots the camera; skipped with --hil-read-only",
    "hil_moves_head: the test moves the PTZ head (and puts it back); skipped with "
    "--hil-no-move; set on every test that uses the ptz fixture",
    "hil_auth_failures(n): the test makes n refused logins with the run's account; under "
    "--hil-read-only only with --hil-negative-auth, and never beyond --hil-auth-failures",
    "hil_slow(why): the test's specified waits are long; run with --hil-slow",
    "hil_discovery: the test needs the camera Discoverable (the suite runs these first on "
    "each camera)",
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
    else:
        recorder = config.stash[RECORDER_KEY] = RunRecorder({})
        config.pluginmanager.register(Reporter(config, recorder), "hil-reporter")
    config.stash[RUN_KEY] = run


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The run's owner starts the fleet, before xdist starts its workers."""
    config = session.config
    run = run_of(config)
    if run is not None and not _is_worker(config) and not config.getoption("collectonly"):
        run.start_fleet(run.settings.report_dir)


# -- xdist ---------------------------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the fleet's manifest (the fleet runs once, here)."""
    run = run_of(node.config)
    if run is None:
        return
    manifest = run.fleet_run.manifest_path if run.fleet_run else None
    node.workerinput["hil_manifest"] = str(manifest) if manifest else None
    node.workerinput["hil_fleet_error"] = str(run.failure) if run.failure else None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: Sequence[Any]) -> None:
    """xdist: how many workers start (the scheduler waits for all of their collections)."""
    config.stash[WORKERS_KEY] = len(specs)


def schedules_by_camera(dist: str, args: Sequence[str]) -> bool:
    """``-n N`` alone (xdist's default ``load``) or ``--dist loadgroup``: by camera. Any other
    ``--dist`` given on the command line (``args``), an explicit ``--dist load`` too, is
    xdist's."""
    given = any(arg == "--dist" or arg.startswith("--dist=") or arg in ("-d", "--distload")
                for arg in args)
    return dist == "loadgroup" or (dist == "load" and not given)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> CameraScheduling | None:
    """xdist: schedule by camera (see :mod:`hil.xdist`)."""
    run = run_of(config)
    if run is None or not schedules_by_camera(config.getoption("dist", "no"),
                                              config.invocation_params.args):
        return None
    from hil.xdist import CameraScheduling  # noqa: PLC0415 (runs with xdist only)

    def mismatch(message: str) -> None:
        config.hook.pytest_collectreport(report=pytest.CollectReport(
            nodeid="", outcome="failed", longrepr=message, result=[]))

    return CameraScheduling(run.camera_ids, config.stash.get(WORKERS_KEY, 1), log=log,
                            mismatch=mismatch)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = run_of(config)
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
    """One parametrisation of ``camera`` per target (ids = target ids)."""
    if "hil_target_id" not in metafunc.fixturenames:
        return
    run = run_of(metafunc.config)
    if run is None:
        return
    params = [pytest.param(cid, id=cid) for cid in run.camera_ids]
    metafunc.parametrize("hil_target_id", params, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A misspelt capability or an incomplete known defect must not skip or pass silently;
    a test that takes the ``ptz`` fixture moves the head, so it says so."""
    for item in items:
        if "ptz" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
                "hil_moves_head"):
            item.add_marker(pytest.mark.hil_moves_head)
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


# -- outcomes ------------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run, target_id = run_of(item.config), target_id_of(item)
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
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the camera, its identity, measurements and retries to each report as extra
    attributes (as ``TestReport(**extra)`` does; they travel from xdist workers with the
    report), and mark an infrastructure error during the call (an ERROR, not a FAIL) and a
    wrong answer from the camera during a fixture's setup (a FAIL, not an ERROR)."""
    report = yield
    run, target_id = run_of(item.config), target_id_of(item)
    if run is None or target_id is None:
        return report
    from hil.errors import DeviceFault, InfrastructureError  # noqa: PLC0415

    camera = run.camera(target_id)
    log = item.stash.get(MEASURE_KEY, None)
    start = item.stash.get(RETRY_START_KEY, len(camera.retries))
    retries = [r.as_dict() for r in camera.retries[start:]]
    vars(report).update(
        hil_camera=target_id, hil_address=camera.address, hil_identity=camera.identity,
        hil_targets_sha256=run.targets_sha256,
        hil_worker=os.environ.get("PYTEST_XDIST_WORKER", ""),
        hil_measurements=[m.as_dict() for m in log.measurements] if log else [],
        hil_retries=retries)
    for retry in retries:
        report.user_properties.append(("hil_retry", f"{retry['operation']}: {retry['kind']} "
                                                    f"(attempt {retry['attempt']})"))
    if report.failed and call.excinfo is not None:
        if call.when == "call" and call.excinfo.errisinstance(InfrastructureError):
            vars(report)["hil_error"] = True
        elif call.when == "setup" and call.excinfo.errisinstance(DeviceFault):
            # A fixture asked the camera and the camera answered wrongly: the camera's fault,
            # so a FAIL naming it, not an ERROR that would call the camera "not testable".
            vars(report)["hil_device_fault"] = True
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    """An infrastructure error during the call counts and shows as an ERROR; the camera's
    wrong answer to a fixture, as a FAIL."""
    if getattr(report, "hil_error", False) and report.failed:
        return "error", "E", "ERROR"
    if getattr(report, "hil_device_fault", False) and report.failed:
        return "failed", "F", "FAILED"
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()
