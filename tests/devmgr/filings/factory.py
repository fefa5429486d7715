"""Build sample filing records: Chinese names and addresses, every optional field set."""

from __future__ import annotations

from datetime import date, datetime

from camfleet.model import GeoPosition
from devmgr.filings import FilingRecord, MoveFiling

#: The response DeviceID of the catalogs the tests write (a central signalling server, type 200).
PLATFORM = "42010000002000000001"


def make_record(device_id: str = "42010000001320000001", **changes: object) -> FilingRecord:
    data: dict[str, object] = {
        "device_id": device_id,
        "name": "汉口火车站东广场 1 号枪机",
        "manufacturer": "海康威视",
        "model": "DS-2CD3T47",
        "owner": "武汉市公安局江岸区分局",
        "civil_code": "420102",
        "block": "大智派出所警区",
        "address": "湖北省武汉市江岸区发展大道 “东广场”, 北侧",
        "parental": False,
        "parent_id": "42010000002160000002",
        "safety_way": 0,
        "register_way": 1,
        "cert_num": "CN-2024-0042",
        "certifiable": True,
        "err_code": 0,
        "end_time": datetime(2027, 12, 31, 23, 59, 59),
        "secrecy": True,
        "status": "OFF",
        "business_group_id": "42010000002150000001",
        "security_level_code": "B",
        "position": GeoPosition(latitude=30.617712345, longitude=114.255301234, elevation=23.5),
        "ptz_type": 3,
        "position_type": 3,
        "room_type": 1,
        "use_type": 1,
        "supply_light_type": 2,
        "direction": 6,
        "horizontal_field_angle": 92.5,
        "vertical_field_angle": 49.1,
        "max_view_distance": 80.0,
        "grassroots_code": "420102003",
        "point_type": 1,
        "function_type": "01/03",
        "install_time": datetime(2024, 11, 3, 9, 30),
        "management_unit": "江岸区公安分局科技信息化科",
        "contact_info": "027-8281 0000",
        "record_save_days": 90,
        "mac": "44-19-B6-0A-BB-CC",
        "extra_elements": [
            {"xml": "<StreamNumberList>0/1/2</StreamNumberList>"},
            {"in_info": True, "xml": "<Resolution>6/4</Resolution>"},
            {"in_info": True, "xml": '<v:Lens xmlns:v="urn:example:vendor" mm="2.8">广角</v:Lens>'},
        ],
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
