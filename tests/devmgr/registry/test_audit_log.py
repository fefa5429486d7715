"""The audit log: every retrieval registered (Art. 15, 16(3)), append-only and hash-chained so
that altering or destroying an entry (Art. 20 (2)) is refused, and detected if forced."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devmgr.registry import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    AuditEntry,
    AuditProblem,
    Registry,
    RegistryError,
    Retrieval,
)
from tests.devmgr.registry.factories import make_inventory

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2025, 1, 6, 8, 30, 0, 123456, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "registry.sqlite"


@pytest.fixture
def registry(db: Path) -> Iterator[Registry]:
    with Registry.open(db) as reg:
        yield reg


def retrieval(n: int, **changes: Any) -> Retrieval:
    fields: dict[str, Any] = {
        "who": "li.wei", "how": "onvif:GetSnapshotUri+http-digest",
        "purpose": "compliance audit", "destination": f"reports/2025-01/cam-{n:04d}.jpg",
        "target_id": f"cam-{n:04d}", "address": f"192.0.2.{n + 10}",
        "what": f"snapshot Profile_1 1280x720 sha256:{n:064x}", "sweep_id": None,
        "at": T0 + timedelta(minutes=n)}
    fields.update(changes)
    return Retrieval(**fields)


def fill(registry: Registry, count: int) -> list[AuditEntry]:
    return registry.log_retrievals(retrieval(n) for n in range(count))


def raw(db: Path, *statements: str) -> None:
    """What a database owner can do behind camfleet's back."""
    with sqlite3.connect(db) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


DROP_TRIGGERS = ("DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete")


# -- appending and reading ------------------------------------------------------------------


