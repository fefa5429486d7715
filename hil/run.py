"""One acceptance run in one process: settings, targets, the fleet, the cameras.

The pytest plugin is a thin layer over this: it builds a :class:`HilRun` from its options and
asks it for cameras. Which process does what:

* the process that owns the run (the only one, or the xdist controller) starts a fleet, if one
  was asked for, and writes its manifest (:meth:`HilRun.start_fleet`); it also keeps the
  records for the reports;
* xdist workers read that manifest (:meth:`HilRun.adopt_fleet`) and never start a fleet.

Either way the targets come from a targets file, so a simulated camera is tested exactly like
a real one.

    run = HilRun(settings)                 # --hil-targets site.yaml
    camera = run.camera("gate-north")      # no I/O yet; facts on first use
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import Target, TargetsFile, load_targets
from hil.camera import Camera, Harness
from hil.errors import FleetNotStarted, InfrastructureError
from hil.fleet import FleetRun, FleetSpec, parse_fleet_spec
from hil.power import load_power_map
from hil.settings import Expectations, HilSettings, load_expectations

__all__ = ["HilRun"]

DEFAULT_DISCOVERY_PORT = wsd.PORT


class HilRun:
    """Everything the harness keeps for one pytest process (see the module docstring)."""

    def __init__(self, settings: HilSettings) -> None:
        self.settings = settings
        self.expectations = (load_expectations(settings.expect_path)
                             if settings.expect_path else Expectations())
        self.fleet_spec: FleetSpec | None = (
            parse_fleet_spec(settings.fleet, settings.backend, settings.seed,
                             settings.discovery_port)
            if settings.fleet else None)
        self.fleet_run: FleetRun | None = None
        self.failure: InfrastructureError | None = None
        self.targets: TargetsFile | None = None
        self.targets_path: Path | None = None
        self.targets_sha256 = ""
        self._tmp: Path | None = None
        self._harness: Harness | None = None
        self._cameras: dict[str, Camera] = {}
        if settings.targets_path is not None:
            self.use_targets(settings.targets_path)

    # -- targets and fleets ----------------------------------------------------------------------
    def use_targets(self, path: Path) -> None:
        """Test the cameras of this targets file (raises ``TargetsError`` naming the entry)."""
        self.targets = load_targets(path)
        self.targets_path = path
        self.targets_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    def start_fleet(self, report_dir: Path | None = None) -> None:
        """Start the fleet of ``--hil-fleet`` and use its manifest (controller only)."""
        if self.fleet_spec is None or self.fleet_run is not None:
            return
        self._tmp = Path(tempfile.mkdtemp(prefix="hil-fleet-"))
        self.fleet_run = FleetRun(self.fleet_spec)
        self.fleet_run.start(self._tmp)
        self.adopt_fleet(self.fleet_run.manifest_path, self.fleet_run.error)
        if report_dir is not None and self.fleet_run.manifest_path is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            kept = report_dir / "fleet-manifest.json"
            shutil.copyfile(self.fleet_run.manifest_path, kept)
            self.targets_path = kept

    def adopt_fleet(self, manifest: Path | str | None, error: str | None) -> None:
        """Use a fleet another process started (xdist workers), or record that it failed."""
        if error:
            self.failure = FleetNotStarted(error)
        elif manifest is not None:
            self.use_targets(Path(manifest))

    @property
    def camera_ids(self) -> list[str]:
        """Known before any fleet starts: from the targets file, or from the fleet spec."""
        if self.targets is not None:
            return [t.id for t in self.targets.targets]
        if self.fleet_spec is not None:
            return self.fleet_spec.camera_ids()
        return []

    # -- cameras ---------------------------------------------------------------------------------
    @property
    def harness(self) -> Harness:
        if self._harness is None:
            self._harness = Harness(self.settings)
        return self._harness

    def camera(self, target_id: str) -> Camera:
        """The camera with this target id (created on first request, without I/O)."""
        found = self._cameras.get(target_id)
        if found is not None:
            return found
        target = self.targets.by_id().get(target_id) if self.targets else None
        fleet = self.targets.fleet if self.targets else None
        interface = self.settings.interface or (fleet.manager_address if fleet else None)
        port = self.settings.discovery_port or (fleet.discovery_port if fleet else
                                                DEFAULT_DISCOVERY_PORT)
        camera = Camera(self.harness, target or Target(id=target_id, address="(unknown)"),
                        expected=self.expectations.capabilities_of(target_id),
                        discovery_port=port, multicast_interface=interface,
                        peers=tuple(t.address for t in self.targets.targets)
                        if self.targets else ())
        if self.settings.power_path is not None and self.targets is not None:
            try:
                camera.power = load_power_map(self.settings.power_path,
                                              self.targets.switches).get(target_id)
            except ValueError as exc:
                camera.fail_at_start(InfrastructureError(str(exc)))
        if self.failure is not None:
            camera.fail_at_start(self.failure)
        elif target is None:
            camera.fail_at_start(InfrastructureError(f"{target_id}: not in the targets file"))
        self._cameras[target_id] = camera
        return camera

    def _log_requests(self) -> None:
        cameras, self._cameras = list(self._cameras.values()), {}
        if self.settings.registry is None:
            return
        from devmgr.registry import RegistryError  # noqa: PLC0415
        from hil.compliance import log_requests  # noqa: PLC0415

        try:
            log_requests(self.settings.registry, cameras, self.settings.report_dir)
        except RegistryError as exc:
            sys.stderr.write(f"hil: what the suite read was not registered: {exc}\n")

    def run_info(self) -> dict[str, Any]:
        """What run.json and the JUnit testsuite properties say about the run."""
        return {"targets_file": str(self.targets_path or ""),
                "targets_sha256": self.targets_sha256,
                "fleet": self.fleet_run.info if self.fleet_run else None,
                "fleet_error": str(self.failure) if self.failure else None,
                "read_only": self.settings.read_only,
                "limits_overridden": {k: v.describe() for k, v in self.settings.limits.items()}}

    def close(self) -> None:
        """Register what was read of the cameras (with ``--hil-registry``), close sessions,
        stop the fleet this process started, remove its files. Idempotent."""
        self._log_requests()
        harness, self._harness = self._harness, None
        if harness is not None:
            harness.close()
        fleet, self.fleet_run = self.fleet_run, None
        if fleet is not None:
            fleet.stop()
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
