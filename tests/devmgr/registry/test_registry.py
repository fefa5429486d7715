"""The registry store: round trips, history, identity, crash safety, errors, concurrency."""

from __future__ import annotations

import itertools
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import devmgr.registry
from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import GeoPosition, Range
from devmgr.inventory.model import Inventory
from devmgr.registry import (
    DEFAULT_FILENAME,
    SCHEMA_VERSION,
    Registry,
    RegistryError,
    SchemaVersionError,
    SweepId,
    SweepKind,
    SweepStatus,
    _database,
    _schema,
    file_digest,
)
from tests.devmgr.registry._together import finish, start_together
from tests.devmgr.registry.factories import (
    make_discovery,
    make_inventory,
    serial_of,
    unreachable,
)
from tests.postgres import is_postgresql, query, raw

REPO = Path(__file__).resolve().parents[3]


def record_sweep(registry: Registry, invs: list[Inventory],
                 status: SweepStatus = SweepStatus.COMPLETE) -> SweepId:
    sweep_id = registry.begin_sweep(SweepKind.INVENTORY, {"cameras": len(invs)})
    registry.record_inventories(sweep_id, invs)
    if status is not SweepStatus.RUNNING:
        registry.finish_sweep(sweep_id, status)
    return sweep_id


def integrity(url: str) -> str:
    if is_postgresql(url):
        return "ok"  # PostgreSQL's own business: WAL replay on crash
    with sqlite3.connect(url) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def sweep_status(url: str, sweep_id: int) -> str:
    return str(query(url, f"SELECT status FROM sweeps WHERE id = {int(sweep_id)}")[0][0])


