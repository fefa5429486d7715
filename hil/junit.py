"""The acceptance record as a JUnit XML file: one ``<testsuite>`` per camera, with its verdict.

hil writes this file itself (``--hil-junit PATH``, and ``acceptance-junit.xml`` in the
``--hil-report`` directory) from the records of :class:`hil.report.RunRecorder`; pytest's own
``--junitxml`` is left exactly as pytest makes it. Outcomes by fault:

* ``failed`` (the camera is wrong: an assertion, a measurement out of limits, a strict XPASS,
  a wrong answer to a fixture's setup) is a ``<failure>``;
* ``error`` (infrastructure: the camera stopped answering, a fleet did not start, the rig's own
  error in setup or teardown; we never got a fair answer) is an ``<error>``, never a failure;
* ``skipped`` is ``<skipped>``; ``xfailed`` (a known defect) is ``<skipped type="pytest.xfail">``
  as pytest writes it; ``passed`` and ``xpassed`` are bare test cases.

Properties: on each testsuite the run (targets file and its SHA-256, fleet, read-only) and the
camera (address, identity, verdict and its reasons); on each testcase the test's own, the same
that pytest's file gets (``hil_camera``, identity, ``hil_measure_<name>``, ``hil_retry``).

Everything a camera says is hostile: ElementTree escapes markup, characters XML 1.0 cannot
carry (control characters, lone surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD first
(:func:`camfleet.xmltext.xml_safe`, as in devmgr's reports), and the document is parsed back
before it is handed out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from camfleet.xmltext import xml_safe
from hil.report import CameraRecord, OutcomeRecord, verdict

__all__ = ["junit_names", "render_junit"]

_IDENTITY = ("manufacturer", "model", "firmware", "serial")
_PHASE = {"setup": "error before the test (setup)", "call": "infrastructure error during the test",
          "teardown": "error after the test (teardown)"}


def junit_names(nodeid: str) -> tuple[str, str]:
    """``hil/suite/test_ptz.py::TestX::test_y[cam-1]`` -> (``hil.suite.test_ptz.TestX``,
    ``test_y[cam-1]``), as pytest names its test cases."""
    address, bracket, params = nodeid.partition("[")  # parameters may hold "::" or "/"
    path, *scopes = address.split("::")
    name = (scopes.pop() if scopes else path) + bracket + params
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *scopes]), name


def _element(parent: ET.Element, tag: str, text: str | None = None, /,
             **attributes: object) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_safe(str(v)) for k, v in attributes.items()})
    if text:
        element.text = xml_safe(text)
    return element


def _properties(parent: ET.Element, items: Iterable[tuple[str, object]]) -> None:
    items = list(items)
    if items:
        node = _element(parent, "properties")
        for name, value in items:
            _element(node, "property", name=name, value=value)


def _counts(tests: Iterable[OutcomeRecord]) -> dict[str, int]:
    outcomes = [t.outcome for t in tests]
    return {"tests": len(outcomes), "failures": outcomes.count("failed"),
            "errors": outcomes.count("error"),
            "skipped": outcomes.count("skipped") + outcomes.count("xfailed")}


def _testcase(parent: ET.Element, test: OutcomeRecord) -> None:
    classname, name = junit_names(test.nodeid)
    case = _element(parent, "testcase", classname=classname, name=name,
                    time=f"{test.duration_s:.3f}")
    _properties(case, test.properties)
    first_line = test.message.split("\n", 1)[0]
    if test.outcome == "failed":
        _element(case, "failure", test.message, message=first_line)
    elif test.outcome == "error":
        where = _PHASE.get(test.phase, "error")
        _element(case, "error", test.message, message=f"{where}: {first_line}")
    elif test.outcome == "skipped":
        _element(case, "skipped", test.message, type="pytest.skip", message=first_line)
    elif test.outcome == "xfailed":
        _element(case, "skipped", test.message, type="pytest.xfail", message=first_line)


def _run_properties(run: dict[str, Any]) -> list[tuple[str, object]]:
    fleet = run.get("fleet") or {}
    found: list[tuple[str, object]] = [("hil_targets_file", run.get("targets_file", "")),
                                       ("hil_targets_sha256", run.get("targets_sha256", ""))]
    if fleet:
        found.append(("hil_fleet", fleet.get("spec", "")))
    if run.get("fleet_error"):
        found.append(("hil_fleet_error", run["fleet_error"]))
    found.append(("hil_read_only", str(bool(run.get("read_only"))).lower()))
    return found


def render_junit(run: dict[str, Any], cameras: Iterable[CameraRecord]) -> bytes:
    """The file's bytes; ``run`` as :meth:`RunRecorder.finished_run` gives it."""
    cameras = list(cameras)
    started = run.get("started_at", "")
    everything = [t for c in cameras for t in c.tests.values()]
    root = ET.Element("testsuites", {k: str(v) for k, v in _counts(everything).items()})
    root.set("name", "camfleet acceptance")
    root.set("time", f"{sum(t.duration_s for t in everything):.3f}")
    if started:
        root.set("timestamp", started)
    for camera in cameras:
        tests = list(camera.tests.values())
        decided, reasons = verdict(tests)
        suite = _element(root, "testsuite", name=camera.camera,
                         time=f"{sum(t.duration_s for t in tests):.3f}", timestamp=started,
                         **_counts(tests))
        _properties(suite, [
            *_run_properties(run),
            ("hil_camera", camera.camera), ("hil_address", camera.address),
            *((f"hil_{key}", camera.identity.get(key, "")) for key in _IDENTITY),
            ("hil_verdict", decided), *(("hil_verdict_reason", r) for r in reasons)])
        for test in tests:
            _testcase(suite, test)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    ET.fromstring(data)  # well-formed, or a bug here: never hand out a file CI cannot read
    return data
