"""The audit log's table: append-only, hash-chained, verified in one read snapshot.

Regulation Art. 15, 16(3): register who retrieved what, when, how, for what purpose and
where it went; Art. 20 (2): records must not be altered or destroyed. The values and the
chain are defined in ``_audit``; this module writes and reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, insert, select, type_coerce

from devmgr.registry._audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    Retrieval,
    entry_hash,
)
from devmgr.registry._database import Database, utc_now
from devmgr.registry._schema import AuditLogRow


class AuditLog(Database):
    """Appending to the audit log and checking it.

    Append-only: there is deliberately no method to change or remove an entry.
    """

    def log_retrieval(self, *, who: str, how: str, purpose: str, destination: str,
                      target_id: str | None, address: str, what: str,
                      sweep_id: int | None = None, at: datetime | None = None) -> AuditEntry:
        """Register one retrieval (a snapshot, a configuration read) and return its entry.

        ``at`` None: now (UTC). One write transaction reads the last entry's hash and appends
        the new entry, so concurrent writers (threads, processes) never fork the chain.
        Raises ValueError for an empty field or a naive ``at``; RegistryError if the database
        refuses (e.g. an unknown ``sweep_id``).
        """
        return self.log_retrievals([Retrieval(
            who=who, how=how, purpose=purpose, destination=destination, target_id=target_id,
            address=address, what=what, sweep_id=sweep_id, at=at)])[0]

    def log_retrievals(self, retrievals: Iterable[Retrieval]) -> list[AuditEntry]:
        """Register several retrievals in one transaction (all or none), in the order given."""
        items = list(retrievals)
        for item in items:
            if not isinstance(item, Retrieval):
                raise TypeError(f"log_retrievals takes Retrieval values, not {item!r}")
        if not items:
            return []
        with self._session("append to the audit log", write=True) as s:
            # Appenders take turns (readers never wait): the last entry read below is still
            # the last when this transaction commits. An advisory lock, which the restricted
            # role (INSERT and SELECT on audit_log only) may take; the primary key on seq and
            # the unique prev_hash would refuse a fork even from a writer that skipped it.
            self._lock(s, "audit_log")
            last = s.execute(select(AuditLogRow.seq, AuditLogRow.hash)
                             .order_by(AuditLogRow.seq.desc()).limit(1)).first()
            seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS_HASH)
            now = utc_now()
            entries: list[AuditEntry] = []
            for item in items:
                seq += 1
                at = (item.at or now).astimezone(UTC)
                fields: dict[str, Any] = {
                    "seq": seq, "at": at, "who": item.who, "how": item.how,
                    "purpose": item.purpose, "destination": item.destination,
                    "target_id": item.target_id, "address": item.address, "what": item.what,
                    "sweep_id": item.sweep_id, "prev_hash": prev}
                prev = entry_hash(**fields)
                entries.append(AuditEntry(**fields, hash=prev))
            s.execute(insert(AuditLogRow), [
                {"seq": e.seq, "at": e.at, "who": e.who, "how": e.how, "purpose": e.purpose,
                 "destination": e.destination, "target_id": e.target_id,
                 "address": e.address, "what": e.what, "sweep_id": e.sweep_id,
                 "prev_hash": e.prev_hash, "hash": e.hash} for e in entries])
        return entries

    def audit_entries(self, target_id: str | None = None, *, since: datetime | None = None,
                      limit: int | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first (by seq): of one target, at or after ``since`` (aware);
        ``limit``: only the newest ``limit`` of those."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime (use datetime.now(UTC))")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be at least 0, not {limit}")
        query = select(AuditLogRow).order_by(AuditLogRow.seq.desc()).limit(limit)
        if target_id is not None:
            query = query.where(AuditLogRow.target_id == target_id)
        if since is not None:
            query = query.where(AuditLogRow.at >= since)
        with self._session("read the audit log") as s:
            rows = list(s.scalars(query))
        return [_to_audit_entry(row) for row in reversed(rows)]

    def stored_audit_entry(self, seq: int) -> dict[str, object] | None:
        """Entry ``seq`` exactly as the database holds it (timestamp as stored), to show an
        entry verification found altered; None if there is none."""
        with self._session(f"read audit entry {seq}") as s:
            row = s.execute(select(*_AUDIT_COLUMNS).where(AuditLogRow.seq == seq)).first()
        return None if row is None else dict(row._mapping)

    def verify_audit_log(self, *, expected_head: tuple[int, str] | None = None,
                         ) -> AuditVerification:
        """Recompute the whole chain, in one read snapshot; stop at the first problem.

        Finds an edited entry (hash mismatch), a deleted one (gap in seq), a replaced or
        reordered one (broken link). ``expected_head`` ``(seq, hash)``, e.g. from an earlier
        verification kept in a report: that entry must still exist unchanged, which also
        catches deleted *last* entries and a chain rewritten from some point on.
        """
        checked, expected_seq, prev = 0, 1, GENESIS_HASH
        head_hash: dict[int, str] = {}
        query = select(*_AUDIT_COLUMNS).order_by(AuditLogRow.seq)
        with self._session("verify the audit log") as s:
            for row in s.execute(query.execution_options(yield_per=1000)):
                checked += 1
                bad = _check_row(row, expected_seq, prev)
                if bad is not None:
                    seq, problem, detail = bad
                    return AuditVerification(ok=False, entries_checked=checked,
                                             first_bad_seq=seq, problem=problem,
                                             detail=detail, head_seq=expected_seq - 1,
                                             head_hash=prev)
                if expected_head is not None and row.seq == expected_head[0]:
                    head_hash[row.seq] = row.hash
                expected_seq, prev = row.seq + 1, row.hash
        if expected_head is not None:
            want_seq, want_hash = expected_head
            if head_hash.get(want_seq) != want_hash:
                found = (f"has hash {head_hash[want_seq]}" if want_seq in head_hash
                         else f"is missing (the log ends at seq {expected_seq - 1})")
                return AuditVerification(
                    ok=False, entries_checked=checked, first_bad_seq=want_seq,
                    problem=AuditProblem.HEAD_MISMATCH,
                    detail=f"expected entry {want_seq} with hash {want_hash}; it {found}",
                    head_seq=expected_seq - 1, head_hash=prev)
        return AuditVerification(ok=True, entries_checked=checked, head_seq=expected_seq - 1,
                                 head_hash=prev)


# Read raw (the timestamp as the database holds it), so that a row edited into something
# unparseable is reported as altered rather than failing the verification.
_AUDIT_COLUMNS = [c.label(c.name) for c in AuditLogRow.__table__.columns
                  if c.name != "at"] + [type_coerce(AuditLogRow.at, String).label("at")]


def _raw_at(value: object) -> datetime | None:
    """A stored timestamp (SQLite: text; other backends: naive UTC datetime) as aware UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return None


