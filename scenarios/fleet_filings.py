"""The filing records an engineer would have filed for a simulated fleet.

A compliance audit judges cameras against their filings (Wuhan public video measures, 2023:
Art. 9 filing, Art. 10 moves and removals, Art. 16(5) retention). A simulated fleet has no
filing office, so :func:`fleet_filings` writes the filings its cameras would have: one
:class:`~devmgr.filings.FilingRecord` per camera, made from the camera's spec as it was built
(faults are what the audit should find, so they are never filed). A healthy fleet is
compliant with its own filings: every record validates, was filed in time, files a retention
class its camera keeps, and places the camera where it is.

    >>> from datetime import date
    >>> from simulators.fleet.generate import generate_fleet
    >>> records = fleet_filings(generate_fleet(3, seed=1), accepted_on=date(2025, 3, 1))
    >>> records[0].device_id, records[2].device_id
    ('42010600001325000001', '42010600001325000003')
    >>> all(not r.filing_overdue(date(2026, 1, 1)) and r.retention_satisfied for r in records)
    True

For a running fleet, :func:`filings_for_fleet` files the cameras at the addresses and ports the
fleet gave them (what the manifest lists).

Choices, field by field:

* ``device_id``: GB/T 28181, ``centre`` (8 digits) + industry ``00`` (public order) + type
  ``132`` (IPC) + network ``5`` (public-security video network) + the camera's 1-based place
  in the fleet, 6 digits. ``civil_code`` is the centre's 6-digit administrative division.
* ``ptz_type``: a dome is catalog PTZType 1, a fixed bullet 3.
* ``direction``: the compass point (of eight) nearest to where the camera looks at rest: the
  mount heading for a fixed camera, heading + home pan for a dome (its guard position).
* ``horizontal_field_angle``/``vertical_field_angle``: the optics at the widest zoom.
* ``record_save_days`` is the recording retention in whole days, and ``retention_class`` the
  strictest class it satisfies (≥ 730 important, ≥ 90 counter-terror, else standard), so
  retention is compliant until a ``retention_changed`` fault says otherwise.
* ``site_category`` alternates between an Art. 6 item and ``not-listed`` (which one comes
  first depends on ``seed``); ``install_time`` is 10:00 on a day 3-20 days before
  ``accepted_on`` and ``filing_date`` 5-25 days after it (inside the 30 days of Art. 9), both
  drawn from ``seed``.
"""

from __future__ import annotations

import ipaddress
import random
import re
import zlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from camfleet.model import PtzType
from devmgr.filings import (
    CatalogPtzType,
    Direction,
    FilingRecord,
    RetentionClass,
    SiteCategory,
    retention_minimum_days,
)
from simulators.spec import CameraSpec

if TYPE_CHECKING:
    from simulators.fleet.fleet import Fleet

__all__ = [
    "DEFAULT_CENTRE",
    "catalog_direction",
    "filings_for_fleet",
    "fleet_filings",
    "retention_class_for",
]

#: Wuchang district, Wuhan (GB/T 2260 420106), zero-padded to the 8 digits of a centre code.
DEFAULT_CENTRE = "42010600"
#: Industry 00 (public order), type 132 (IPC), network 5 (public-security video network).
_INDUSTRY, _TYPE_CODE, _NETWORK = "00", "132", "5"
#: Art. 6 items a street camera plausibly serves: roads (2), squares and parks (5),
#: residential entrances (10), crime-prone areas (11).
_ART6_STREET_ITEMS = (2, 5, 10, 11)
#: Compass points clockwise from north, 45 degrees apart.
_COMPASS = (Direction.N, Direction.NE, Direction.E, Direction.SE, Direction.S, Direction.SW,
            Direction.W, Direction.NW)


def catalog_direction(azimuth_deg: float) -> Direction:
    """The GB/T 28181 direction (one of eight) nearest to a compass azimuth.

    >>> catalog_direction(90.0), catalog_direction(350.0), catalog_direction(-112.0)
    (<Direction.E: 1>, <Direction.N: 4>, <Direction.W: 2>)
    """
    return _COMPASS[round((azimuth_deg % 360.0) / 45.0) % 8]


