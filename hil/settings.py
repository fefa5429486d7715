"""The harness's settings, validated once, and the optional expectations file.

Every setting is a command-line option of the plugin (``pytest --help``, group "hil"), declared
in :data:`OPTIONS` with its default and a one-line description; :func:`settings_from` turns the
parsed values into a frozen :class:`HilSettings` or says what is wrong.

The expectations file (``--hil-expect``) is the harness's own sidecar to a targets file: devmgr's
targets format is strict (unknown fields are refused), and what an acceptance tester expects of
a unit is not the manager's business. YAML or JSON::

    targets:
      gate-north: {capabilities: [ptz, presets, home, snapshot]}
      "*": {capabilities: [snapshot]}              # applies to every target
    known_defects:
      - test: test_DEVICE_3_1_1_*                  # glob over test function names
        firmware: "V5.7.3*"                        # glob over the reported firmware
        reason: "reports local time as UTC (vendor case 4711)"
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from camfleet.model import Model, format_validation_error
from hil.capabilities import check_names
from hil.limits import Limit, parse_limit_override

__all__ = ["OPTIONS", "Expectations", "HilSettings", "KnownDefect", "load_expectations",
           "settings_from"]


@dataclass(frozen=True, slots=True)
class Option:
    flag: str
    dest: str
    default: Any
    help: str
    metavar: str | None = None
    kind: type | None = None
    action: str | None = None


#: The plugin's command-line options: flag, default and what it is for.
OPTIONS: tuple[Option, ...] = (
    Option("--hil-targets", "hil_targets", None, "targets file of real cameras (devmgr's "
           "format; a fleet manifest is one too)", "FILE"),
    Option("--hil-fleet", "hil_fleet", None, "start a simulated fleet for the run: sim:N or a "
           "fleet YAML file, optionally @backend (sim:20@netns)", "SPEC"),
    Option("--hil-backend", "hil_backend", None, "fleet backend: loopback, netns or docker "
           "(default: from SPEC, else loopback)", "NAME"),
    Option("--hil-seed", "hil_seed", 0, "seed of a generated fleet (sim:N)", "N", int),
    Option("--hil-expect", "hil_expect", None, "expectations file: expected capabilities per "
           "target, known firmware defects", "FILE"),
    Option("--hil-report", "hil_report", None, "write one JSON record per camera, run.json and "
           "acceptance.html here, and acceptance-junit.xml", "DIR"),
    Option("--hil-junit", "hil_junit", None, "write the acceptance JUnit file here: a test "
           "suite per camera with its verdict; an infrastructure ERROR is an <error>, a device "
           "FAIL a <failure> (pytest's --junitxml stays as pytest makes it)", "PATH"),
    Option("--hil-read-only", "hil_read_only", False, "skip every test that changes a "
           "camera's configuration (presets, home, discovery mode) or reboots it, and tests "
           "that send wrong credentials unless --hil-negative-auth (see the README)",
           action="store_true"),
    Option("--hil-negative-auth", "hil_negative_auth", False, "with --hil-read-only: run the "
           "tests that send malformed or wrong credentials anyway (within --hil-auth-failures)",
           action="store_true"),
    Option("--hil-auth-failures", "hil_auth_failures", None, "at most N refused logins per "
           "camera account and run, below the firmware's lockout threshold (default: 3 with "
           "--hil-read-only, else no limit)", "N", int),
    Option("--hil-no-move", "hil_no_move", False, "skip every test that moves a PTZ head "
           "(they put it back where they found it)", action="store_true"),
    Option("--hil-slow", "hil_slow", False, "also run the tests whose specified waits are "
           "long (PTZ-3-1-4: two 60 s continuous moves per head)", action="store_true"),
    Option("--hil-reboot-timeout", "hil_reboot_timeout", 120.0, "seconds a camera may take "
           "to go down and come back after SystemReboot", "S", float),
    Option("--hil-interface", "hil_interface", None, "local interface (address or name) for "
           "multicast discovery tests (default: a fleet's manager address)", "ADDR"),
    Option("--hil-discovery-port", "hil_discovery_port", None, "WS-Discovery port of the "
           "cameras (default 3702); with --hil-fleet, the port the simulated cameras use",
           "PORT", int),
    Option("--hil-timeout", "hil_timeout", 5.0, "seconds one ONVIF call may take", "S", float),
    Option("--hil-retries", "hil_retries", 1, "retries of a read (Get*) that timed out; every "
           "retry is recorded in the reports", "N", int),
    Option("--hil-registry", "hil_registry", None, "devmgr registry with the filings and "
           "commissioning baselines (SQLite file or SQLAlchemy URL): enables the view and "
           "compliance checks", "URL"),
    Option("--hil-power", "hil_power", None, "switch and PoE port of each camera (YAML: "
           "id: {switch, port}; switches from the targets file): a camera that stops "
           "answering is power-cycled once, recorded in the reports, before it is latched",
           "FILE"),
    Option("--hil-limit", "hil_limit", [], "override a measurement's limits, NAME=LOW:HIGH "
           "(repeatable)", "NAME=LOW:HIGH", action="append"),
)


#: Refused logins per account under --hil-read-only unless --hil-auth-failures says otherwise:
#: a conservative count; set the option below the lockout threshold of the cameras' firmware.
READ_ONLY_AUTH_FAILURES = 3


@dataclass(frozen=True)
class HilSettings:
    targets_path: Path | None = None
    fleet: str | None = None
    backend: str | None = None
    seed: int = 0
    expect_path: Path | None = None
    report_dir: Path | None = None
    junit_path: Path | None = None
    read_only: bool = False
    #: Under read-only: still run the tests that send refused credentials.
    negative_auth: bool = False
    #: Refused logins allowed per camera account and run (None: no limit).
    auth_failures: int | None = None
    no_move: bool = False
    slow: bool = False
    reboot_timeout_s: float = 120.0
    interface: str | None = None
    discovery_port: int | None = None
    call_timeout_s: float = 5.0
    retries: int = 1
    limits: dict[str, Limit] = field(default_factory=dict)
    #: devmgr's registry (filings, baselines) for the CAMFLEET view and compliance tests.
    registry: str | None = None
    #: ``--hil-power``: the switch port powering each camera (power-cycle before latching).
    power_path: Path | None = None

    @property
    def active(self) -> bool:
        """The run was given cameras (real or simulated)."""
        return self.targets_path is not None or self.fleet is not None


def settings_from(get: Callable[[str], Any]) -> HilSettings:
    """Settings from option values (``get(dest)``); ``ValueError`` names the bad option."""
    targets, fleet = get("hil_targets"), get("hil_fleet")
    if targets and fleet:
        raise ValueError("--hil-targets and --hil-fleet exclude each other: test real cameras "
                         "or a simulated fleet (its manifest is a targets file too)")
    timeout, retries = get("hil_timeout"), get("hil_retries")
    if timeout <= 0 or retries < 0:
        raise ValueError("--hil-timeout must be > 0, --hil-retries >= 0")
    limits = dict(parse_limit_override(text) for text in get("hil_limit") or ())
    read_only, failures = bool(get("hil_read_only")), get("hil_auth_failures")
    if failures is not None and failures < 0:
        raise ValueError("--hil-auth-failures must be >= 0")
    if get("hil_reboot_timeout") <= 0:
        raise ValueError("--hil-reboot-timeout must be > 0")
    return HilSettings(
        targets_path=Path(targets) if targets else None, fleet=fleet,
        backend=get("hil_backend"), seed=get("hil_seed"),
        expect_path=Path(get("hil_expect")) if get("hil_expect") else None,
        report_dir=Path(get("hil_report")) if get("hil_report") else None,
        junit_path=Path(get("hil_junit")) if get("hil_junit") else None,
        read_only=read_only, negative_auth=bool(get("hil_negative_auth")),
        auth_failures=(failures if failures is not None else
                       READ_ONLY_AUTH_FAILURES if read_only else None),
        no_move=bool(get("hil_no_move")), slow=bool(get("hil_slow")),
        reboot_timeout_s=float(get("hil_reboot_timeout")), interface=get("hil_interface"),
        discovery_port=get("hil_discovery_port"), call_timeout_s=float(timeout),
        retries=int(retries), limits=limits,
        registry=get("hil_registry"),
        power_path=Path(get("hil_power")) if get("hil_power") else None)


# -- expectations ----------------------------------------------------------------------------------
class TargetExpectation(Model):
    capabilities: tuple[str, ...] = ()


class KnownDefect(Model):
    """A defect of some firmware that a test is known to find: a strict xfail there."""

    #: Glob over test function names (``test_DEVICE_3_1_1_*``).
    test: str = Field(min_length=1)
    #: Globs over the firmware and model the camera reports (GetDeviceInformation).
    firmware: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    model: str = "*"

    def matches(self, test: str, firmware: str, model: str) -> bool:
        return (fnmatch.fnmatchcase(test, self.test)
                and fnmatch.fnmatchcase(firmware, self.firmware)
                and fnmatch.fnmatchcase(model, self.model))


class Expectations(Model):
    targets: dict[str, TargetExpectation] = Field(default_factory=dict)
    known_defects: tuple[KnownDefect, ...] = ()

    def capabilities_of(self, target_id: str) -> frozenset[str]:
        """Expected capabilities of one target: its own plus those under ``"*"``."""
        found: set[str] = set()
        for key in ("*", target_id):
            if key in self.targets:
                found |= set(self.targets[key].capabilities)
        return frozenset(found)


def load_expectations(path: Path) -> Expectations:
    """Load and check an expectations file; errors name the file and the entry."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read expectations file: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        expectations = Expectations.model_validate(data or {})
    except (ValueError, yaml.YAMLError) as exc:
        detail = format_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ValueError(f"{path}: invalid expectations file:\n{detail}") from None
    for key, entry in expectations.targets.items():
        unknown = check_names(entry.capabilities)
        if unknown:
            raise ValueError(f"{path}: targets.{key}: unknown capabilities "
                             f"{', '.join(unknown)}")
    return expectations