def test_entries_are_chained_with_the_documented_hash(registry: Registry) -> None:
    first = registry.log_retrieval(who="li.wei", how="snmp-get", purpose="inventory",
                                   destination="registry", target_id="gate-1",
                                   address="192.0.2.10", what="sysDescr, serial 闸口",
                                   at=datetime(2025, 1, 6, 16, 30, tzinfo=UTC))
    second = registry.log_retrieval(who="wang.fang", how="onvif:GetProfiles",
                                    purpose="commissioning baseline", destination="registry",
                                    target_id=None, address="192.0.2.11", what="2 profiles")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH == "0" * 64
    assert second.prev_hash == first.hash
    assert second.at.tzinfo is not None
    # Recomputable without camfleet: sorted-key compact JSON, UTF-8, UTC "...Z" timestamp.
    canonical = json.dumps(
        {"seq": 1, "at": "2025-01-06T16:30:00.000000Z", "who": "li.wei", "how": "snmp-get",
         "purpose": "inventory", "destination": "registry", "target_id": "gate-1",
         "address": "192.0.2.10", "what": "sysDescr, serial 闸口", "sweep_id": None,
         "prev_hash": GENESIS_HASH},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert first.expected_hash() == first.hash
    assert registry.audit_entries() == [first, second]
    verification = registry.verify_audit_log()
    assert verification.ok
    assert (verification.entries_checked, verification.head_seq,
            verification.head_hash) == (2, 2, second.hash)


def test_batch_is_one_transaction(registry: Registry) -> None:
    assert registry.log_retrievals([]) == []
    with registry.sweep("audit") as sweep_id:
        entries = registry.log_retrievals(
            [retrieval(0, sweep_id=sweep_id), retrieval(1, sweep_id=sweep_id)])
    assert [e.seq for e in entries] == [1, 2]
    assert [e.sweep_id for e in registry.audit_entries()] == [sweep_id, sweep_id]
    # An unknown sweep (foreign key) in the middle of a batch: nothing of it is written.
    with pytest.raises(RegistryError, match=r"append to the audit log.*FOREIGN KEY"):
        registry.log_retrievals([retrieval(2), retrieval(3, sweep_id=999), retrieval(4)])
    assert [e.seq for e in registry.audit_entries()] == [1, 2]
    assert registry.log_retrieval(**_kwargs(retrieval(5))).prev_hash == entries[1].hash
    assert registry.verify_audit_log().entries_checked == 3


def _kwargs(r: Retrieval) -> dict[str, Any]:
    return {name: getattr(r, name) for name in Retrieval.__dataclass_fields__}


def test_audit_entries_filters(registry: Registry) -> None:
    entries = fill(registry, 6)
    registry.log_retrieval(**_kwargs(retrieval(2, what="again")))
    assert [e.what for e in registry.audit_entries("cam-0002")] == [entries[2].what, "again"]
    # "again" was retrieved at minute 2 (registered late): ``since`` is about ``at``.
    assert registry.audit_entries(since=T0 + timedelta(minutes=4)) == entries[4:]
    assert [e.seq for e in registry.audit_entries(since=T0 + timedelta(minutes=2))] == [
        3, 4, 5, 6, 7]
    assert [e.seq for e in registry.audit_entries(limit=2)] == [6, 7]  # newest 2, in order
    assert registry.audit_entries("nowhere") == []
    with pytest.raises(ValueError, match="aware"):
        registry.audit_entries(since=datetime(2025, 1, 1))


@pytest.mark.parametrize(("change", "message"), [
    ({"who": ""}, "'who' must be a non-empty string"),
    ({"purpose": "  "}, "'purpose' must be a non-empty string"),
    ({"target_id": ""}, "'target_id' must be None or non-empty"),
    ({"at": datetime(2025, 1, 6)}, "naive datetime"),
])
def test_incomplete_registrations_are_refused(registry: Registry, change: dict[str, Any],
                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry.log_retrieval(**{**_kwargs(retrieval(0)), **change})
    assert registry.audit_entries() == []


def test_there_is_no_api_to_change_or_remove_entries() -> None:
    # (audit_results/audit_statuses are the compliance audit's findings, not the log.)
    names = [n for n in dir(Registry)
             if "audit_log" in n or "audit_entr" in n or "retriev" in n]
    assert sorted(names) == ["audit_entries", "log_retrieval", "log_retrievals",
                             "verify_audit_log"]


def test_in_memory_registry_has_the_log_and_its_triggers() -> None:
    with Registry.open("sqlite://") as registry:
        fill(registry, 3)
        assert registry.verify_audit_log().entries_checked == 3
        with registry._engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all()
        assert sorted(triggers) == ["audit_log_no_delete", "audit_log_no_update"]


# -- append-only, and tamper-evident ----------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET who = 'nobody' WHERE seq = 2",
    "DELETE FROM audit_log WHERE seq = 2",
    "DELETE FROM audit_log",
])
def test_triggers_refuse_update_and_delete(db: Path, statement: str) -> None:
    with Registry.open(db) as registry:
        fill(registry, 3)
    with pytest.raises(sqlite3.IntegrityError,
                       match=r"audit_log is append-only: (UPDATE|DELETE) of an audit entry is "
                             r"refused \(regulation Art. 20 \(2\)"):
        raw(db, statement)
    with Registry.open(db) as registry:
        assert registry.verify_audit_log().entries_checked == 3


def test_an_edited_entry_is_found(db: Path) -> None:
    with Registry.open(db) as registry:
        entries = fill(registry, 5)
    raw(db, *DROP_TRIGGERS,
        "UPDATE audit_log SET purpose = 'private use' WHERE seq = 3")
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert not result
    assert (result.first_bad_seq, result.problem, result.entries_checked) == (
        3, AuditProblem.HASH_MISMATCH, 3)
    assert "entry 3 was altered after it was written" in result.detail
    assert (result.head_seq, result.head_hash) == (2, entries[1].hash)  # last good entry


def test_an_edited_timestamp_is_found_even_if_unreadable(db: Path) -> None:
    with Registry.open(db) as registry:
        fill(registry, 3)
    raw(db, *DROP_TRIGGERS, "UPDATE audit_log SET at = 'last tuesday' WHERE seq = 2")
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (2, AuditProblem.HASH_MISMATCH)
    assert "timestamp is unreadable" in result.detail


@pytest.mark.parametrize(("statements", "bad_seq"), [
    (["DELETE FROM audit_log WHERE seq = 3"], 3),
    (["DELETE FROM audit_log WHERE seq IN (1, 2)"], 1),
])
def test_a_deleted_entry_is_found(db: Path, statements: list[str], bad_seq: int) -> None:
    with Registry.open(db) as registry:
        fill(registry, 5)
    raw(db, *DROP_TRIGGERS, *statements)
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert (result.ok, result.first_bad_seq, result.problem) == (
        False, bad_seq, AuditProblem.SEQ_GAP)
    assert f"seq {bad_seq}" in result.detail