def writer(url: str, mode: str, count: int, batch: int, sweep_no: int,
           **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.devmgr.registry._writer", url, mode, str(count),
         str(batch), str(sweep_no)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def read_until(proc: subprocess.Popen[str], wanted: str, timeout: float = 15.0) -> list[str]:
    """The writer's output lines, up to the line ``wanted``."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if line == wanted:
            return lines
    proc.kill()
    raise AssertionError(f"writer never printed {wanted!r}; it printed {lines}")


# -- round trip -----------------------------------------------------------------------------


def test_round_trip_keeps_every_field(registry: Registry) -> None:
    invs = [make_inventory(i) for i in range(5)] + [unreachable(5)]
    # ONVIF says limits may be +-INF ("off"); pydantic's JSON would turn them into null.
    assert invs[0].ptz is not None
    assert invs[0].ptz.spaces[2].x == Range(min=-math.inf,
                                                                        max=math.inf)
    sweep_id = record_sweep(registry, invs)

    assert registry.inventories(sweep_id) == invs
    assert registry.latest_inventories() == {inv.target_id: inv for inv in invs}
    sweep = registry.get_sweep(sweep_id)
    assert (sweep.kind, sweep.status) == (SweepKind.INVENTORY, SweepStatus.COMPLETE)
    assert (sweep.observation_count, sweep.unreachable_count, sweep.new_device_count) == (6, 1, 5)
    assert sweep.parameters == {"cameras": 6}
    assert sweep.pid == os.getpid()
    assert sweep.finished_at is not None
    assert sweep.finished_at >= sweep.started_at
    assert sweep.started_at.tzinfo is not None


def test_discoveries_round_trip_and_sweep_listing(registry: Registry, tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    targets.write_text('{"targets": []}')
    devs = [make_discovery(i) for i in range(3)]
    with registry.sweep("discover", {"targets": file_digest(targets)}) as sweep_id:
        assert registry.record_discoveries(sweep_id, devs) == 3
    record_sweep(registry, [make_inventory(0)])

    assert registry.discoveries(sweep_id) == devs
    assert [s.kind for s in registry.sweeps()] == [SweepKind.INVENTORY, SweepKind.DISCOVER]
    assert [s.id for s in registry.sweeps("discover")] == [sweep_id]
    assert registry.sweeps(status="aborted") == []
    assert len(registry.sweeps(limit=1)) == 1
    assert registry.get_sweep(sweep_id).parameters["targets"].startswith("sha256:")
    # The discovery created the device; the inventory found it again.
    assert len(registry.devices()) == 3


# -- history and changes --------------------------------------------------------------------


def test_history_and_changes_across_three_sweeps(registry: Registry) -> None:
    first = make_inventory(7, sweep=0)
    assert first.device is not None
    assert first.ptz is not None
    upgraded = make_inventory(7, sweep=1).model_copy(update={
        "device": first.device.model_copy(update={"firmware": "V5.7.3 build 220112"}),
        "geolocation": GeoPosition(latitude=30.6012, longitude=114.3101, elevation=25.0)})
    assert upgraded.ptz is not None
    narrowed = upgraded.model_copy(update={
        "collected_at": make_inventory(7, sweep=2).collected_at,
        "ptz": upgraded.ptz.model_copy(update={"pan_limits": Range(min=-0.5, max=0.5)})})
    sweeps = [record_sweep(registry, [inv, make_inventory(8, sweep=n)])
              for n, inv in enumerate([first, upgraded, narrowed])]

    history = registry.history("cam-0007")
    assert [(s.id, inv) for s, inv in history] == list(zip(sweeps, [first, upgraded, narrowed],
                                                            strict=True))
    changes = registry.changes("cam-0007")
    assert [(c.field, c.old, c.new, c.sweep_id, c.previous_sweep_id) for c in changes] == [
        ("device.firmware", "V5.5.800 build 210628", "V5.7.3 build 220112", sweeps[1],
         sweeps[0]),
        ("geolocation", first.geolocation, upgraded.geolocation, sweeps[1], sweeps[0]),
        ("ptz.pan_limits", Range(min=-1, max=1), Range(min=-0.5, max=0.5), sweeps[2],
         sweeps[1]),
    ]
    assert changes[0].at == registry.get_sweep(sweeps[1]).started_at
    assert changes[1].new.distance_to(changes[1].old) > 900  # moved about a kilometre
    assert registry.changes("cam-0008") == []  # clock, uptime, camera time: not changes
    assert [c.field for c in registry.changes("cam-0007", fields=["geolocation"])] == [
        "geolocation"]


def test_values_not_obtained_are_not_changes(registry: Registry) -> None:
    base = make_inventory(1)
    assert base.ptz is not None
    presets_failed = base.model_copy(update={
        "ptz": base.ptz.model_copy(update={"presets": ()}),
        "errors": (DeviceError(kind=ErrorKind.TIMEOUT, operation="GetPresets",
                               message="no answer in 5 s"),)})
    auth_refused = Inventory(target_id=base.target_id, address=base.address,
                             collected_at=base.collected_at,
                             errors=(DeviceError(kind=ErrorKind.AUTH,
                                                 operation="GetDeviceInformation",
                                                 message="NotAuthorized"),))
    presets_deleted = base.model_copy(update={"ptz": base.ptz.model_copy(update={"presets": ()})})
    sweeps = [record_sweep(registry, [inv]) for inv in
              (base, unreachable(1), base, presets_failed, auth_refused, presets_deleted)]

    assert [(c.field, c.old, c.new, c.sweep_id) for c in registry.changes("cam-0001")] == [
        ("reachable", True, False, sweeps[1]),
        ("reachable", False, True, sweeps[2]),
        # A preset list that came back empty without an error is real: the view changed.
        ("ptz.presets", tuple(sorted(base.ptz.presets, key=lambda p: p.token)), (),
         sweeps[5]),
    ]


def test_history_follows_a_unit_by_serial_across_targets(registry: Registry) -> None:
    at_gate = make_inventory(3)
    moved = make_inventory(3, sweep=1).model_copy(update={"target_id": "cam-0099",
                                                          "address": "10.20.9.9"})
    record_sweep(registry, [at_gate])
    record_sweep(registry, [moved])

    assert [inv for _, inv in registry.history(serial=serial_of(3))] == [at_gate, moved]
    assert [(c.field, c.old, c.new, c.target_id) for c in registry.changes(serial=serial_of(3))
            ] == [("address", at_gate.address, "10.20.9.9", "cam-0099")]
    with pytest.raises(ValueError, match="target_id or serial"):
        registry.history()


# -- device identity --------------------------------------------------------------------------


def test_devices_match_by_serial_then_mac(registry: Registry) -> None:
    original = make_inventory(4)
    assert original.device is not None
    assert original.snmp is not None
    # Same address and target, another unit: the old one was swapped out.
    replaced = make_inventory(4, sweep=1).model_copy(update={
        "device": original.device.model_copy(update={"serial": "DS-REPLACEMENT-0001"}),
        "mac": "44:19:b6:ff:ff:01",
        "snmp": original.snmp.model_copy(update={"serial": "", "mac": None})})
    # Only SNMP answered, with the MAC: still the replacement unit.
    mac_only = Inventory(target_id="cam-0004", address=original.address,
                         collected_at=make_inventory(4, sweep=2).collected_at,
                         mac="44-19-B6-FF-FF-01")
    sweeps = [record_sweep(registry, [inv]) for inv in (original, replaced, mac_only)]

    devices = registry.devices()
    assert [(d.serial, d.mac) for d in devices] == [
        (serial_of(4), original.mac), ("DS-REPLACEMENT-0001", "44:19:b6:ff:ff:01")]
    assert devices[1].last_seen == mac_only.collected_at
    assert devices[0].first_seen == devices[0].last_seen == original.collected_at
    assert [registry.get_sweep(s).new_device_count for s in sweeps] == [1, 1, 0]
    assert len(registry.history(serial="DS-REPLACEMENT-0001")) == 2
    assert registry.devices(mac="44-19-B6-FF-FF-01") == [devices[1]]
    serial_change = [c for c in registry.changes("cam-0004") if c.field == "device.serial"]
    assert [(c.old, c.new) for c in serial_change] == [(serial_of(4), "DS-REPLACEMENT-0001")]


def test_mac_only_sighting_gets_its_serial_later(registry: Registry) -> None:
    with registry.sweep("discover") as discover:
        registry.record_discovery(discover, make_discovery(6, serial=False))
    assert [(d.serial, d.mac) for d in registry.devices()] == [(None, make_discovery(6).mac)]
    record_sweep(registry, [make_inventory(6)])
    # Adopted, not duplicated; nothing at all identifies an unreachable camera.
    record_sweep(registry, [unreachable(6, sweep=1)])
    assert [(d.serial, d.mac) for d in registry.devices()] == [(serial_of(6),
                                                                make_discovery(6).mac)]


# -- what "latest" means ----------------------------------------------------------------------


def test_latest_ignores_running_and_aborted_sweeps(registry: Registry) -> None:
    complete = [make_inventory(i, sweep=0) for i in range(3)]
    record_sweep(registry, complete)
    begun: list[SweepId] = []

    def crash_mid_sweep() -> None:
        with registry.sweep("inventory") as sweep_id:
            begun.append(sweep_id)
            registry.record_inventories(sweep_id, [make_inventory(i, sweep=1) for i in range(3)])
            raise RuntimeError("collector crashed")

    with pytest.raises(RuntimeError, match="collector crashed"):
        crash_mid_sweep()
    aborted = begun[0]
    running = record_sweep(registry, [make_inventory(i, sweep=2) for i in range(4)],
                           SweepStatus.RUNNING)

    assert registry.get_sweep(aborted).status is SweepStatus.ABORTED
    assert registry.latest_inventories() == {inv.target_id: inv for inv in complete}
    assert len(registry.history("cam-0000")) == 1
    assert len(registry.history("cam-0000", include_incomplete=True)) == 3

    registry.finish_sweep(running)
    assert registry.latest_inventories() == {
        inv.target_id: inv for inv in (make_inventory(i, sweep=2) for i in range(4))}
    # Audit sweeps count only when asked for.
    with registry.sweep("audit") as audit:
        registry.record_inventory(audit, make_inventory(0, sweep=3))
    assert registry.latest_inventories()["cam-0000"] == make_inventory(0, sweep=2)
    assert registry.latest_inventories(kinds=["inventory", "audit"])["cam-0000"] == \
        make_inventory(0, sweep=3)


def test_a_finished_sweep_cannot_change(registry: Registry) -> None:
    sweep_id = record_sweep(registry, [make_inventory(0)])
    with pytest.raises(RegistryError, match=f"sweep {sweep_id} is already complete"):
        registry.record_inventory(sweep_id, make_inventory(1))
    with pytest.raises(RegistryError, match="already complete"):
        registry.finish_sweep(sweep_id, "aborted")
    with pytest.raises(RegistryError, match="no sweep 999"):
        registry.record_inventory(SweepId(999), make_inventory(1))
    with pytest.raises(ValueError, match="unknown sweep kind 'survey'"):
        registry.begin_sweep("survey")
    with pytest.raises(ValueError, match="JSON-serializable"):
        registry.begin_sweep("inventory", {"path": Path("/x")})
    assert registry.get_sweep(sweep_id).observation_count == 1


# -- crash safety -----------------------------------------------------------------------------


def test_stale_sweeps_are_aborted_only_when_their_process_is_gone(url: str) -> None:
    with Registry.open(url) as first:
        mine = first.begin_sweep("inventory")
        elsewhere = first.begin_sweep("inventory")
        dead = first.begin_sweep("inventory")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    raw(url, f"UPDATE sweeps SET host = 'other-host', pid = 1 WHERE id = {elsewhere}",
        f"UPDATE sweeps SET pid = {int(gone.stdout)} WHERE id = {dead}")

    with Registry.open(url) as second:
        assert second.get_sweep(mine).status is SweepStatus.RUNNING  # we are alive
        assert second.get_sweep(elsewhere).status is SweepStatus.RUNNING  # cannot tell
        stale = second.get_sweep(dead)
        assert stale.status is SweepStatus.ABORTED
        assert f"process {int(gone.stdout)}" in stale.note
        assert "was gone" in stale.note


@pytest.mark.parametrize("mode", ["pause", "free"])
def test_a_killed_sweep_leaves_a_consistent_registry(url: str, mode: str) -> None:
    """SIGKILL a writer mid-sweep ("pause": inside an uncommitted batch, deterministically;
    "free": wherever it happens to be), then check what the next process finds."""
    before = [make_inventory(i, sweep=0) for i in range(60)]
    with Registry.open(url) as registry:
        previous = record_sweep(registry, before)

    proc = writer(url, mode, 60, 20, 1)
    lines = read_until(proc, "paused" if mode == "pause" else "committed 3")
    killed = SweepId(int(lines[0].split()[1]))
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    assert integrity(url) == "ok"
    assert sweep_status(url, killed) == "running"  # nobody was left to say otherwise
    with Registry.open(url) as registry:
        sweep = registry.get_sweep(killed)
        assert sweep.status is SweepStatus.ABORTED
        assert str(proc.pid) in sweep.note
        kept = registry.inventories(killed)
        # Whole batches only, and the counters agree with the rows.
        assert len(kept) == sweep.observation_count
        assert len(kept) % 20 == 0
        if mode == "pause":
            assert len(kept) == 40  # two batches committed; the third died uncommitted
        assert registry.latest_inventories() == {inv.target_id: inv for inv in before}
        assert [s.id for s, _ in registry.history("cam-0000")] == [previous]

        after = [make_inventory(i, sweep=2) for i in range(60)]
        new = record_sweep(registry, after)
        assert registry.get_sweep(new).status is SweepStatus.COMPLETE
        assert registry.latest_inventories() == {inv.target_id: inv for inv in after}
    assert integrity(url) == "ok"


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown", "cause"), [
    ("postgresql+psycopg://camfleet:s3cret@127.0.0.1:1/camfleet",
     "postgresql+psycopg://camfleet:***@127.0.0.1:1/camfleet", "OperationalError"),
    ("nosuchdb://camfleet:s3cret@db.example/camfleet",
     "nosuchdb://camfleet:***@db.example/camfleet", "Can't load plugin"),
    ("postgresql://camfleet:s3cret@db.example:port/camfleet",
     "postgresql://camfleet:***@db.example:port/camfleet", "not a database URL"),
    ("sqlite:///file:/nonexistent.sqlite?mode=ro&uri=true", "nonexistent.sqlite",
     "unable to open database file"),
])
def test_bad_url_names_the_url_and_the_cause(url: str, shown: str, cause: str) -> None:
    with pytest.raises(RegistryError) as caught:
        Registry.open(url)
    message = str(caught.value)
    assert shown in message
    assert cause in message
    assert "s3cret" not in message


def test_unusable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"directory .*/missing does not exist"):
        Registry.open(tmp_path / "missing" / "registry.sqlite")
    with pytest.raises(RegistryError, match="it is a directory"):
        Registry.open(tmp_path)
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("not a database " * 100)
    with pytest.raises(RegistryError, match=r"notes\.sqlite: DatabaseError: file is not a"):
        Registry.open(garbage)


def test_a_newer_schema_is_refused(url: str) -> None:
    Registry.open(url).close()
    raw(url, "INSERT INTO schema_version VALUES "
             f"({SCHEMA_VERSION + 1}, '2031-01-01 00:00:00', '9.0', 'x')")
    with pytest.raises(SchemaVersionError,
                       match=f"schema version {SCHEMA_VERSION + 1}, newer than the version "
                             f"{SCHEMA_VERSION}.*upgrade camfleet"):
        Registry.open(url)


def test_tables_of_unknown_origin_are_refused(url: str) -> None:
    raw(url, "CREATE TABLE sweeps (id INTEGER PRIMARY KEY)")
    with pytest.raises(RegistryError, match="not created by camfleet"):
        Registry.open(url)


def test_an_older_schema_is_migrated(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """How the next task will add tables: bump the version, add a step."""
    with Registry.open(url) as registry:
        record_sweep(registry, [make_inventory(0)])

    def add_notes(conn: object) -> None:
        assert hasattr(conn, "exec_driver_sql")
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY)")

    monkeypatch.setattr(_database, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(_schema.MIGRATIONS, SCHEMA_VERSION + 1, ("notes", add_notes))
    with Registry.open(url) as registry:
        assert registry.schema_version == SCHEMA_VERSION + 1
        assert len(registry.latest_inventories()) == 1
    assert query(url, "SELECT count(*) FROM notes") == [(0,)]
    assert [r[0] for r in query(url, "SELECT description FROM schema_version "
                                     "ORDER BY version")] == ["initial schema", "notes"]


def test_closed_registry_says_so(url: str) -> None:
    registry = Registry.open(url)
    registry.close()
    registry.close()
    with pytest.raises(RegistryError, match="is closed"):
        registry.sweeps()


# -- defaults and settings --------------------------------------------------------------------


def test_default_path_and_sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.chdir(tmp_path)
    with Registry.open() as registry:
        assert registry.schema_version == SCHEMA_VERSION
        assert registry.url == f"sqlite:///{tmp_path / DEFAULT_FILENAME}"
        with registry._engine.connect() as conn:  # the pragmas are per connection
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    assert (tmp_path / DEFAULT_FILENAME).is_file()
    with sqlite3.connect(tmp_path / DEFAULT_FILENAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # kept in the file


def test_in_memory_registry() -> None:
    with Registry.open("sqlite://") as registry:
        record_sweep(registry, [make_inventory(0)])
        assert list(registry.latest_inventories()) == ["cam-0000"]


def test_exports_exist() -> None:
    for name in devmgr.registry.__all__:
        assert hasattr(devmgr.registry, name), name


# -- concurrency and volume -------------------------------------------------------------------


def test_concurrent_and_sequential_writers(url: str, tmp_path: Path) -> None:
    # Three processes at once, on a database that does not exist yet: all create it, then
    # record the same 200 cameras, 10 per transaction. Their batches interleave (how much is
    # up to the scheduler and the database's locks); all must match devices without creating
    # duplicates.
    procs = start_together("tests.devmgr.registry._writer",
                           [[url, "complete", "200", "10", str(n)] for n in (1, 2, 3)],
                           tmp_path / "go")
    outs = finish(procs)
    # Then one more, after them.
    late = writer(url, "complete", 200, 10, 4)
    outs.append(late.communicate(timeout=60)[0])
    assert late.returncode == 0, outs

    assert integrity(url) == "ok"
    with Registry.open(url) as registry:
        sweeps = registry.sweeps()
        assert [(s.status, s.observation_count) for s in sweeps] == [
            (SweepStatus.COMPLETE, 200)] * 4
        assert sum(s.new_device_count for s in sweeps) == 200
        assert len(registry.devices()) == 200
        assert {d.serial for d in registry.devices()} == {serial_of(i) for i in range(200)}
        assert registry.latest_inventories() == {
            inv.target_id: inv for inv in (make_inventory(i, sweep=4) for i in range(200))}
    order = [row[0] for row in query(url, "SELECT sweep_id FROM observations ORDER BY id")]
    turns = sum(a != b for a, b in itertools.pairwise(order))
    print(f"\nconcurrent writers took turns {turns} times")


def test_recording_1000_inventories_in_one_batch(registry: Registry) -> None:
    """The batch path (what a city sweep uses) keeps one device per serial across sweeps.
    Its speed is measured by bench/registry_pg.py, not here."""
    for n in range(2):  # first sweep creates the devices, the second matches them
        sweep_id = registry.begin_sweep("inventory")
        registry.record_inventories(sweep_id, [make_inventory(i, sweep=n) for i in range(1000)])
        registry.finish_sweep(sweep_id)
    assert len(registry.latest_inventories()) == 1000
