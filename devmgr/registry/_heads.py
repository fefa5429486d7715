"""PTZ heads: one run drives a head at a time (a lease), and where each head was before a run
moved it (its origin), so that a run killed mid-way does not leave it displaced for good.

**Leases.** One row per head (``key``: ``serial:<serial>``, else ``onvif:<device URL>``). A
run may take a head's lease when nobody holds it, when its holder released it or let it
expire (the holder renews it well before ``expires_at``: a heartbeat), or when its holder ran
on this host and is gone (pid + start time, as for sweeps); a holder on another host that
stopped renewing is waited out. Taking, renewing and releasing are each one transaction,
serialized per head (an advisory lock on PostgreSQL, the write lock on SQLite), and expiry
is judged by the database's clock, so machines with skewed clocks still agree.

**Origins.** Before its first move, the lease holder records (and commits) where the head
is. The run that moved it marks the origin restored once the head is back; an origin left
unrestored was left by a run that died or lost its head, and the next holder of the lease
puts the head back there first (``devmgr.compliance.heads``, ``devmgr ptz restore``).

    lease = registry.acquire_lease("serial:DS-1", purpose="audit sweep 12")
    origin = registry.record_origin(lease, target_id="gate-1", address="10.0.0.5",
                                    device_url=url, profile="Profile_1", position=start)
    ...                                        # move, snapshot, move back
    registry.mark_restored([origin.id], note="put back by its own run")
    registry.release_lease(lease)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from camfleet.model import PtzVector
from devmgr.registry._database import Database, utc_now
from devmgr.registry._process import ProcessIdentity, is_running
from devmgr.registry._schema import PtzLeaseRow, PtzOriginRow

__all__ = ["DEFAULT_LEASE_TTL_S", "HeadRecords", "Lease", "LeaseHeld", "LeaseLost", "Origin"]

#: How long a lease lasts without renewal: how long a head stays blocked after its holder
#: died on another machine (on this one, a dead holder is noticed at once).
DEFAULT_LEASE_TTL_S = 60.0


@dataclass(frozen=True, slots=True)
class Lease:
    """A run's right to drive one head, until ``expires_at`` unless renewed."""

    key: str
    #: This holding (new for every acquisition).
    token: str
    purpose: str
    sweep_id: int | None
    host: str
    pid: int
    os_user: str
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        """Who holds it, for messages: purpose, process, user, since when."""
        return (f"{self.purpose} (pid {self.pid} on {self.host}, user {self.os_user}, "
                f"since {self.acquired_at:%Y-%m-%d %H:%M:%S}Z)")


class LeaseHeld(Exception):
    """Another run holds the head's lease: ``holder`` says who, and until when."""

    def __init__(self, holder: Lease) -> None:
        super().__init__(f"the head {holder.key} is driven by {holder.describe()}, lease until "
                         f"{holder.expires_at:%H:%M:%S}Z")
        self.holder = holder


class LeaseLost(Exception):
    """The lease expired and another run took the head over (or it was released)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a head was before a run moved it."""

    id: int
    key: str
    target_id: str | None
    address: str
    device_url: str
    profile: str
    position: PtzVector
    recorded_at: datetime
    sweep_id: int | None
    #: Who moved it (``Lease.describe`` of the lease it was moved under).
    holder: str
    lease_token: str
    restored_at: datetime | None
    restored_note: str


def _to_lease(row: PtzLeaseRow) -> Lease:
    return Lease(key=row.key, token=row.token, purpose=row.purpose, sweep_id=row.sweep_id,
                 host=row.host, pid=row.pid, os_user=row.os_user, acquired_at=row.acquired_at,
                 expires_at=row.expires_at)


def _to_origin(row: PtzOriginRow) -> Origin:
    return Origin(id=row.id, key=row.key, target_id=row.target_id, address=row.address,
                  device_url=row.device_url, profile=row.profile,
                  position=PtzVector(pan=row.pan, tilt=row.tilt, zoom=row.zoom),
                  recorded_at=row.recorded_at, sweep_id=row.sweep_id, holder=row.holder,
                  lease_token=row.lease_token, restored_at=row.restored_at,
                  restored_note=row.restored_note)


def _free(row: PtzLeaseRow, now: datetime, me: ProcessIdentity) -> bool:
    """Whether nobody holds the head any more (released, expired, or its holder is gone)."""
    if row.released_at is not None or row.expires_at <= now:
        return True
    return row.host == me.host and not is_running(row.pid, row.process_token)


def _restore(s: Session, origin_ids: Sequence[int], note: str) -> None:
    if origin_ids:
        s.execute(update(PtzOriginRow)
                  .where(PtzOriginRow.id.in_(list(origin_ids)), PtzOriginRow.restored_at.is_(None))
                  .values(restored_at=utc_now(), restored_note=note))


