"""Fixtures for the filing tests."""

from __future__ import annotations

from datetime import date

import pytest

from camfleet.model import GeoPosition
from devmgr.filings import FilingRecord

from .factory import make_record


@pytest.fixture
def records() -> list[FilingRecord]:
    minimal = FilingRecord(
        device_id="42010600001310000007",
        name="江汉路步行街",
        position=GeoPosition(latitude=30.5801, longitude=114.2899),
        site_category="not-listed",
        acceptance_date=date(2025, 2, 1),
    )
    return [
        make_record(),
        make_record(
            "42010000011325000002", name="东湖绿道", mac=None, site_category="prohibited:3"
        ),
        minimal,
    ]