def retention_class_for(days: int) -> RetentionClass:
    """The strictest Art. 16(5) class that ``days`` of retention satisfy.

    >>> retention_class_for(90), retention_class_for(30)
    (<RetentionClass.COUNTER_TERROR: 'counter-terror'>, <RetentionClass.STANDARD: 'standard'>)
    """
    for cls in (RetentionClass.IMPORTANT, RetentionClass.COUNTER_TERROR):
        if days >= retention_minimum_days(cls):
            return cls
    return RetentionClass.STANDARD


def fleet_filings(specs: Sequence[CameraSpec], *, centre: str = DEFAULT_CENTRE,
                  accepted_on: date, seed: int = 0) -> list[FilingRecord]:
    """One filing record per camera, in order; the same arguments give the same records.

    ``centre`` is the 8-digit GB/T 28181 centre code the device ids start with. The network
    fields (``ip_address``, ``port``) are the specs' own; a port of 0 ("pick one", as tests
    use) is filed as unknown. Raises ``ValueError`` for a malformed centre or more cameras
    than the 6-digit serial field can number.
    """
    if not re.fullmatch(r"\d{8}", centre):
        raise ValueError(f"centre {centre!r} must be 8 digits (GB/T 2260 division, "
                         "zero-padded), e.g. 42010600")
    if len(specs) > 999_999:
        raise ValueError(f"a centre numbers at most 999999 cameras of a type, not {len(specs)}")
    records = []
    for index, spec in enumerate(specs, start=1):
        rng = random.Random(zlib.crc32(f"camfleet-filing/{seed}/{index}".encode()))
        days = int(spec.recording.retention_days)
        # An even seed files the first camera at an Art. 6 site, an odd one as not listed.
        site = (f"art6:{rng.choice(_ART6_STREET_ITEMS)}" if (index + seed) % 2 == 1
                else "not-listed")
        records.append(FilingRecord(
            device_id=f"{centre}{_INDUSTRY}{_TYPE_CODE}{_NETWORK}{index:06d}",
            name=spec.location.name or spec.id,
            manufacturer=spec.identity.manufacturer,
            model=spec.identity.model,
            civil_code=centre[:6],
            address=spec.location.address,
            position=spec.location.position,
            ptz_type=(CatalogPtzType.FIXED if spec.ptz.type is PtzType.FIXED
                      else CatalogPtzType.DOME),
            direction=catalog_direction(_resting_azimuth(spec)),
            horizontal_field_angle=spec.optics.hfov,
            vertical_field_angle=spec.optics.vertical_fov,
            install_time=datetime.combine(accepted_on - timedelta(days=rng.randint(3, 20)),
                                          time(10, 0)),
            record_save_days=days,
            mac=spec.identity.mac,
            ip_address=ipaddress.ip_address(spec.network.address),
            port=spec.network.http_port or None,
            serial=spec.identity.serial,
            site_category=SiteCategory.parse(site),
            acceptance_date=accepted_on,
            filing_date=accepted_on + timedelta(days=rng.randint(5, 25)),
            retention_class=retention_class_for(days),
        ))
    return records


def _resting_azimuth(spec: CameraSpec) -> float:
    """Where the unit looks when nobody steers it: a dome at its home (guard) position."""
    if spec.ptz.type is PtzType.FIXED:
        return spec.mount.heading
    return spec.mount.heading + spec.ptz.home.pan


def filings_for_fleet(fleet: Fleet, *, centre: str = DEFAULT_CENTRE, accepted_on: date,
                      seed: int = 0) -> list[FilingRecord]:
    """The filings of a running fleet's cameras, in the fleet's order, at the addresses and
    HTTP ports it assigned (its manifest's), from each camera's spec as launched.

    Asks every camera for its truth once (a worker round trip per camera).
    """
    targets = fleet.manifest().by_id()
    specs = []
    for camera_id in fleet.camera_ids:
        spec = CameraSpec.model_validate(fleet.truth(camera_id)["base_spec"])
        target = targets[camera_id]
        specs.append(spec.with_network(address=target.address, http_port=target.http_port))
    return fleet_filings(specs, centre=centre, accepted_on=accepted_on, seed=seed)
