"""Build sample filing records: Chinese names and addresses, every optional field set."""

from __future__ import annotations

from datetime import date

from devmgr.filings import FilingRecord, MoveFiling
from devmgr.model import GeoPosition


def make_record(device_id: str = "42010000001320000001", **changes: object) -> FilingRecord:
    data: dict[str, object] = {
        "device_id": device_id,
        "name": "汉口火车站东广场 1 号枪机",
        "manufacturer": "海康威视",
        "model": "DS-2CD3T47",
        "civil_code": "420102",
        "address": "湖北省武汉市江岸区发展大道 “东广场”, 北侧",
        "position": GeoPosition(latitude=30.617712345, longitude=114.255301234, elevation=23.5),
        "ptz_type": 3,
        "direction": 6,
        "horizontal_field_angle": 92.5,
        "vertical_field_angle": 49.1,
        "max_view_distance": 80.0,
        "point_type": 1,
        "install_time": date(2024, 11, 3),
        "record_save_days": 90,
        "mac": "44-19-B6-0A-BB-CC",
        "ip_address": "10.20.30.40",
        "port": 5060,
        "serial": "DS-2CD3T47-20241103AACH123",
        "site_category": "art6:2",
        "acceptance_date": date(2025, 1, 10),
        "filing_date": date(2025, 1, 20),
        "retention_class": "counter-terror",
        "move_filings": [
            MoveFiling(
                kind="move",
                filed_on=date(2025, 6, 1),
                planned_on=date(2025, 7, 1),
                replacement_plan="迁至西广场，\n同步新建 2 个点位",
                new_position=GeoPosition(latitude=30.6171, longitude=114.2541),
            ),
            MoveFiling(kind="removal", filed_on=date(2025, 8, 1), planned_on=date(2025, 9, 1)),
        ],
    }
    data.update(changes)
    return FilingRecord.model_validate(data)