def test_reordered_entries_are_found(db: Path) -> None:
    with Registry.open(db) as registry:
        fill(registry, 5)
    raw(db, *DROP_TRIGGERS,
        "UPDATE audit_log SET seq = 100 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (2, AuditProblem.HASH_MISMATCH)


def test_an_entry_replaced_with_a_recomputed_hash_breaks_the_link(db: Path) -> None:
    with Registry.open(db) as registry:
        entries = fill(registry, 5)
    forged = entries[2]
    forged_hash = AuditEntry(**{**_entry_fields(forged), "purpose": "private use",
                                "hash": ""}).expected_hash()
    raw(db, *DROP_TRIGGERS,
        f"UPDATE audit_log SET purpose = 'private use', hash = '{forged_hash}' WHERE seq = 3")
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (4, AuditProblem.BROKEN_LINK)
    assert f"entry 4 links to {entries[2].hash}" in result.detail


def _entry_fields(e: AuditEntry) -> dict[str, Any]:
    return {name: getattr(e, name) for name in AuditEntry.__dataclass_fields__}


def test_truncation_is_found_with_an_expected_head(db: Path) -> None:
    with Registry.open(db) as registry:
        fill(registry, 5)
        head = registry.verify_audit_log()
        assert registry.verify_audit_log(expected_head=(head.head_seq, head.head_hash)).ok
    raw(db, *DROP_TRIGGERS, "DELETE FROM audit_log WHERE seq = 5")
    with Registry.open(db) as registry:
        assert registry.verify_audit_log().ok  # the chain alone cannot tell
        result = registry.verify_audit_log(expected_head=(5, head.head_hash))
    assert (result.ok, result.first_bad_seq, result.problem) == (
        False, 5, AuditProblem.HEAD_MISMATCH)
    assert "is missing (the log ends at seq 4)" in result.detail


# -- schema and concurrency -------------------------------------------------------------------


def test_a_version_1_registry_is_upgraded_in_place(db: Path) -> None:
    assert SCHEMA_VERSION == 3
    with Registry.open(db) as registry, registry.sweep("inventory") as sweep_id:
        registry.record_inventories(sweep_id, [make_inventory(0)])
    # Make it exactly what camfleet with schema version 1 wrote (DROP TABLE also drops the
    # table's triggers and does not fire them).
    raw(db, "DROP TABLE audit_log", "DROP TABLE filings", "DROP TABLE snapshots",
        "DROP TABLE baselines", "DROP TABLE audit_results",
        "UPDATE schema_version SET version = 1")
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                            "WHERE type IN ('table', 'trigger')")}
    conn.close()
    assert names == {"schema_version", "sweeps", "devices", "observations"}

    with Registry.open(db) as registry:
        assert registry.schema_version == 3
        assert list(registry.latest_inventories()) == ["cam-0000"]
        entry = registry.log_retrieval(**_kwargs(retrieval(0, sweep_id=sweep_id)))
        assert (entry.seq, entry.prev_hash) == (1, GENESIS_HASH)
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute(
            "SELECT version || ' ' || description FROM schema_version ORDER BY version")] == [
            "1 initial schema", "2 audit log (Art. 15, 16(3)): append-only, hash-chained",
            "3 compliance: filings, snapshots, baselines, audit results"]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    conn.close()


def test_concurrent_appenders_never_fork_the_chain(db: Path) -> None:
    Registry.open(db).close()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.devmgr.registry._auditor", str(db), "200", who],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        for who in ("proc-a", "proc-b")]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    Path(f"{db}.go").touch()
    outs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outs

    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
        entries = registry.audit_entries()
    assert (result.ok, result.entries_checked, result.head_seq) == (True, 400, 400), result
    assert [e.seq for e in entries] == list(range(1, 401))
    for who in ("proc-a", "proc-b"):  # each process's entries, all there, in its order
        assert [e.what for e in entries if e.who == who] == [
            f"snapshot {who} #{n}" for n in range(200)]
    turns = sum(a.who != b.who for a, b in itertools.pairwise(entries))
    print(f"\nconcurrent appenders took turns {turns} times")