def _check_row(row: Any, expected_seq: int, prev: str,
               ) -> tuple[int, AuditProblem, str] | None:
    if row.seq != expected_seq:
        missing = (f"{expected_seq}" if row.seq == expected_seq + 1
                   else f"{expected_seq}..{row.seq - 1}")
        return (expected_seq, AuditProblem.SEQ_GAP,
                f"seq {missing} missing: entry {row.seq} follows entry {expected_seq - 1} "
                "(deleted entries)")
    at = _raw_at(row.at)
    actual = None if at is None else entry_hash(
        seq=row.seq, at=at, who=row.who, how=row.how, purpose=row.purpose,
        destination=row.destination, target_id=row.target_id, address=row.address,
        what=row.what, sweep_id=row.sweep_id, prev_hash=row.prev_hash)
    if actual != row.hash:
        why = ("its timestamp is unreadable" if at is None
               else f"its fields hash to {actual}, not the stored {row.hash}")
        return (row.seq, AuditProblem.HASH_MISMATCH,
                f"entry {row.seq} was altered after it was written: {why}")
    if row.prev_hash != prev:
        return (row.seq, AuditProblem.BROKEN_LINK,
                f"entry {row.seq} links to {row.prev_hash}, but the entry before it "
                f"({'genesis' if expected_seq == 1 else expected_seq - 1}) has hash {prev} "
                "(an entry replaced, reordered or removed)")
    return None


def _to_audit_entry(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(seq=row.seq, at=row.at, who=row.who, how=row.how, purpose=row.purpose,
                      destination=row.destination, target_id=row.target_id,
                      address=row.address, what=row.what, sweep_id=row.sweep_id,
                      prev_hash=row.prev_hash, hash=row.hash)
