"""Observations: each camera seen in a sweep, matched to the physical unit behind it.

An observation keeps the full ``Inventory`` or ``DiscoveredDevice`` as JSON, plus the
columns the queries need; a device is matched across sweeps by serial, else MAC. Only
*complete* sweeps count for "latest", history and changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.orm import Session

from camfleet.model import normalize_mac
from devmgr.inventory.model import DiscoveredDevice, Inventory
from devmgr.registry._changes import Change, changes_between
from devmgr.registry._codec import dump_model, load_model
from devmgr.registry._database import Database, utc_now
from devmgr.registry._records import Device, HistoryEntry, Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import DeviceRow, ObservationRow, SweepRow
from devmgr.registry._sweeps import kinds_of, to_sweep

#: Sweep kinds whose inventories count for latest/history/changes unless told otherwise.
INVENTORY_KINDS: tuple[SweepKind, ...] = (SweepKind.INVENTORY,)

_INVENTORY = "inventory"
_DISCOVERY = "discovery"
# Stay under every backend's bound-parameter limit (SQLite's was 999 before 3.32).
_IN_CHUNK = 500

T = TypeVar("T")



def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk



@dataclass(frozen=True, slots=True)
class _Record:
    """One observation, flattened and serialized before the write transaction begins."""

    kind: str
    target_id: str | None
    address: str
    collected_at: datetime
    reachable: bool
    error_kinds: str
    serial: str | None
    mac: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    clock_offset_s: float | None
    payload: str

    @classmethod
    def of_inventory(cls, inv: Inventory) -> _Record:
        device, snmp = inv.device, inv.snmp
        collected_at = inv.collected_at
        if collected_at.tzinfo is None:
            collected_at = collected_at.replace(tzinfo=UTC)  # the collectors write UTC
        return cls(
            kind=_INVENTORY, target_id=inv.target_id, address=inv.address,
            collected_at=collected_at, reachable=inv.reachable,
            error_kinds=",".join(sorted(inv.error_kinds)),
            serial=((device.serial if device else "") or (snmp.serial if snmp else "")).strip()
            or None,
            mac=inv.mac or (snmp.mac if snmp else None),
            manufacturer=(device.manufacturer if device else "") or (snmp.vendor if snmp else "")
            or None,
            model=(device.model if device else "") or (snmp.model if snmp else "") or None,
            firmware=(device.firmware if device else "") or None,
            clock_offset_s=inv.clock_offset_s, payload=dump_model(inv))

    @classmethod
    def of_discovery(cls, dev: DiscoveredDevice) -> _Record:
        snmp = dev.snmp
        return cls(
            kind=_DISCOVERY, target_id=None, address=dev.addresses[0] if dev.addresses else "",
            collected_at=utc_now(), reachable=True, error_kinds="",
            serial=(dev.serial or (snmp.serial if snmp else "")).strip() or None,
            mac=dev.mac or (snmp.mac if snmp else None),
            manufacturer=dev.vendor or None, model=dev.model or None, firmware=None,
            clock_offset_s=None, payload=dump_model(dev))


class _DeviceMatcher:
    """Finds the physical unit behind each observation of one batch: by serial, else by MAC.

    A replaced unit at the same address has another serial, hence becomes a new device; a unit
    that moved keeps its serial, hence its device. A unit first seen without a serial
    (WS-Discovery or SNMP gave only its MAC) is given its serial when an inventory finds it,
    rather than becoming a second device.
    """

    def __init__(self, session: Session, known: Iterable[DeviceRow]) -> None:
        self.session = session
        self.by_serial: dict[str, DeviceRow] = {}
        self.by_mac: dict[str, list[DeviceRow]] = {}
        self.created = 0
        for device in known:
            self._index(device)

    @classmethod
    def load(cls, session: Session, records: Sequence[_Record]) -> _DeviceMatcher:
        known: dict[int, DeviceRow] = {}
        for column, values in ((DeviceRow.serial, {r.serial for r in records if r.serial}),
                               (DeviceRow.mac, {r.mac for r in records if r.mac})):
            for chunk in _chunks(sorted(values), _IN_CHUNK):
                # populate_existing: loaded again after a lock, rows another recorder changed
                # meanwhile must show its changes, not this session's first reading.
                for device in session.scalars(select(DeviceRow).where(column.in_(chunk))
                                              .execution_options(populate_existing=True)):
                    known[device.id] = device
        return cls(session, sorted(known.values(), key=lambda d: d.id))

    def _index(self, device: DeviceRow) -> None:
        if device.serial and device.serial not in self.by_serial:
            self.by_serial[device.serial] = device
        if device.mac:
            same_mac = self.by_mac.setdefault(device.mac, [])
            if device not in same_mac:
                same_mac.append(device)

    @staticmethod
    def _latest(devices: Iterable[DeviceRow]) -> DeviceRow | None:
        return max(devices, key=lambda d: (d.last_seen, d.id), default=None)

    def find(self, record: _Record) -> DeviceRow | None:
        """The known device ``record`` is of (None: a new one, or nothing identifies it)."""
        serial, mac = record.serial, record.mac
        if serial:
            device = self.by_serial.get(serial)
            if device is None and mac:
                device = self._latest(d for d in self.by_mac.get(mac, ()) if not d.serial)
            return device
        return self._latest(self.by_mac.get(mac or "", ()))

    def changes_identity(self, record: _Record) -> bool:
        """Whether matching ``record`` creates a device or gives one its serial."""
        if not record.serial and not record.mac:
            return False
        device = self.find(record)
        return device is None or bool(record.serial and not device.serial)

    def match(self, record: _Record) -> DeviceRow | None:
        serial, mac, seen = record.serial, record.mac, record.collected_at
        if not serial and not mac:
            return None  # nothing identifies the unit (unreachable, refused credentials)
        device = self.find(record)
        if device is None:
            device = DeviceRow(serial=serial, mac=mac, first_seen=seen, last_seen=seen)
            self.session.add(device)
            self.created += 1
        else:
            if serial and not device.serial:
                device.serial = serial
            if mac and device.mac != mac:
                device.mac = mac  # the unit's current MAC; observations keep the old one
            device.first_seen = min(device.first_seen, seen)
            device.last_seen = max(device.last_seen, seen)
        self._index(device)
        return device



class Observations(Database):
    """Recording what each sweep saw, and reading it back."""

    def record_inventory(self, sweep_id: SweepId, inv: Inventory) -> None:
        """Record one inventory (one transaction; prefer :meth:`record_inventories`)."""
        self.record_inventories(sweep_id, [inv])

    def record_inventories(self, sweep_id: SweepId, invs: Iterable[Inventory], *,
                           batch_size: int | None = None) -> int:
        """Record inventories into a running sweep, ``batch_size`` per transaction; returns
        how many. A crash loses at most the batch in flight; the sweep stays running."""
        return self._record(sweep_id, (_Record.of_inventory(i) for i in invs), batch_size)

    def record_discovery(self, sweep_id: SweepId, dev: DiscoveredDevice) -> None:
        self.record_discoveries(sweep_id, [dev])

    def record_discoveries(self, sweep_id: SweepId, devs: Iterable[DiscoveredDevice], *,
                           batch_size: int | None = None) -> int:
        return self._record(sweep_id, (_Record.of_discovery(d) for d in devs), batch_size)

    def _record(self, sweep_id: SweepId, records: Iterable[_Record],
                batch_size: int | None) -> int:
        total = 0
        # Serialization happens as each chunk is built, before its transaction: the write
        # lock is held only for the database work.
        for batch in _chunks(records, batch_size or self.batch_size):
            with self._session(f"record into sweep {sweep_id}", write=True) as s:
                self._write_batch(s, sweep_id, batch)
            total += len(batch)
        return total

    def _write_batch(self, s: Session, sweep_id: SweepId, records: Sequence[_Record]) -> None:
        self._running_sweep(s, sweep_id)
        matcher = _DeviceMatcher.load(s, records)
        # Matching reads the devices, then creates one or gives one its serial: two
        # recorders seeing a new unit at once must take turns, or both would create it (the
        # unique indexes would refuse the second). Only batches that change identities take
        # the lock, so once a fleet is known, recorders never wait for each other.
        if any(matcher.changes_identity(r) for r in records) and self._lock(s, "devices"):
            matcher = _DeviceMatcher.load(s, records)  # what the last lock holder created
        devices = [matcher.match(r) for r in records]
        s.flush()  # gives the new devices their ids
        s.execute(insert(ObservationRow), [
            {"sweep_id": sweep_id, "device_id": device.id if device else None,
             "kind": r.kind, "target_id": r.target_id, "address": r.address,
             "collected_at": r.collected_at, "reachable": r.reachable,
             "error_kinds": r.error_kinds, "serial": r.serial, "mac": r.mac,
             "manufacturer": r.manufacturer, "model": r.model, "firmware": r.firmware,
             "clock_offset_s": r.clock_offset_s, "payload": r.payload}
            for r, device in zip(records, devices, strict=True)])
        # Increments in SQL, not read-modify-write: safe even if two processes feed one sweep.
        s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(
            observation_count=SweepRow.observation_count + len(records),
            unreachable_count=SweepRow.unreachable_count
            + sum(1 for r in records if not r.reachable),
            new_device_count=SweepRow.new_device_count + matcher.created))

    # -- reading --------------------------------------------------------------------------

    def observed_targets(self, sweep_id: SweepId, target_id: str | None = None) -> set[str]:
        """The target ids with an observation in a sweep (only ``target_id``'s, if given):
        a coordinator's progress, and a collector's "done already"."""
        query = select(ObservationRow.target_id).where(ObservationRow.sweep_id == sweep_id)
        if target_id is not None:
            query = query.where(ObservationRow.target_id == target_id)
        with self._session(f"read the targets observed in sweep {sweep_id}") as s:
            return set(s.scalars(query))

    def inventories(self, sweep_id: SweepId) -> list[Inventory]:
        """The inventories recorded in one sweep (any status), in recording order."""
        return self._payloads(sweep_id, _INVENTORY, Inventory)

    def discoveries(self, sweep_id: SweepId) -> list[DiscoveredDevice]:
        return self._payloads(sweep_id, _DISCOVERY, DiscoveredDevice)

    def _payloads(self, sweep_id: SweepId, kind: str, cls: type[Any]) -> list[Any]:
        query = (select(ObservationRow.payload)
                 .where(ObservationRow.sweep_id == sweep_id, ObservationRow.kind == kind)
                 .order_by(ObservationRow.id))
        with self._session(f"read sweep {sweep_id}") as s:
            payloads = list(s.scalars(query))
        return [load_model(cls, p) for p in payloads]

    def latest_inventories(self, *, kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                           ) -> dict[str, Inventory]:
        """target id -> its inventory from the latest *complete* sweep of ``kinds`` that has it.

        Sweeps still running or aborted are never "latest", so a crashed sweep cannot hide the
        last whole picture. "Latest" is the most recently *begun* sweep.
        """
        newest = (select(ObservationRow.target_id,
                         func.max(ObservationRow.sweep_id).label("sweep_id"))
                  .join(SweepRow, SweepRow.id == ObservationRow.sweep_id)
                  .where(SweepRow.status == SweepStatus.COMPLETE,
                         SweepRow.kind.in_(kinds_of(kinds)), ObservationRow.kind == _INVENTORY)
                  .group_by(ObservationRow.target_id)
                  .subquery())
        query = (select(ObservationRow.target_id, ObservationRow.payload)
                 .join(newest, and_(ObservationRow.target_id == newest.c.target_id,
                                    ObservationRow.sweep_id == newest.c.sweep_id))
                 .where(ObservationRow.kind == _INVENTORY)
                 # A target recorded twice in one sweep: the later record wins.
                 .order_by(ObservationRow.target_id, ObservationRow.id))
        with self._session("read the latest inventories") as s:
            rows = s.execute(query).all()
        return {row.target_id: load_model(Inventory, row.payload) for row in rows}

    def history(self, target_id: str | None = None, *, serial: str | None = None,
                kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                include_incomplete: bool = False) -> list[HistoryEntry]:
        """Inventories of one target, or of one physical unit (``serial``, wherever it was),
        oldest first, as ``(sweep, inventory)``. Only complete sweeps unless
        ``include_incomplete``."""
        if (target_id is None) == (serial is None):
            raise ValueError("give either target_id or serial")
        which: ColumnElement[bool]
        if target_id is not None:
            which = ObservationRow.target_id == target_id
        else:
            which = ObservationRow.device_id.in_(
                select(DeviceRow.id).where(DeviceRow.serial == serial))
        query = (select(SweepRow, ObservationRow.payload)
                 .join(ObservationRow, ObservationRow.sweep_id == SweepRow.id)
                 .where(which, ObservationRow.kind == _INVENTORY,
                        SweepRow.kind.in_(kinds_of(kinds)))
                 .order_by(SweepRow.id, ObservationRow.id))
        if not include_incomplete:
            query = query.where(SweepRow.status == SweepStatus.COMPLETE)
        with self._session("read history") as s:
            rows = s.execute(query).all()
        sweeps: dict[int, Sweep] = {}
        return [HistoryEntry(sweeps.setdefault(row_sweep.id, to_sweep(row_sweep)),
                             load_model(Inventory, payload))
                for row_sweep, payload in rows]

    def changes(self, target_id: str | None = None, *, serial: str | None = None,
                kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                fields: Sequence[str] | None = None) -> list[Change]:
        """What changed between consecutive complete sweeps (see ``TRACKED_FIELDS``), oldest
        first. ``fields`` narrows the comparison to some of the tracked fields."""
        return changes_between(self.history(target_id, serial=serial, kinds=kinds), fields)

    def devices(self, *, serial: str | None = None, mac: str | None = None) -> list[Device]:
        """Physical units known to the registry, oldest first; optionally by serial or MAC."""
        query = select(DeviceRow).order_by(DeviceRow.id)
        if serial is not None:
            query = query.where(DeviceRow.serial == serial)
        if mac is not None:
            query = query.where(DeviceRow.mac == normalize_mac(mac))
        with self._session("list devices") as s:
            return [Device(id=d.id, serial=d.serial, mac=d.mac, first_seen=d.first_seen,
                           last_seen=d.last_seen) for d in s.scalars(query)]
