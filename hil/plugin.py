"""The pytest plugin (entry point ``pytest11: hil``): this module only gathers its parts.

    pytest --pyargs hil.suite --hil-targets site.yaml --hil-report out/
    pytest --pyargs hil.suite --hil-fleet sim:20 -n 2 --hil-junit out/acceptance-junit.xml

* :mod:`hil.hooks`: options, markers, the run of each process, xdist scheduling by camera
  (:mod:`hil.xdist`), collection, outcomes by fault (an infrastructure error is an ERROR,
  never a FAIL);
* :mod:`hil.fixtures`: ``camera``, ``measure``, ``ptz``, ``hil_settings`` and the guard before
  each camera test (latch, read-only, capabilities, known defects);
* :mod:`hil.reporting`: records per camera and verdicts (:mod:`hil.report`), the JSON and HTML
  files, the acceptance JUnit file (:mod:`hil.junit`), the terminal summary.

Thin by design: the work is done by :mod:`hil.run` (targets, fleets, cameras), :mod:`hil.camera`
(talking to one camera over devmgr's client), :mod:`hil.measure` and :mod:`hil.report`. Loading
it imports none of the client (pytest loads it in every run of the environment).
"""

from __future__ import annotations

from hil.fixtures import _hil_guard, camera, hil_settings, hil_target_id, measure, ptz
from hil.hooks import (
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_configure_node,
    pytest_generate_tests,
    pytest_pyfunc_call,
    pytest_report_header,
    pytest_report_teststatus,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionstart,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
    pytest_xdist_setupnodes,
)

__all__ = [
    "_hil_guard",
    "camera",
    "hil_settings",
    "hil_target_id",
    "measure",
    "ptz",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_generate_tests",
    "pytest_pyfunc_call",
    "pytest_report_header",
    "pytest_report_teststatus",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionstart",
    "pytest_unconfigure",
    "pytest_xdist_make_scheduler",
    "pytest_xdist_setupnodes",
]
