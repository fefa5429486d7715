"""The catalog's elements and the record fields they carry, in the standard's order;
the camfleet extension namespace; the encodings an export may use."""

from __future__ import annotations

from typing import Literal

#: Namespace of the camfleet extension element in catalog XML.
CAMFLEET_NS = "urn:camfleet:filing:1"
CF = f"{{{CAMFLEET_NS}}}"

ExportEncoding = Literal["gb2312", "gb18030", "utf-8"]
#: Encodings :func:`dump_xml` writes, and the name each gets in the XML declaration.
EXPORT_ENCODINGS: dict[ExportEncoding, str] = {
    "gb2312": "GB2312", "gb18030": "GB18030", "utf-8": "UTF-8"}


def export_encoding(name: str) -> ExportEncoding:
    """The export encoding called ``name`` (any case, ``utf8`` too); ``ValueError`` if none."""
    wanted = name.strip().lower().replace("utf8", "utf-8")
    for encoding in EXPORT_ENCODINGS:
        if encoding == wanted:
            return encoding
    raise ValueError(f"encoding {name!r}: use one of {', '.join(EXPORT_ENCODINGS)}")

# Item element -> record field, in the standard's order. Longitude/Latitude and Info are
# placed by the writer; the flags say whether the element is written when the value is empty.
ITEM_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("DeviceID", "device_id", True), ("Name", "name", True),
    ("Manufacturer", "manufacturer", True), ("Model", "model", True),
    ("Owner", "owner", True), ("CivilCode", "civil_code", True), ("Block", "block", False),
    ("Address", "address", True), ("Parental", "parental", True),
    ("ParentID", "parent_id", True), ("SafetyWay", "safety_way", True),
    ("RegisterWay", "register_way", True), ("CertNum", "cert_num", False),
    ("Certifiable", "certifiable", False), ("ErrCode", "err_code", False),
    ("EndTime", "end_time", False), ("Secrecy", "secrecy", True),
    ("IPAddress", "ip_address", False), ("Port", "port", False), ("Status", "status", True),
)  # fmt: skip
AFTER_POSITION = (("SecurityLevelCode", "security_level_code", False),)
INFO_FIELDS: tuple[tuple[str, str], ...] = (
    ("PTZType", "ptz_type"), ("PositionType", "position_type"), ("RoomType", "room_type"),
    ("UseType", "use_type"), ("SupplyLightType", "supply_light_type"),
    ("DirectionType", "direction"), ("BusinessGroupID", "business_group_id"),
    ("HorizontalFieldAngle", "horizontal_field_angle"),
    ("VerticalFieldAngle", "vertical_field_angle"), ("MaxViewDistance", "max_view_distance"),
    ("GrassrootsCode", "grassroots_code"), ("PointType", "point_type"), ("MAC", "mac"),
    ("FunctionType", "function_type"), ("InstallTime", "install_time"),
    ("ManagementUnit", "management_unit"), ("ContactInfo", "contact_info"),
    ("RecordSaveDays", "record_save_days"),
)  # fmt: skip
CF_FIELDS = (
    ("Serial", "serial"), ("SiteCategory", "site_category"),
    ("AcceptanceDate", "acceptance_date"), ("FilingDate", "filing_date"),
    ("RetentionClass", "retention_class"),
)  # fmt: skip
MOVE_FIELDS = (
    ("Kind", "kind"), ("FiledOn", "filed_on"), ("PlannedOn", "planned_on"),
    ("ReplacementPlan", "replacement_plan"),
)  # fmt: skip
#: Elements that may sit in the item or in its Info (platforms differ).
EITHER_PLACE = {"PTZType", "BusinessGroupID"}
NODE_FIELDS = (("DeviceID", "device_id"), ("Name", "name"), ("ParentID", "parent_id"),
                ("BusinessGroupID", "business_group_id"))
