"""``devmgr registry migrate``: an embedded SQLite registry moved into PostgreSQL, as a site
joining the city does. Nothing is lost, ids and the audit log's chain arrive unchanged, and
the new database goes on from where the old one stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.compliance.model import CameraAudit
from devmgr.filings.model import FilingRecord
from devmgr.registry import Registry
from devmgr.registry._schema import Base, SchemaVersionRow
from tests.devmgr.filings.factory import make_record
from tests.devmgr.registry.factories import make_inventory
from tests.devmgr.registry.test_audit_log import drop_triggers, fill
from tests.postgres import fresh_schema, raw

runner = CliRunner()
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"


def populate(registry: Registry) -> None:
    """A site's registry after a few weeks: sweeps, devices, filings, a snapshot, an audit
    result and a hash-chained audit log."""
    for sweep_no in range(3):
        with registry.sweep("inventory") as sweep:
            registry.record_inventories(sweep, [make_inventory(i, sweep=sweep_no)
                                                for i in range(5)])
    registry.put_filings([(f"4201000000132000000{i}", make_record(f"4201000000132000000{i}"))
                          for i in range(3)], source="catalog.xml")
    registry.put_snapshot(JPEG)
    with registry.sweep("audit") as sweep:
        registry.record_audit_results(sweep, [("cam", "compliant",
                                               CameraAudit(camera="cam", status="compliant"))])
    fill(registry, 7)


def counts(url: str) -> dict[str, int]:
    with Registry.open(url) as registry, registry._engine.connect() as conn:
        return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables if t.name != SchemaVersionRow.__tablename__}


def migrate(source: str, dest: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["registry", "migrate", "--registry", source, "--to", dest,
                                 "--operator", "dba", *args])
    return result.exit_code, result.output


@pytest.fixture
def site(tmp_path: Path) -> str:
    path = str(tmp_path / "site.sqlite")
    with Registry.open(path) as registry:
        populate(registry)
    return path


def test_a_site_registry_moves_into_postgresql_whole(site: str) -> None:
    before = counts(site)
    with Registry.open(site) as registry:
        head = registry.verify_audit_log()
        filings = registry.filings(FilingRecord)
        devices = registry.devices()
        last_sweep = max(sweep.id for sweep in registry.sweeps())
    with fresh_schema() as city:
        code, output = migrate(site, city)
        assert code == 0, output
        after = counts(city)
        assert after == {**before, "audit_log": before["audit_log"] + 1}, output
        with Registry.open(city) as moved:
            # The chain arrived whole: the old head is still there, unchanged; the move
            # itself is the next entry, by the operator, naming where it came from.
            check = moved.verify_audit_log(expected_head=(head.head_seq, head.head_hash))
            assert check.ok
            assert check.entries_checked == head.entries_checked + 1
            last = moved.audit_entries()[-1]
            assert (last.who, last.how) == ("dba", "devmgr registry migrate")
            assert "site.sqlite" in last.what
            assert "5 devices" in last.what
            assert moved.filings(FilingRecord) == filings
            assert moved.devices() == devices
            assert moved.snapshot(moved.put_snapshot(JPEG)) == JPEG  # already there
            # And it goes on: new sweeps and entries follow the copied ones.
            with moved.sweep("audit") as sweep:
                assert sweep == last_sweep + 1
            fill(moved, 2)
            assert moved.verify_audit_log().ok
        assert f"keep --expected-head {head.head_seq + 1}:" in output
    assert counts(site) == before  # the source is left as it was


def test_a_database_that_is_not_empty_is_refused_and_left_alone(site: str,
                                                                tmp_path: Path) -> None:
    other = str(tmp_path / "other.sqlite")
    with Registry.open(other) as registry:
        fill(registry, 2)
    code, output = migrate(site, other)
    assert code == 2
    assert "is not empty (audit_log have rows)" in output.replace("\n", " ")
    assert counts(other)["audit_log"] == 2
    assert counts(other)["devices"] == 0


def test_a_registry_whose_audit_log_is_broken_is_not_moved(site: str, tmp_path: Path) -> None:
    raw(site, *drop_triggers(site), "UPDATE audit_log SET who = 'nobody' WHERE seq = 3")
    dest = str(tmp_path / "dest.sqlite")
    code, output = migrate(site, dest)
    assert code == 2
    assert "does not verify" in output
    assert "entry 3" in output
    assert set(counts(dest).values()) == {0}


def test_moving_onto_itself_is_refused(site: str) -> None:
    code, output = migrate(site, site)
    assert code == 2
    assert "is the registry itself" in output
