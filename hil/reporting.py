"""The plugin's reporting, in the process that owns the run (the only one, or xdist's
controller, which receives every worker's reports): records, files, the terminal summary.

:class:`Reporter` is a plugin object of its own, registered by ``pytest_configure`` only there.
Every test report goes into the :class:`~hil.report.RunRecorder`; at the end of the session it
writes, with ``--hil-report DIR``, the JSON and HTML records and ``acceptance-junit.xml``, and
with ``--hil-junit PATH`` the acceptance JUnit file (:mod:`hil.junit`). pytest's own
``--junitxml`` is not touched: it is what pytest makes of the reports, plus the test's user
properties (camera, identity, measurements, retries).
"""

from __future__ import annotations

from typing import Any

import pytest

from camfleet.files import write_atomic
from hil.junit import render_junit
from hil.report import RunRecorder
from hil.state import run_of

__all__ = ["JUNIT_NAME", "Reporter"]

#: The acceptance JUnit file's name in the ``--hil-report`` directory.
JUNIT_NAME = "acceptance-junit.xml"


class Reporter:
    """Feeds the recorder and writes the reports (see the module docstring)."""

    def __init__(self, config: pytest.Config, recorder: RunRecorder) -> None:
        self.config = config
        self.recorder = recorder

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.recorder.add(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        run = run_of(self.config)
        if run is None:
            return
        settings = run.settings
        self.recorder.run = run.run_info()
        if settings.report_dir is None and settings.junit_path is None:
            return
        junit = render_junit(self.recorder.finished_run(), self.recorder.sorted_cameras())
        if settings.report_dir is not None:
            self.recorder.write(settings.report_dir)
            write_atomic(settings.report_dir / JUNIT_NAME, junit)
        if settings.junit_path is not None:
            settings.junit_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(settings.junit_path, junit)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        run = run_of(self.config)
        if run is None or not self.recorder.cameras:
            return
        terminalreporter.section("camfleet acceptance")
        for camera_id, decided in sorted(self.recorder.verdicts().items()):
            terminalreporter.write_line(f"{camera_id}: {decided}")
        if run.settings.report_dir is not None:
            terminalreporter.write_line(f"reports: {run.settings.report_dir}")
        if run.settings.junit_path is not None:
            terminalreporter.write_line(f"acceptance JUnit: {run.settings.junit_path}")
