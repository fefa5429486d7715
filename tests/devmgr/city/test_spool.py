"""The collector's spool, in process: a result kept while the registry is away, shipped once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest

from devmgr.city.spool import Journal, Result, Spool, SpoolFull, ship, ship_spool
from devmgr.city.work import deliver
from devmgr.compliance.model import CameraAudit
from devmgr.inventory.model import DeviceInfo, Inventory
from devmgr.registry import AuditTrail, Registry, SweepId, snapshot_digest

JPEG = b"\xff\xd8 a picture \xff\xd9"


def journaled(registry: Registry, sweep: SweepId, kind: Literal["inventory", "audit"],
              camera: str) -> tuple[Result, Journal]:
    """A camera's observation and its log entry, kept by a Journal."""
    result = Result(kind=kind, sweep_id=int(sweep), camera=camera, target_id=camera)
    journal = Journal(registry, result)
    inv = Inventory(target_id=camera, address="192.0.2.10", collected_at=datetime.now(UTC),
                    device=DeviceInfo(serial=f"S-{camera}"))
    journal.record_inventories(sweep, [inv])
    trail = AuditTrail(journal, "tester", kind, sweep)
    trail.log([trail.configuration(inv)])
    return result, journal


def audited(registry: Registry, sweep: SweepId, camera: str = "gate-1") -> Result:
    """What a collector's audit of one camera writes, kept by a Journal."""
    result, journal = journaled(registry, sweep, "audit", camera)
    digest = journal.put_snapshot(JPEG)
    journal.record_audit_results(sweep, [(camera, "compliant",
                                          CameraAudit(camera=camera, status="compliant"))])
    assert digest == snapshot_digest(JPEG)
    return result


def test_a_result_computed_while_the_registry_is_away_is_spooled_and_shipped_once(
        tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    spool = Spool(tmp_path / "spool" / "q.sqlite")
    with Registry.open(path) as registry:
        sweep = registry.begin_sweep("audit")
        result = audited(registry, sweep)
        assert registry.audited_cameras(sweep) == set()
        assert registry.snapshot(snapshot_digest(JPEG)) is None  # kept, not written
        registry.close()  # the registry is away when the result is to be shipped
        assert deliver(result, registry, spool) == "spooled"
    # Durable: another process (a restarted collector) finds it in the file.
    again = Spool(spool.path)
    assert len(again) == 1
    assert again.holds(int(sweep), "gate-1")
    with Registry.open(path) as registry:
        assert ship_spool(again, registry) == {"recorded": 1}
        assert registry.audited_cameras(sweep) == {"gate-1"}
        assert registry.get_sweep(sweep).observation_count == 1
        assert registry.snapshot(snapshot_digest(JPEG)) == JPEG
        assert [e.what for e in registry.audit_entries("gate-1")] == [
            "configuration: identity, network, media profiles, PTZ, recording"]
        assert registry.verify_audit_log().ok
        assert len(again) == 0
        assert ship_spool(again, registry) == {}


def test_shipping_resumes_where_the_registry_was_lost_and_drops_what_is_done(
        tmp_path: Path) -> None:
    spool = Spool(tmp_path / "q.sqlite")
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        sweep = registry.begin_sweep("audit")
        first = audited(registry, sweep)
        first.done = 2  # the observation and the log entry reached the registry already
        spool.put(first)
        assert ship_spool(spool, registry) == {"recorded": 1}
        assert registry.get_sweep(sweep).observation_count == 0  # not written again
        assert registry.audit_entries("gate-1") == []
        assert registry.audited_cameras(sweep) == {"gate-1"}
        # Another delivery's result of the same camera: dropped, nothing written twice.
        assert ship(audited(registry, sweep), registry) == "done-already"
        late = audited(registry, sweep, "gate-2")
        registry.finish_sweep(sweep, "aborted")
        spool.put(late)
        assert ship_spool(spool, registry) == {"sweep-over": 1}
        assert registry.audited_cameras(sweep) == {"gate-1"}


def test_the_spool_is_bounded_in_size_and_age(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        sweep = registry.begin_sweep("audit")
        small = Spool(tmp_path / "small.sqlite", max_bytes=100)
        with pytest.raises(SpoolFull, match=r"spool .* is full .* camera gate-1 in sweep"):
            small.put(audited(registry, sweep))
        assert len(small) == 0
        short = Spool(tmp_path / "short.sqlite", max_age_s=60)
        old = audited(registry, sweep)
        old.created = time.time() - 3600
        short.put(old)
        assert ship_spool(short, registry) == {"too-old": 1}
        assert "waited 1.0 h, more than the limit" in caplog.text
        assert registry.audited_cameras(sweep) == set()


def inventoried(registry: Registry, sweep: SweepId, target: str) -> Result:
    return journaled(registry, sweep, "inventory", target)[0]


def test_a_batch_of_inventories_ships_together_or_is_spooled_whole(tmp_path: Path) -> None:
    from devmgr.city.work import deliver_all  # noqa: PLC0415

    path = tmp_path / "registry.sqlite"
    spool = Spool(tmp_path / "q.sqlite")
    with Registry.open(path) as registry:
        sweep = registry.begin_sweep("inventory")
        assert deliver_all([inventoried(registry, sweep, "a")], registry, spool) == ["recorded"]
        batch = [inventoried(registry, sweep, t) for t in ("a", "b", "c")]
        assert deliver_all(batch, registry, spool) == ["done-already", "recorded", "recorded"]
        assert registry.get_sweep(sweep).observation_count == 3  # "a" once
        assert len(registry.audit_entries()) == 3
        later = [inventoried(registry, sweep, t) for t in ("d", "e")]
        registry.close()
        assert deliver_all(later, registry, spool) == ["spooled", "spooled"]
    with Registry.open(path) as registry:
        assert ship_spool(spool, registry) == {"recorded": 2}
        assert registry.observed_targets(sweep) == {"a", "b", "c", "d", "e"}
        assert registry.verify_audit_log().ok
