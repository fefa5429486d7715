"""What the registry hands back: sweeps, devices, history entries. Plain frozen values, detached
from any database session, so callers can keep them after the registry is closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, NewType

from devmgr.inventory.model import Inventory

__all__ = ["Device", "HistoryEntry", "Sweep", "SweepId", "SweepKind", "SweepStatus"]

SweepId = NewType("SweepId", int)


class SweepKind(StrEnum):
    """The stages of the data flow (DESIGN: discover -> inventory -> commission -> audit)."""

    DISCOVER = "discover"
    INVENTORY = "inventory"
    COMMISSION = "commission"
    AUDIT = "audit"


class SweepStatus(StrEnum):
    RUNNING = "running"    # begun; observations may still arrive
    COMPLETE = "complete"  # finished by its owner: its observations are a whole picture
    ABORTED = "aborted"    # ended early (exception, or its process died): a partial picture


@dataclass(frozen=True, slots=True)
class Sweep:
    id: SweepId
    kind: SweepKind
    status: SweepStatus
    started_at: datetime
    finished_at: datetime | None
    parameters: dict[str, Any]
    host: str
    pid: int
    os_user: str
    software_version: str
    #: Observations recorded (committed) so far.
    observation_count: int
    unreachable_count: int
    #: Devices (physical units) this sweep saw for the first time.
    new_device_count: int
    #: Why the sweep ended as it did, when it was not the sweep's owner that said so.
    note: str


@dataclass(frozen=True, slots=True)
class Device:
    """A physical unit as the registry knows it: matched by serial, else by MAC."""

    id: int
    serial: str | None
    mac: str | None
    first_seen: datetime
    last_seen: datetime


class HistoryEntry(NamedTuple):
    """One inventory of a camera, with the sweep that took it (unpacks as ``sweep, inv``)."""

    sweep: Sweep
    inventory: Inventory
