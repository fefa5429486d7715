"""Acceptance records: every test outcome and measurement per camera, and a verdict.

The plugin feeds each pytest report into :class:`RunRecorder` (in the process that owns the run,
so it works the same with and without xdist) and writes, with ``--hil-report DIR``:

* ``DIR/<camera>.json``: one record per camera: identity, verdict and reasons, every test with
  its outcome, message, measurements and retries;
* ``DIR/run.json``: the run: targets file and its SHA-256, fleet, options, verdicts;
* ``DIR/acceptance.html``: the same for people (:mod:`hil.html`).

The acceptance JUnit file is rendered from the same records (:mod:`hil.junit`).

Verdicts (:func:`verdict`): a camera that failed any test is **rejected**; one with an ERROR
(we never got a fair answer) or with nothing that ran is **not testable**; otherwise it is
**accepted** (known defects, strict xfails, are listed as reasons). Outcomes are pytest's, with
two refinements: a call that ended in an infrastructure error is an ``error``, not a failure,
and a fixture's setup that the camera answered wrongly (a ``DeviceFault``) is a failure, not an
``error``: it is the camera's fault, found before the test proper began.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from camfleet.files import write_atomic
from hil.html import render_html

__all__ = ["CameraRecord", "OutcomeRecord", "RunRecorder", "verdict"]

ACCEPTED, REJECTED, NOT_TESTABLE = "accepted", "rejected", "not testable"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class OutcomeRecord:
    """One test on one camera, merged from its setup, call and teardown reports."""

    test: str
    nodeid: str
    outcome: str = "passed"
    message: str = ""
    #: Which phase decided the outcome (setup, call, teardown).
    phase: str = ""
    duration_s: float = 0.0
    #: The xdist worker that ran it ("" without xdist).
    worker: str = ""
    measurements: list[dict[str, Any]] = field(default_factory=list)
    retries: list[dict[str, Any]] = field(default_factory=list)
    #: The test's user properties (``hil_camera``, identity, measurements, retries), as
    #: pytest's JUnit file gets them; for the acceptance JUnit file (:mod:`hil.junit`).
    properties: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"test": self.test, "nodeid": self.nodeid, "outcome": self.outcome,
                "phase": self.phase, "message": self.message,
                "duration_s": round(self.duration_s, 4), "worker": self.worker,
                "measurements": self.measurements,
                "retries": self.retries}


@dataclass
class CameraRecord:
    camera: str
    address: str = ""
    identity: dict[str, str] = field(default_factory=dict)
    targets_sha256: str = ""
    tests: dict[str, OutcomeRecord] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.tests.values():
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
        return counts

    def as_dict(self, run: dict[str, Any]) -> dict[str, Any]:
        decided, reasons = verdict(list(self.tests.values()))
        return {"camera": self.camera, "address": self.address, "identity": self.identity,
                "verdict": decided, "reasons": reasons, "counts": self.counts(),
                "targets_file": run.get("targets_file", ""),
                "targets_sha256": self.targets_sha256 or run.get("targets_sha256", ""),
                "read_only": run.get("read_only", False),
                "tests": [t.as_dict() for t in self.tests.values()]}


def verdict(tests: list[OutcomeRecord]) -> tuple[str, list[str]]:
    """Accepted, rejected or not testable, with the reasons (see the module docstring)."""
    failed = [t for t in tests if t.outcome == "failed"]
    errors = [t for t in tests if t.outcome == "error"]
    if failed:
        return REJECTED, [f"{t.test}: {t.message}" for t in failed + errors]
    if errors:
        return NOT_TESTABLE, [f"{t.test}: {t.message}" for t in errors]
    if not any(t.outcome in ("passed", "xpassed") for t in tests):
        return NOT_TESTABLE, ["no test ran on this camera"]
    return ACCEPTED, [f"known defect: {t.test}: {t.message}" for t in tests
                      if t.outcome == "xfailed"]


def _message(report: Any) -> str:
    """The one line a tester reads: the crash message, skip reason or xfail reason."""
    if getattr(report, "wasxfail", None) and report.outcome == "skipped":
        return str(report.wasxfail).removeprefix("reason: ")
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        text = str(crash.message)
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2]).removeprefix("Skipped: ")
    else:
        text = str(longrepr or "")
    return text[:4000]


def _outcome(report: Any) -> str:
    wasxfail = getattr(report, "wasxfail", None) is not None
    if report.passed:
        return "xpassed" if wasxfail else "passed"
    if report.skipped:
        return "xfailed" if wasxfail else "skipped"
    if getattr(report, "hil_device_fault", False):
        return "failed"
    if report.when != "call" or getattr(report, "hil_error", False):
        return "error"
    return "failed"


def function_name(nodeid: str) -> str:
    """``hil/suite/test_ptz.py::test_PTZ_1_1_1_nodes[cam-0001]@cam-0001`` -> the function."""
    return nodeid.rsplit("::", maxsplit=1)[-1].split("[", maxsplit=1)[0]


class RunRecorder:
    """Collects the run's test reports per camera; writes the records at the end."""

    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run
        self.cameras: dict[str, CameraRecord] = {}
        self.started = datetime.now(UTC)

    def add(self, report: Any) -> None:
        camera_id = getattr(report, "hil_camera", None)
        if not camera_id:
            return
        camera = self.cameras.setdefault(camera_id, CameraRecord(camera_id))
        camera.address = getattr(report, "hil_address", "") or camera.address
        camera.identity = getattr(report, "hil_identity", None) or camera.identity
        camera.targets_sha256 = getattr(report, "hil_targets_sha256", "") or \
            camera.targets_sha256
        nodeid = report.nodeid.split("@")[0]
        record = camera.tests.setdefault(nodeid, OutcomeRecord(function_name(nodeid), nodeid))
        record.duration_s += float(getattr(report, "duration", 0.0) or 0.0)
        record.measurements = getattr(report, "hil_measurements", None) or record.measurements
        record.retries = getattr(report, "hil_retries", None) or record.retries
        record.worker = getattr(report, "hil_worker", "") or record.worker
        properties = getattr(report, "user_properties", None) or ()
        record.properties = [(str(k), str(v)) for k, v in properties] or record.properties
        outcome = _outcome(report)
        when = report.when
        if when == "teardown":
            if outcome == "error" and record.outcome != "failed":
                record.outcome, record.phase = "error", "teardown"
                record.message = _message(report)
            return
        if when == "call" or outcome != "passed":
            record.outcome, record.phase = outcome, when
            record.message = _message(report) if outcome != "passed" else ""

    def verdicts(self) -> dict[str, str]:
        return {cid: verdict(list(c.tests.values()))[0] for cid, c in self.cameras.items()}

    def finished_run(self) -> dict[str, Any]:
        """The run as run.json says it: :attr:`run` with its start, end and duration."""
        finished = datetime.now(UTC)
        return {**self.run, "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished.isoformat(timespec="seconds"),
                "duration_s": round((finished - self.started).total_seconds(), 2)}

    def sorted_cameras(self) -> list[CameraRecord]:
        return sorted(self.cameras.values(), key=lambda c: c.camera)

    def write(self, directory: Path) -> list[Path]:
        """Per-camera JSON, run.json and acceptance.html; returns the files written."""
        directory.mkdir(parents=True, exist_ok=True)
        run = self.finished_run()
        records = [c.as_dict(run) for c in self.sorted_cameras()]
        written = []
        for record in records:
            path = directory / f"{_SAFE_NAME.sub('_', record['camera'])}.json"
            write_atomic(path, _json(record))
            written.append(path)
        run["cameras"] = {r["camera"]: {"verdict": r["verdict"], "counts": r["counts"],
                                        "file": f"{_SAFE_NAME.sub('_', r['camera'])}.json"}
                          for r in records}
        run_path = directory / "run.json"
        write_atomic(run_path, _json(run))
        html_path = directory / "acceptance.html"
        write_atomic(html_path, render_html(run, records).encode("utf-8"))
        return [*written, run_path, html_path]


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
