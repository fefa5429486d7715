"""Moving a registry to another database: an embedded SQLite registry into the city's
PostgreSQL, row for row.

Every table is copied in foreign-key order with its primary keys, so sweeps, devices and
observations keep pointing at each other and the audit log keeps its sequence numbers and
hashes: its chain verifies in the new database exactly as in the old. The destination must be
empty (a new database, or one only opened); the copy is one transaction there, so a failed
move leaves it empty again. The source is only read. The move itself is a retrieval of
everything the registry holds (snapshots included), so it is appended to the destination's
audit log, after the copied entries, naming who moved it and where from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, Table, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from devmgr.registry._audit import Retrieval
from devmgr.registry._database import Database, cause
from devmgr.registry._errors import RegistryError
from devmgr.registry._schema import Base, SchemaVersionRow
from devmgr.registry._store import Registry

#: Rows read and written per round trip (snapshots are JPEGs of up to a few MB each).
COPY_BATCH = 500


@dataclass(frozen=True)
class Moved:
    """What a move copied: rows per table, and the audit log's head in the destination."""

    rows: dict[str, int]
    head_seq: int | None
    head_hash: str | None


def copy_rows(source: Database, dest: Database,
              progress: Callable[[str, int], None] = lambda table, rows: None) -> dict[str, int]:
    """Copy every table of ``source`` into the empty ``dest`` (same schema version: both are
    open, so both are at this camfleet's). Returns rows copied per table."""
    tables = [t for t in Base.metadata.sorted_tables
              if t.name != SchemaVersionRow.__tablename__]
    copied: dict[str, int] = {}
    try:
        with source._engine.connect() as src, dest._writer.connect() as dst, dst.begin():
            dest._lock(dst, "schema", "audit_log")
            occupied = [t.name for t in tables if dst.scalar(select(func.count()).select_from(t))]
            if occupied:
                raise RegistryError(f"registry {dest.url} is not empty ({', '.join(occupied)} "
                                    "have rows): move into a new database")
            for table in tables:
                copied[table.name] = _copy_table(src, dst, table, progress)
            if dst.dialect.name == "postgresql":
                _advance_sequences(dst, tables)
    except SQLAlchemyError as exc:
        raise RegistryError(f"cannot move registry {source.url} to {dest.url}: "
                            f"{cause(exc)}") from exc
    return copied


def _copy_table(src: Connection, dst: Connection, table: Table,
                progress: Callable[[str, int], None]) -> int:
    order = list(table.primary_key.columns)
    count = 0
    result = src.execution_options(stream_results=True).execute(
        select(table).order_by(*order))
    for batch in result.mappings().partitions(COPY_BATCH):
        dst.execute(insert(table), [dict(row) for row in batch])
        count += len(batch)
        progress(table.name, count)
    return count


def _advance_sequences(dst: Connection, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from a sequence, which rows inserted with their ids do not
    move: set each to the highest id copied, so the next row gets the next id."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) \
                or keys[0].autoincrement is False:
            continue  # no sequence behind it (the audit log numbers its entries itself)
        dst.execute(text(
            "SELECT setval(seq, COALESCE((SELECT MAX(" + keys[0].name + ") FROM "
            + table.name + "), 0) + 1, false) FROM pg_get_serial_sequence(:table, :column) "
            "AS seq WHERE seq IS NOT NULL"), {"table": table.name, "column": keys[0].name})


def move_registry(source: Registry, dest: Registry, *, who: str,
                  progress: Callable[[str, int], None] = lambda table, rows: None) -> Moved:
    """Copy ``source`` into the empty ``dest``, check that the audit log arrived whole (same
    head, and its chain verifies there), and log the move in ``dest``'s audit log."""
    before = source.verify_audit_log()
    if not before.ok:
        raise RegistryError(f"registry {source.url}: its audit log does not verify "
                            f"(entry {before.first_bad_seq}: {before.detail}); not moved. "
                            "Run devmgr registry verify on it")
    # The move's own entry, checked before anything is copied (``what`` is filled in after).
    entry = Retrieval(who=who, how="devmgr registry migrate",
                      purpose="moving the registry to another database",
                      destination=dest.url, target_id=None, address=source.url,
                      what=f"every record of {source.url}")
    rows = copy_rows(source, dest, progress)
    expected = (before.head_seq, before.head_hash) if before.head_seq else None
    after = dest.verify_audit_log(expected_head=expected)
    if not after.ok:
        raise RegistryError(f"registry {dest.url}: the audit log copied from {source.url} "
                            f"does not verify there (entry {after.first_bad_seq}: "
                            f"{after.detail})")
    [logged] = dest.log_retrievals([dataclasses.replace(entry, what=f"{entry.what}: " + ", ".join(
        f"{n} {t}" for t, n in rows.items() if n))])
    return Moved(rows, logged.seq, logged.hash)
