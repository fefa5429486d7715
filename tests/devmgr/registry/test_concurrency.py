"""Several processes at one registry, on SQLite and PostgreSQL: creating it, storing the same
snapshot, and the privileges a restricted PostgreSQL role needs (issue 16's defects).

The device-identity and audit-log races are tested beside their subjects
(``test_registry.test_concurrent_and_sequential_writers``,
``test_audit_log.test_concurrent_appenders_never_fork_the_chain``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devmgr.registry import SCHEMA_VERSION, Registry, snapshot_digest
from devmgr.registry._grants import PRIVILEGES, grant_statements
from devmgr.registry._schema import Base
from tests.devmgr.registry._together import finish, start_together
from tests.devmgr.registry.factories import make_discovery, make_inventory, serial_of
from tests.postgres import query, raw, restricted_role


def test_four_processes_create_a_new_registry_at_once(url: str, tmp_path: Path) -> None:
    outs = finish(start_together("tests.devmgr.registry._contender",
                                 [[url, "open"]] * 4, tmp_path / "go"))
    assert [out.split() for out in outs] == [[str(SCHEMA_VERSION)]] * 4
    # One migrator: the schema was created, and stamped, once.
    assert query(url, "SELECT version, description FROM schema_version") == [
        (SCHEMA_VERSION, "initial schema")]


def test_four_processes_store_the_same_snapshots(url: str, tmp_path: Path) -> None:
    Registry.open(url).close()
    outs = finish(start_together("tests.devmgr.registry._contender",
                                 [[url, "snapshot", "30"]] * 4, tmp_path / "go"))
    expected = [snapshot_digest(b"\xff\xd8 the same view %d" % n) for n in range(30)]
    assert [out.split() for out in outs] == [expected] * 4
    assert query(url, "SELECT count(*) FROM snapshots") == [(30,)]
    with Registry.open(url) as registry:
        assert registry.snapshot(expected[7]) == b"\xff\xd8 the same view 7"


def test_duplicate_devices_of_an_older_registry_are_merged_on_upgrade(url: str) -> None:
    """What version 4 on PostgreSQL could leave behind: one unit, three device rows."""
    with Registry.open(url) as registry, registry.sweep("inventory") as sweep_id:
        registry.record_inventories(sweep_id, [make_inventory(i) for i in range(3)])
        registry.record_discoveries(sweep_id, [make_discovery(9, serial=False)])
    raw(url, "DROP INDEX ux_devices_serial", "DROP INDEX ux_devices_mac_without_serial",
        "DROP TABLE ptz_origins", "DROP TABLE ptz_leases",
        "UPDATE schema_version SET version = 4",
        *(f"INSERT INTO devices (serial, mac, first_seen, last_seen) SELECT serial, mac, "
          f"first_seen, last_seen FROM devices WHERE id = {n}" for n in (1, 1, 4)),
        "UPDATE observations SET device_id = 5 WHERE id = 1")
    assert query(url, "SELECT count(*) FROM devices") == [(7,)]

    with Registry.open(url) as registry:
        devices = registry.devices()
        assert [(d.id, d.serial) for d in devices] == [
            (1, serial_of(0)), (2, serial_of(1)), (3, serial_of(2)), (4, None)]
        assert [h.inventory for h in registry.history(serial=serial_of(0))] == [
            make_inventory(0)]
    assert query(url, "SELECT device_id FROM observations ORDER BY id") == [
        (1,), (2,), (3,), (4,)]


def test_every_table_has_its_privileges_listed() -> None:
    assert set(PRIVILEGES) == set(Base.metadata.tables)
    assert all("DELETE" not in rights for rights in PRIVILEGES.values())
    assert PRIVILEGES["audit_log"] == ("SELECT", "INSERT")
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        grant_statements('camfleet"; DROP TABLE audit_log; --')


def test_a_restricted_role_runs_the_registry(pg_url: str) -> None:
    """The whole registry API as a role granted what ``devmgr registry grants`` prints."""
    Registry.open(pg_url).close()
    with restricted_role(pg_url, grant_statements) as app, Registry.open(app) as registry:
        with registry.sweep("inventory") as sweep_id:
            registry.record_inventories(sweep_id, [make_inventory(i) for i in range(3)])
            registry.record_discoveries(sweep_id, [make_discovery(7, serial=False)])
            registry.log_retrieval(who="li.wei", how="onvif", purpose="inventory",
                                   destination="registry", target_id="cam-0000",
                                   address="10.20.0.2", what="configuration",
                                   sweep_id=sweep_id)
        digest = registry.put_snapshot(b"jpeg")
        assert registry.put_snapshot(b"jpeg") == digest
        with registry.sweep("inventory") as again:  # devices matched and updated
            registry.record_inventories(again, [make_inventory(i, sweep=1) for i in range(3)])
        assert len(registry.devices()) == 4
        assert registry.verify_audit_log().ok
        # A stale sweep of a dead process on this host is marked aborted by the next open.
        stale = registry.begin_sweep("audit")
    raw(pg_url, f"UPDATE sweeps SET pid = 999999999 WHERE id = {stale}")
    with restricted_role(pg_url, grant_statements) as app, Registry.open(app) as registry:
        assert registry.get_sweep(stale).status == "aborted"
