"""Simulated fleets for a test run: ``--hil-fleet sim:20``, ``fleet.yaml`` or ``sim:20@netns``.

The fleet is started once per run, by the process that owns the run (the only one, or the xdist
controller), and its manifest is written to a file the workers read: the manifest is an ordinary
targets file, so from there on a simulated camera is tested exactly like a real one. Camera ids
are known before the fleet starts (a generated fleet's ids follow from its size; a fleet file
names its cameras), so collection never waits for a fleet.

Nothing here is imported for runs against real cameras: ``simulators`` is loaded on first use.

    >>> parse_fleet_spec("sim:20@netns")
    FleetSpec(count=20, path=None, backend='netns', seed=0, discovery_port=3702)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camfleet.protocols import wsdiscovery as wsd
from hil.errors import FleetNotStarted

if TYPE_CHECKING:
    from simulators.fleet.fleet import Fleet
    from simulators.fleet.generate import FleetMember

__all__ = ["BACKENDS", "FleetRun", "FleetSpec", "parse_fleet_spec"]

BACKENDS = ("loopback", "netns", "docker")
#: How long a simulated camera stays down on SystemReboot: the reboot tests wait for it.
REBOOT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """What to start: ``count`` generated cameras, or the cameras of the fleet file ``path``."""

    count: int | None
    path: Path | None
    backend: str
    seed: int = 0
    #: WS-Discovery port of the cameras (3702, or a free one where several fleets share lo).
    discovery_port: int = wsd.PORT

    def describe(self) -> str:
        what = f"sim:{self.count} (seed {self.seed})" if self.count else str(self.path)
        return f"{what} on the {self.backend} backend"

    def members(self) -> list[FleetMember]:
        from simulators.fleet.generate import (  # noqa: PLC0415 (simulated runs only)
            FleetMember,
            generate_fleet,
            load_fleet_file,
        )

        if self.path is not None:
            return load_fleet_file(self.path)
        return [FleetMember(spec) for spec in generate_fleet(self.count or 0, self.seed)]

    def camera_ids(self) -> list[str]:
        return [member.spec.id for member in self.members()]


def parse_fleet_spec(text: str, backend: str | None = None, seed: int = 0,
                     discovery_port: int | None = None) -> FleetSpec:
    """``sim:N`` or a fleet file, with an optional ``@backend``; ``ValueError`` says why not."""
    spec, at, suffix = text.rpartition("@")
    if not at or suffix not in BACKENDS:
        spec, suffix = text, ""
    if backend and suffix and backend != suffix:
        raise ValueError(f"--hil-fleet {text!r} asks for the {suffix} backend, --hil-backend "
                         f"for {backend}; give one")
    chosen = backend or suffix or "loopback"
    if chosen not in BACKENDS:
        raise ValueError(f"unknown fleet backend {chosen!r}; choose one of {', '.join(BACKENDS)}")
    if spec.startswith("sim:"):
        try:
            count = int(spec[4:])
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"--hil-fleet {text!r}: sim:N needs a camera count N >= 1")
        return FleetSpec(count, None, chosen, seed, discovery_port or wsd.PORT)
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"--hil-fleet {text!r}: no fleet file {path} (or use sim:N)")
    return FleetSpec(None, path, chosen, seed, discovery_port or wsd.PORT)


class FleetRun:
    """A fleet started for one test run; its manifest is the run's targets file.

    ``start()`` never raises for a fleet that will not come up: the error is kept in ``error``
    and every camera of the run is then reported as not testable (an ERROR, never a FAIL).
    ``stop()`` is idempotent; the fleet's own teardown removes workers, namespaces and addresses.
    """

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.fleet: Fleet | None = None
        self.manifest_path: Path | None = None
        self.error: str | None = None
        self.info: dict[str, Any] = {"spec": spec.describe(), "backend": spec.backend}

    def start(self, directory: Path) -> None:
        from simulators.fleet.fleet import Fleet  # noqa: PLC0415 (simulated runs only)

        began = time.monotonic()
        try:
            fleet = Fleet(self.spec.members(), backend=self.spec.backend,
                          discovery_port=self.spec.discovery_port,
                          reboot_seconds=REBOOT_SECONDS)
            fleet.start(control_port=None)
        except Exception as exc:  # FleetError, SpecError, OSError: all mean "no fleet"
            self.error = f"fleet {self.spec.describe()} not started: {exc}"
            return
        self.fleet = fleet
        self.manifest_path = directory / "fleet-manifest.json"
        fleet.manifest().save(self.manifest_path)
        self.info.update(supervisor_pid=os.getpid(), worker_pids=fleet.worker_pids(),
                         started_at=fleet.started_at,
                         start_seconds=round(time.monotonic() - began, 3),
                         manifest=str(self.manifest_path))

    def failure(self) -> FleetNotStarted | None:
        return FleetNotStarted(self.error) if self.error else None

    def stop(self) -> None:
        fleet, self.fleet = self.fleet, None
        if fleet is not None:
            fleet.stop()
