"""Recording is idempotent per camera and sweep: what makes at-least-once delivery to city
collectors end with exactly one result per camera."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from devmgr.compliance.model import CameraAudit
from devmgr.inventory.model import Inventory
from devmgr.registry import Registry
from tests.devmgr.registry._together import finish, start_together
from tests.postgres import query


def result(camera: str, status: str = "compliant") -> tuple[str, str, CameraAudit]:
    return camera, status, CameraAudit(camera=camera, status=status)  # type: ignore[arg-type]


def test_a_camera_recorded_again_in_a_sweep_keeps_its_first_result(registry: Registry,
                                                                   ) -> None:
    with registry.sweep("audit") as sweep:
        assert registry.record_audit_results(sweep, [result("a"), result("b")]) == 2
        assert registry.record_audit_results(sweep, [result("a", "findings"), result("c")]) == 1
        assert registry.audited_cameras(sweep) == {"a", "b", "c"}
    kept = registry.audit_results(sweep, CameraAudit)
    assert {c: r.status for c, r in kept.items()} == {"a": "compliant", "b": "compliant",
                                                     "c": "compliant"}
    with registry.sweep("audit") as later:  # another sweep is another audit
        assert registry.record_audit_results(later, [result("a")]) == 1


def test_observed_targets_names_what_a_sweep_recorded(registry: Registry) -> None:
    with registry.sweep("inventory") as sweep:
        assert registry.observed_targets(sweep) == set()
        registry.record_inventories(sweep, [
            Inventory(target_id=t, address="192.0.2.1", collected_at=datetime.now(UTC))
            for t in ("gate-1", "gate-2")])
        assert registry.observed_targets(sweep) == {"gate-1", "gate-2"}
        assert registry.observed_targets(sweep, "gate-2") == {"gate-2"}
        assert registry.observed_targets(sweep, "gate-3") == set()


def test_three_processes_recording_the_same_cameras_at_once_record_each_once(
        url: str, tmp_path: Path) -> None:
    with Registry.open(url) as registry:
        sweep = registry.begin_sweep("audit")
    procs = start_together("tests.devmgr.registry._recorder",
                           [[url, str(sweep), "20", str(seed)] for seed in range(3)],
                           tmp_path / "go")
    outputs = finish(procs)
    assert sum(int(out.strip()) for out in outputs) == 20  # together, each camera once
    with Registry.open(url) as registry:
        assert len(registry.audited_cameras(sweep)) == 20
    if url.startswith("postgresql"):
        assert query(url, "SELECT count(*) FROM audit_results") == [(20,)]
    else:
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM audit_results").fetchone() == (20,)
