"""Small filed fleets of quick domes for the audit's scenario tests: each test names what
its domes see and suffer, this builds them, files them and opens the registry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from camfleet.model import Preset
from camfleet.targets import TargetsFile
from devmgr.filings.model import FilingRecord
from devmgr.registry import Registry
from scenarios.fleet_filings import fleet_filings
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember
from simulators.spec import CameraSpec
from tests.conftest import free_udp_port


def quick_dome(n: int, name: str, *, presets: Sequence[Preset] | None = None,
               **updates: Any) -> CameraSpec:
    """The example dome as unit ``n`` (its own serial, MAC and scene), named ``name``, with
    ``presets`` (default: its first) and quick mechanics: these tests are about pictures,
    not about waiting for the head. ``updates``: more spec fields."""
    spec = CameraSpec.example()
    ident = spec.identity.model_copy(update={"serial": f"{spec.identity.serial[:-2]}{n:02d}",
                                             "mac": f"44:19:b6:12:34:{n:02x}"})
    chosen = tuple(spec.ptz.presets[:1] if presets is None else presets)
    return spec.model_copy(update={
        "id": name, "identity": ident, "scene_seed": n,
        "ptz": spec.ptz.model_copy(update={"presets": chosen, "pan_speed": 720.0,
                                           "tilt_speed": 720.0, "zoom_speed": 10.0}),
        **updates,
    }).with_network(http_port=0)


@dataclass
class Filed:
    fleet: Fleet
    manifest: TargetsFile
    registry: Registry
    #: Camera id -> its filing's device id (the key the audit reports it under).
    keys: dict[str, str]


@contextlib.contextmanager
def filed_fleet(specs: Sequence[CameraSpec], db: Path) -> Iterator[Filed]:
    """The fleet running, its filings (accepted 40 days ago, at the addresses it got) in a
    new registry at ``db``."""
    filings: list[FilingRecord] = fleet_filings(
        list(specs), accepted_on=datetime.now(UTC).date() - timedelta(days=40))
    with Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port()) as fleet, \
            Registry.open(db) as registry:
        manifest = fleet.manifest()
        registry.put_filings([(f.device_id, f.model_copy(update={
            "ip_address": t.address, "port": t.http_port}))
            for f, t in zip(filings, manifest.targets, strict=True)], source="test")
        keys = {t.id: f.device_id for f, t in zip(filings, manifest.targets, strict=True)}
        yield Filed(fleet, manifest, registry, keys)
