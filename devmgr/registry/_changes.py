"""What changed about a camera between sweeps: the fields a move, a swap or a re-aim touches.

Regulation Art. 7 and 10 care about position (address, geolocation, SNMP sysLocation), view
(PTZ limits, presets), identity (serial, MAC, firmware) and filed properties (retention); those
are the fields tracked. Volatile readings (clock offset, current PTZ position, elapsed time)
are not: they differ every sweep and say nothing about the installation.

A value that was not obtained is not a change. A camera that stopped answering has not lost
its firmware; an inventory whose ``GetPresets`` timed out has not had its presets deleted. So a
field counts as *unknown*, and is skipped (the last known value carries forward), when it is
None or an empty string, or when it is empty and the inventory shows why it may be: the
operation that collects it failed, or the collection stopped early (unreachable, timeout,
refused credentials). Reachability itself is tracked as the ``reachable`` field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from camfleet.errors import ErrorKind
from devmgr.inventory.model import Inventory
from devmgr.registry._records import HistoryEntry, SweepId

__all__ = ["TRACKED_FIELDS", "Change", "changes_between"]

# Kinds after which the collector stops: whatever it had not reached yet is a default, not data.
_FATAL = {ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.AUTH}


@dataclass(frozen=True, slots=True)
class Change:
    """``field`` went from ``old`` to ``new``, first seen by sweep ``sweep_id`` at ``at``."""

    field: str
    old: Any
    new: Any
    #: The sweep that saw the new value first, and when it started.
    sweep_id: SweepId
    at: datetime
    #: The sweep that last saw the old value.
    previous_sweep_id: SweepId
    #: The target the camera was inventoried as when the change was seen (matters when
    #: following a unit by serial: it may have moved to another target).
    target_id: str


@dataclass(frozen=True, slots=True)
class _Field:
    read: Callable[[Inventory], Any]
    #: ONVIF/SNMP operations (``DeviceError.operation``) whose failure leaves the field unknown.
    operations: frozenset[str]


def _device(attribute: str) -> _Field:
    return _Field(lambda inv: getattr(inv.device, attribute) if inv.device else None,
                  frozenset({"GetDeviceInformation"}))


def _ptz(read: Callable[[Any], Any], *operations: str) -> _Field:
    return _Field(lambda inv: read(inv.ptz) if inv.ptz else None,
                  frozenset(("GetNodes", "GetConfigurations", *operations)))


def _presets(inv_ptz: Any) -> tuple[Any, ...]:
    # Listing order is the camera's whim, not a property of the view: compared (and reported)
    # sorted by token.
    return tuple(sorted(inv_ptz.presets, key=lambda p: p.token))


#: Field name -> how to read it. Dict order is the order changes are reported in.
TRACKED_FIELDS: dict[str, _Field] = {
    "device.manufacturer": _device("manufacturer"),
    "device.model": _device("model"),
    "device.serial": _device("serial"),
    "device.firmware": _device("firmware"),
    "mac": _Field(lambda inv: inv.mac or (inv.snmp.mac if inv.snmp else None),
                  frozenset({"GetNetworkInterfaces"})),
    "address": _Field(lambda inv: inv.address, frozenset()),
    "hostname": _Field(lambda inv: inv.hostname, frozenset({"GetHostname"})),
    "scopes": _Field(lambda inv: tuple(sorted(inv.scopes)), frozenset({"GetScopes"})),
    "geolocation": _Field(lambda inv: inv.geolocation, frozenset({"GetGeoLocation"})),
    "snmp.sys_location": _Field(lambda inv: inv.snmp.sys_location if inv.snmp else None,
                                frozenset()),
    "ptz.pan_limits": _ptz(lambda p: p.pan_limits),
    "ptz.tilt_limits": _ptz(lambda p: p.tilt_limits),
    "ptz.zoom_limits": _ptz(lambda p: p.zoom_limits),
    "ptz.presets": _ptz(_presets, "GetPresets"),
    # What each profile streams: a re-configured main stream changes what is recorded.
    "video_encoders": _Field(lambda inv: tuple(sorted(
        (p.token, p.video_encoder.describe()) for p in inv.profiles if p.video_encoder)),
        frozenset({"GetProfiles"})),
    "recording_retention_days": _Field(lambda inv: inv.recording_retention_days,
                                       frozenset({"GetRecordings"})),
    "ntp_servers": _Field(lambda inv: tuple(sorted(inv.ntp_servers)), frozenset({"GetNTP"})),
    "discovery_mode": _Field(lambda inv: inv.discovery_mode, frozenset({"GetDiscoveryMode"})),
    "users": _Field(lambda inv: tuple(sorted(inv.users)), frozenset({"GetUsers"})),
}


def _known(inv: Inventory, spec: _Field) -> tuple[bool, Any]:
    value = spec.read(inv)
    if value is None or value == "":
        return False, None
    if value == ():
        failed = {e.operation for e in inv.errors}
        if failed & spec.operations or inv.error_kinds & _FATAL or "inventory" in failed:
            return False, None
    return True, value


def changes_between(entries: Iterable[HistoryEntry],
                    fields: Sequence[str] | None = None) -> list[Change]:
    """The changes along ``entries`` (oldest first), comparing each field with its last known
    value."""
    names = ["reachable", *TRACKED_FIELDS] if fields is None else list(fields)
    unknown = [name for name in names if name != "reachable" and name not in TRACKED_FIELDS]
    if unknown:
        raise ValueError(f"not tracked: {', '.join(unknown)} (tracked: reachable, "
                         f"{', '.join(TRACKED_FIELDS)})")
    track_reachable = "reachable" in names
    names = [name for name in names if name != "reachable"]
    last: dict[str, tuple[Any, SweepId]] = {}
    found: list[Change] = []

    def note(name: str, value: Any, sweep_id: SweepId, at: datetime, target: str) -> None:
        if name in last and last[name][0] != value:
            found.append(Change(field=name, old=last[name][0], new=value, sweep_id=sweep_id,
                                at=at, previous_sweep_id=last[name][1], target_id=target))
        last[name] = (value, sweep_id)

    for sweep, inv in entries:
        if track_reachable:
            note("reachable", inv.reachable, sweep.id, sweep.started_at, inv.target_id)
        if not inv.reachable:
            continue
        for name in names:
            known, value = _known(inv, TRACKED_FIELDS[name])
            if known:
                note(name, value, sweep.id, sweep.started_at, inv.target_id)
    return found