class HeadRecords(Database):
    """PTZ leases and origins (see the module docstring)."""

    def _now(self, s: Session) -> datetime:
        """The database's clock (PostgreSQL), so that every machine judges expiry alike."""
        if self._engine.dialect.name == "postgresql":
            now = s.scalar(select(func.clock_timestamp()))
            assert isinstance(now, datetime)
            return now.astimezone(UTC)
        return utc_now()

    def acquire_lease(self, key: str, *, purpose: str, sweep_id: int | None = None,
                      ttl_s: float = DEFAULT_LEASE_TTL_S) -> Lease:
        """Take the head's lease, or raise :class:`LeaseHeld` naming its holder (no waiting:
        the caller decides how long to try again)."""
        if not key or not purpose:
            raise ValueError("a lease needs a head key and a purpose")
        me = ProcessIdentity.current()
        with self._session(f"take the lease on {key}", write=True) as s:
            self._lock(s, f"lease {key}")  # takers of one head take turns
            now = self._now(s)
            row = s.get(PtzLeaseRow, key)
            if row is not None and not _free(row, now, me):
                raise LeaseHeld(_to_lease(row))
            if row is None:
                row = PtzLeaseRow(key=key)
                s.add(row)
            row.token, row.purpose, row.sweep_id = str(uuid.uuid4()), purpose, sweep_id
            row.host, row.pid, row.process_token, row.os_user = me.host, me.pid, me.token, me.user
            row.acquired_at, row.expires_at = now, now + timedelta(seconds=ttl_s)
            row.released_at = None
            s.flush()
            return _to_lease(row)

    def renew_lease(self, lease: Lease, *, ttl_s: float = DEFAULT_LEASE_TTL_S) -> Lease:
        """Extend the lease (the holder's heartbeat); :class:`LeaseLost` if it is gone."""
        with self._session(f"renew the lease on {lease.key}", write=True) as s:
            self._lock(s, f"lease {lease.key}")
            row = s.get(PtzLeaseRow, lease.key)
            if row is None or row.token != lease.token or row.released_at is not None:
                taker = f": {_to_lease(row).describe()} took it" if row is not None else ""
                raise LeaseLost(f"the lease on {lease.key} was lost{taker}")
            row.expires_at = self._now(s) + timedelta(seconds=ttl_s)
            s.flush()
            return _to_lease(row)

    def release_lease(self, lease: Lease, *, restored: Sequence[int] = (),
                      note: str = "") -> None:
        """Give the head up (nothing happens if the lease was lost meanwhile); in the same
        transaction, mark the origins ``restored`` (the head is back), as
        :meth:`mark_restored` does."""
        with self._session(f"release the lease on {lease.key}", write=True) as s:
            now = self._now(s)
            s.execute(update(PtzLeaseRow)
                      .where(PtzLeaseRow.key == lease.key, PtzLeaseRow.token == lease.token)
                      .values(released_at=now, expires_at=now))
            _restore(s, restored, note)

    def lease_holder(self, key: str) -> Lease | None:
        """Who holds the head's lease now (None: nobody)."""
        me = ProcessIdentity.current()
        with self._session(f"read the lease on {key}") as s:
            row = s.get(PtzLeaseRow, key)
            return None if row is None or _free(row, self._now(s), me) else _to_lease(row)

    # -- origins --------------------------------------------------------------------------------

    def record_origin(self, lease: Lease, *, target_id: str | None, address: str,
                      device_url: str, profile: str, position: PtzVector) -> Origin:
        """Where the head is, committed before the holder of ``lease`` moves it."""
        with self._session(f"record where {lease.key} was", write=True) as s:
            row = PtzOriginRow(
                key=lease.key, target_id=target_id, address=address, device_url=device_url,
                profile=profile, pan=position.pan, tilt=position.tilt, zoom=position.zoom,
                recorded_at=utc_now(), sweep_id=lease.sweep_id, lease_token=lease.token,
                holder=lease.describe(), restored_at=None, restored_note="")
            s.add(row)
            s.flush()
            return _to_origin(row)

    def mark_restored(self, origin_ids: Sequence[int], *, note: str) -> None:
        """The heads of these origins are back where they were."""
        if origin_ids:
            with self._session("mark heads restored", write=True) as s:
                _restore(s, origin_ids, note)

    def displaced(self, key: str | None = None) -> list[Origin]:
        """Origins not restored (of one head, or of all), oldest first. For a head whose
        lease the caller holds, these were left by runs that died or lost the head: the
        oldest is where the head belongs."""
        query = (select(PtzOriginRow).where(PtzOriginRow.restored_at.is_(None))
                 .order_by(PtzOriginRow.id))
        if key is not None:
            query = query.where(PtzOriginRow.key == key)
        with self._session("read displaced heads") as s:
            return [_to_origin(row) for row in s.scalars(query)]

    def origins(self, key: str) -> list[Origin]:
        """Every origin of one head, restored or not, oldest first (its history)."""
        query = select(PtzOriginRow).where(PtzOriginRow.key == key).order_by(PtzOriginRow.id)
        with self._session(f"read the origins of {key}") as s:
            return [_to_origin(row) for row in s.scalars(query)]
