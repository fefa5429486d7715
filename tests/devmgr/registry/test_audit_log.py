"""The audit log: every retrieval registered (Art. 15, 16(3)), append-only and hash-chained so
that altering or destroying an entry (Art. 20 (2)) is refused, and detected if forced."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
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
from devmgr.registry._grants import grant_statements
from tests.devmgr.registry._together import finish, start_together
from tests.devmgr.registry.factories import make_inventory
from tests.postgres import is_postgresql, query, raw, restricted_role

T0 = datetime(2025, 1, 6, 8, 30, 0, 123456, tzinfo=UTC)


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


def drop_triggers(url: str) -> tuple[str, ...]:
    """What a database owner does first to tamper with the log."""
    where = " ON audit_log" if is_postgresql(url) else ""
    return tuple(f"DROP TRIGGER {name}{where}" for name in
                 ("audit_log_no_update", "audit_log_no_delete"))


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
    with pytest.raises(RegistryError, match=r"(?i)append to the audit log.*foreign ?key"):
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
                             "stored_audit_entry", "verify_audit_log"]


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
def test_the_database_refuses_update_and_delete(url: str, statement: str) -> None:
    with Registry.open(url) as registry:
        fill(registry, 3)
    with pytest.raises((sqlite3.IntegrityError, Exception),
                       match=r"audit_log is append-only: (UPDATE|DELETE) of an audit "
                             r"entry is refused \(regulation Art. 20 \(2\)"):
        raw(url, statement)  # as the owner, even
    with Registry.open(url) as registry:
        assert registry.verify_audit_log().entries_checked == 3


def test_postgresql_refuses_truncate_too(pg_url: str) -> None:
    with Registry.open(pg_url) as registry:
        fill(registry, 3)
    with pytest.raises(Exception, match=r"append-only: TRUNCATE of an audit entry is refused"):
        raw(pg_url, "TRUNCATE audit_log")
    assert query(pg_url, "SELECT count(*) FROM audit_log") == [(3,)]


def test_an_edited_entry_is_found(url: str) -> None:
    with Registry.open(url) as registry:
        entries = fill(registry, 5)
    raw(url, *drop_triggers(url),
        "UPDATE audit_log SET purpose = 'private use' WHERE seq = 3")
    with Registry.open(url) as registry:
        result = registry.verify_audit_log()
    assert not result
    assert (result.first_bad_seq, result.problem, result.entries_checked) == (
        3, AuditProblem.HASH_MISMATCH, 3)
    assert "entry 3 was altered after it was written" in result.detail
    assert (result.head_seq, result.head_hash) == (2, entries[1].hash)  # last good entry


def test_an_edited_timestamp_is_found_even_if_unreadable(db: Path) -> None:
    with Registry.open(db) as registry:
        fill(registry, 3)
    raw(str(db), *drop_triggers(str(db)), "UPDATE audit_log SET at = 'last tuesday' WHERE seq = 2")
    with Registry.open(db) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (2, AuditProblem.HASH_MISMATCH)
    assert "timestamp is unreadable" in result.detail


@pytest.mark.parametrize(("statements", "bad_seq"), [
    (["DELETE FROM audit_log WHERE seq = 3"], 3),
    (["DELETE FROM audit_log WHERE seq IN (1, 2)"], 1),
])
def test_a_deleted_entry_is_found(url: str, statements: list[str], bad_seq: int) -> None:
    with Registry.open(url) as registry:
        fill(registry, 5)
    raw(url, *drop_triggers(url), *statements)
    with Registry.open(url) as registry:
        result = registry.verify_audit_log()
    assert (result.ok, result.first_bad_seq, result.problem) == (
        False, bad_seq, AuditProblem.SEQ_GAP)
    assert f"seq {bad_seq}" in result.detail


def test_reordered_entries_are_found(url: str) -> None:
    with Registry.open(url) as registry:
        fill(registry, 5)
    raw(url, *drop_triggers(url),
        "UPDATE audit_log SET seq = 100 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    with Registry.open(url) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (2, AuditProblem.HASH_MISMATCH)


def test_an_entry_replaced_with_a_recomputed_hash_breaks_the_link(url: str) -> None:
    with Registry.open(url) as registry:
        entries = fill(registry, 5)
    forged = entries[2]
    forged_hash = AuditEntry(**{**_entry_fields(forged), "purpose": "private use",
                                "hash": ""}).expected_hash()
    raw(url, *drop_triggers(url),
        f"UPDATE audit_log SET purpose = 'private use', hash = '{forged_hash}' WHERE seq = 3")
    with Registry.open(url) as registry:
        result = registry.verify_audit_log()
    assert (result.first_bad_seq, result.problem) == (4, AuditProblem.BROKEN_LINK)
    assert f"entry 4 links to {entries[2].hash}" in result.detail


def _entry_fields(e: AuditEntry) -> dict[str, Any]:
    return {name: getattr(e, name) for name in AuditEntry.__dataclass_fields__}


def test_truncation_is_found_with_an_expected_head(url: str) -> None:
    with Registry.open(url) as registry:
        fill(registry, 5)
        head = registry.verify_audit_log()
        assert registry.verify_audit_log(expected_head=(head.head_seq, head.head_hash)).ok
    raw(url, *drop_triggers(url), "DELETE FROM audit_log WHERE seq = 5")
    with Registry.open(url) as registry:
        assert registry.verify_audit_log().ok  # the chain alone cannot tell
        result = registry.verify_audit_log(expected_head=(5, head.head_hash))
    assert (result.ok, result.first_bad_seq, result.problem) == (
        False, 5, AuditProblem.HEAD_MISMATCH)
    assert "is missing (the log ends at seq 4)" in result.detail


# -- schema and concurrency -------------------------------------------------------------------


def test_a_version_1_registry_is_upgraded_in_place(url: str) -> None:
    assert SCHEMA_VERSION == 6
    with Registry.open(url) as registry, registry.sweep("inventory") as sweep_id:
        registry.record_inventories(sweep_id, [make_inventory(0)])
    # Make it exactly what camfleet with schema version 1 wrote (DROP TABLE also drops the
    # table's triggers and does not fire them).
    raw(url, "DROP TABLE audit_log", "DROP TABLE filings", "DROP TABLE snapshots",
        "DROP TABLE baselines", "DROP TABLE audit_results", "DROP TABLE catalog_nodes",
        "DROP TABLE ptz_leases", "DROP TABLE ptz_origins", "DROP TABLE camera_events",
        "DROP INDEX ux_devices_serial",
        "DROP INDEX ux_devices_mac_without_serial", "UPDATE schema_version SET version = 1")
    names_query = ("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
                   if not is_postgresql(url) else
                   "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    assert {r[0] for r in query(url, names_query)} == {
        "schema_version", "sweeps", "devices", "observations"}

    with Registry.open(url) as registry:
        assert registry.schema_version == 6
        assert list(registry.latest_inventories()) == ["cam-0000"]
        entry = registry.log_retrieval(**_kwargs(retrieval(0, sweep_id=sweep_id)))
        assert (entry.seq, entry.prev_hash) == (1, GENESIS_HASH)
    assert [r[0] for r in query(
        url, "SELECT version || ' ' || description FROM schema_version ORDER BY version")] == [
        "1 initial schema", "2 audit log (Art. 15, 16(3)): append-only, hash-chained",
        "3 compliance: filings, snapshots, baselines, audit results",
        "4 catalog directory nodes",
        "5 unique device identity; audit log triggers on PostgreSQL; PTZ leases and origins",
        "6 events cameras raised themselves (tamper)"]
    with pytest.raises((sqlite3.IntegrityError, Exception), match="append-only"):
        raw(url, "DELETE FROM audit_log")


def concurrent_appenders(url: str, appender_url: str, go_file: Path) -> None:
    """Four processes, 150 entries each, one transaction per entry: none lost, none twice,
    each process's in its order, and the chain intact."""
    who = [f"proc-{n}" for n in range(4)]
    finish(start_together("tests.devmgr.registry._auditor",
                          [[appender_url, "150", w] for w in who], go_file))
    with Registry.open(url) as registry:
        result = registry.verify_audit_log()
        entries = registry.audit_entries()
    assert (result.ok, result.entries_checked, result.head_seq) == (True, 600, 600), result
    assert [e.seq for e in entries] == list(range(1, 601))
    for name in who:
        assert [e.what for e in entries if e.who == name] == [
            f"snapshot {name} #{n}" for n in range(150)]
    turns = sum(a.who != b.who for a, b in itertools.pairwise(entries))
    print(f"\nconcurrent appenders took turns {turns} times")


def test_concurrent_appenders_never_fork_the_chain(url: str, tmp_path: Path) -> None:
    Registry.open(url).close()
    concurrent_appenders(url, url, tmp_path / "go")


def test_the_recommended_grants_are_enough_to_append_concurrently(
        pg_url: str, tmp_path: Path) -> None:
    """As a role granted exactly what ``devmgr registry grants`` prints: SELECT and INSERT
    on the log, no LOCK TABLE rights, no UPDATE or DELETE."""
    Registry.open(pg_url).close()  # the owner creates the schema
    with restricted_role(pg_url, grant_statements) as app:
        concurrent_appenders(pg_url, app, tmp_path / "go")
        for statement in ("UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log", "DROP TRIGGER audit_log_no_update ON audit_log"):
            with pytest.raises(Exception, match=r"permission denied|must be owner"):
                raw(app, statement)
