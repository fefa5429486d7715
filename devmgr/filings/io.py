"""Import and export filing records as CSV, YAML and GB/T 28181 catalog XML.

Every format round-trips: ``loads_X(dump_X(records)) == records``.

**Import is all-or-nothing.** Each loader validates every row or item, collects every problem
with its file, line (and item index) and reason, and raises one :class:`FilingImportError`
listing them all; it returns records only when there are no problems. A filing registry that is
half imported is worse than none: the Art. 10 checks would report the missing half as removed.
Duplicate device ids are a problem too (one camera, one file).

Formats
-------
CSV (UTF-8; a BOM is accepted on import because Excel writes one, and ``dump_csv(bom=True)``
writes one for Excel): one row per camera, header :data:`CSV_COLUMNS`. ``position`` is split
into ``latitude``, ``longitude``, ``elevation``; enumerations are their GB/T 28181 codes
(``ptz_type`` 3, ``direction`` 1); dates are ISO ``YYYY-MM-DD``; an empty cell means "unknown".
``move_filings`` is one JSON column holding a list of objects with the :class:`MoveFiling`
fields, e.g. ``[{"kind": "removal", "filed_on": "2025-01-01", "planned_on": "2025-02-01"}]``;
a JSON cell keeps the one-row-per-camera shape that spreadsheets and registries expect.

YAML: a list of mappings with the :class:`FilingRecord` field names (``position`` nested);
unknown fields are omitted rather than written as null.

XML: a GB/T 28181 ``<Response><CmdType>Catalog</CmdType>`` message. Catalog fields go where
the standard puts them (MAC written ``XX-XX-XX-XX-XX-XX``, InstallTime as an ``xs:dateTime`` at
midnight); what the catalog has no place for (elevation, serial, site category, acceptance and
filing dates, retention class, move filings) goes in a ``<cf:Filing>`` element in the
:data:`CAMFLEET_NS` namespace inside each ``<Item>``, so platforms that ignore foreign elements
still read the rest. Parsing is hardened: no DTD (a document with a DOCTYPE is refused), no
entity expansion, no network access.

    >>> from datetime import date
    >>> from devmgr.model import GeoPosition
    >>> rec = FilingRecord(device_id="42010000001320000001", name="江汉路步行街",
    ...     position=GeoPosition(latitude=30.58, longitude=114.29), site_category="art6:5",
    ...     acceptance_date=date(2025, 3, 1))
    >>> loads_csv(dump_csv([rec])) == [rec] and loads_xml(dump_xml([rec])) == [rec]
    True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from lxml import etree
from pydantic import ValidationError

from devmgr.files import write_atomic
from devmgr.filings.model import FilingRecord
from devmgr.model import format_validation_error
from devmgr.protocols.safe_xml import safe_parser

__all__ = [
    "CAMFLEET_NS",
    "CSV_COLUMNS",
    "FilingImportError",
    "ImportProblem",
    "dump_csv",
    "dump_xml",
    "dump_yaml",
    "load",
    "loads_csv",
    "loads_xml",
    "loads_yaml",
    "save",
]

#: Namespace of the camfleet extension element in catalog XML.
CAMFLEET_NS = "urn:camfleet:filing:1"
_CF = f"{{{CAMFLEET_NS}}}"

CSV_COLUMNS: tuple[str, ...] = (
    "device_id", "name", "manufacturer", "model", "civil_code", "address",
    "latitude", "longitude", "elevation",
    "ptz_type", "direction", "horizontal_field_angle", "vertical_field_angle",
    "max_view_distance", "point_type", "install_time", "record_save_days",
    "mac", "ip_address", "port", "serial",
    "site_category", "acceptance_date", "filing_date", "retention_class", "move_filings",
)  # fmt: skip
_POSITION_COLUMNS = ("latitude", "longitude", "elevation")


class ImportProblem(NamedTuple):
    """One invalid row or item: where it is and what is wrong."""

    source: str
    line: int | None
    item: int | None  # 0-based index of the YAML/XML item, None for CSV rows
    reason: str

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line is not None else "")
        if self.item is not None:
            where += f" (item {self.item})"
        return f"{where}: {self.reason}"


class FilingImportError(ValueError):
    """Raised when an import has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s), nothing imported:\n{lines}")


class _Collector:
    """Validates records one at a time, remembering every problem and every device id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[ImportProblem] = []
        self.records: list[FilingRecord] = []
        self._seen: dict[str, ImportProblem] = {}

    def problem(self, line: int | None, item: int | None, reason: str) -> None:
        self.problems.append(ImportProblem(self.source, line, item, reason))

    def add(self, data: Mapping[str, Any], line: int | None, item: int | None) -> None:
        try:
            record = FilingRecord.model_validate(data)
        except ValidationError as exc:
            reason = "; ".join(s.strip() for s in format_validation_error(exc).splitlines())
            self.problem(line, item, reason)
            return
        here = ImportProblem(self.source, line, item, "")
        first = self._seen.get(record.device_id)
        if first is not None:
            at = f"line {first.line}" if first.line is not None else f"item {first.item}"
            self.problem(line, item, f"duplicate device_id {record.device_id} (first at {at})")
            return
        self._seen[record.device_id] = here
        self.records.append(record)

    def result(self) -> list[FilingRecord]:
        if self.problems:
            raise FilingImportError(self.problems)
        return self.records


# ---------------------------------------------------------------------------------------------
# CSV


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def dump_csv(records: Iterable[FilingRecord], *, bom: bool = False) -> str:
    """CSV text, one row per record (see the module docstring for the columns)."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in records:
        data = rec.model_dump(mode="json")
        pos = data.pop("position")
        moves = data.pop("move_filings")
        data.update({k: pos[k] for k in _POSITION_COLUMNS})
        data["move_filings"] = (
            json.dumps(
                [m.model_dump(mode="json", exclude_none=True) for m in rec.move_filings],
                ensure_ascii=False,
            )
            if moves
            else ""
        )
        writer.writerow([_cell(data[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _csv_header_problem(header: list[str]) -> str:
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in ("device_id", "name", "latitude", "longitude", "site_category",
                           "acceptance_date") if h not in header]  # fmt: skip
    reasons = []
    if unknown:
        reasons.append(f"unknown column(s) {', '.join(unknown)}")
    if missing:
        reasons.append(f"missing column(s) {', '.join(missing)}")
    if len(set(header)) != len(header):
        reasons.append("repeated column names")
    return "; ".join(reasons)


def loads_csv(text: str, source: str = "<csv>") -> list[FilingRecord]:
    """Parse CSV text; raise :class:`FilingImportError` listing every bad row."""
    text = text.removeprefix("\ufeff")  # Excel's UTF-8 BOM
    col = _Collector(source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    header = [h.strip() for h in header]
    header_problem = _csv_header_problem(header)
    if header_problem:
        col.problem(1, None, header_problem)
        raise FilingImportError(col.problems)
    end_of_previous = reader.line_num
    while True:
        line = end_of_previous + 1  # where this row starts (quoted cells may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            col.problem(line, None, f"CSV syntax: {exc}")
            break
        end_of_previous = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            col.problem(line, None, f"{len(row)} cells, the header has {len(header)}")
            continue
        cells = {h: c.strip() for h, c in zip(header, row, strict=True) if c.strip() != ""}
        data: dict[str, Any] = {k: v for k, v in cells.items() if k not in _POSITION_COLUMNS}
        if "latitude" in cells and "longitude" in cells:
            data["position"] = {k: cells[k] for k in _POSITION_COLUMNS if k in cells}
        else:
            col.problem(line, None, "position: latitude and longitude are mandatory (Art. 9)")
            continue
        if "move_filings" in data:
            try:
                data["move_filings"] = json.loads(data["move_filings"])
            except json.JSONDecodeError as exc:
                col.problem(line, None, f"move_filings: not JSON ({exc.msg})")
                continue
        col.add(data, line, None)
    return col.result()


# ---------------------------------------------------------------------------------------------
# YAML


def dump_yaml(records: Iterable[FilingRecord]) -> str:
    """YAML text: a list of records, unknown (None) fields left out."""
    data = [r.model_dump(mode="json", exclude_none=True) for r in records]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def loads_yaml(text: str, source: str = "<yaml>") -> list[FilingRecord]:
    """Parse YAML text; raise :class:`FilingImportError` listing every bad item."""
    col = _Collector(source)
    text = text.removeprefix("\ufeff")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        col.problem(mark.line + 1 if mark is not None else None, None, f"YAML syntax: {exc}")
        raise FilingImportError(col.problems) from None
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        col.problem(1, None, "the document must be a list of filing records")
        raise FilingImportError(col.problems)
    for index, (item, item_node) in enumerate(zip(data, node.value, strict=True)):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            col.problem(line, index, "an item must be a mapping of field names to values")
            continue
        col.add(item, line, index)
    return col.result()


# ---------------------------------------------------------------------------------------------
# GB/T 28181 catalog XML

# Catalog element -> record field, in the order GB/T 28181 lists them.
_ITEM_FIELDS = (
    ("DeviceID", "device_id"), ("Name", "name"), ("Manufacturer", "manufacturer"),
    ("Model", "model"), ("CivilCode", "civil_code"), ("Address", "address"),
)  # fmt: skip
_INFO_FIELDS = (
    ("PTZType", "ptz_type"), ("DirectionType", "direction"),
    ("HorizontalFieldAngle", "horizontal_field_angle"),
    ("VerticalFieldAngle", "vertical_field_angle"), ("MaxViewDistance", "max_view_distance"),
    ("PointType", "point_type"), ("InstallTime", "install_time"),
    ("RecordSaveDays", "record_save_days"), ("MAC", "mac"),
)  # fmt: skip
_CF_FIELDS = (
    ("Serial", "serial"), ("SiteCategory", "site_category"),
    ("AcceptanceDate", "acceptance_date"), ("FilingDate", "filing_date"),
    ("RetentionClass", "retention_class"),
)  # fmt: skip
_MOVE_FIELDS = (
    ("Kind", "kind"), ("FiledOn", "filed_on"), ("PlannedOn", "planned_on"),
    ("ReplacementPlan", "replacement_plan"),
)  # fmt: skip


def _sub(parent: etree._Element, tag: str, text: Any) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = str(text)
    return el


def _xml_value(field: str, value: Any) -> str:
    if field == "mac":
        return str(value).replace(":", "-").upper()  # GB/T 28181 writes XX-XX-XX-XX-XX-XX
    if field == "install_time":
        return f"{value}T00:00:00"  # xs:dateTime in the catalog schema
    return str(value)


def dump_xml(records: Iterable[FilingRecord], *, platform_id: str = "", sn: int = 1) -> bytes:
    """A UTF-8 GB/T 28181 Catalog response (bytes) holding every record."""
    recs = list(records)
    root = etree.Element("Response", nsmap={"cf": CAMFLEET_NS})
    _sub(root, "CmdType", "Catalog")
    _sub(root, "SN", sn)
    _sub(root, "DeviceID", platform_id)
    _sub(root, "SumNum", len(recs))
    device_list = etree.SubElement(root, "DeviceList", Num=str(len(recs)))
    for rec in recs:
        data = rec.model_dump(mode="json")
        item = etree.SubElement(device_list, "Item")
        for tag, field in _ITEM_FIELDS:
            _sub(item, tag, data[field])
        _sub(item, "Parental", 0)
        if rec.ip_address is not None:
            _sub(item, "IPAddress", data["ip_address"])
        if rec.port is not None:
            _sub(item, "Port", rec.port)
        _sub(item, "Longitude", repr(rec.position.longitude))
        _sub(item, "Latitude", repr(rec.position.latitude))
        info = etree.SubElement(item, "Info")
        for tag, field in _INFO_FIELDS:
            if data[field] is not None:
                _sub(info, tag, _xml_value(field, data[field]))
        ext = etree.SubElement(item, _CF + "Filing")
        _sub(ext, _CF + "Elevation", repr(rec.position.elevation))
        for tag, field in _CF_FIELDS:
            if data[field] is not None:
                _sub(ext, _CF + tag, data[field])
        if rec.move_filings:
            moves = etree.SubElement(ext, _CF + "MoveFilings")
            for mf in rec.move_filings:
                m = etree.SubElement(moves, _CF + "MoveFiling")
                mdata = mf.model_dump(mode="json")
                for tag, field in _MOVE_FIELDS:
                    if mdata[field] is not None:
                        _sub(m, _CF + tag, mdata[field])
                if mf.new_position is not None:
                    np_ = etree.SubElement(m, _CF + "NewPosition")
                    _sub(np_, _CF + "Longitude", repr(mf.new_position.longitude))
                    _sub(np_, _CF + "Latitude", repr(mf.new_position.latitude))
                    _sub(np_, _CF + "Elevation", repr(mf.new_position.elevation))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _line(el: etree._Element | None) -> int | None:
    line = None if el is None else el.sourceline
    return line if isinstance(line, int) else None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None or not el.text.strip():
        return None  # platforms often write empty elements for unknown values
    return el.text.strip()


def _children(parent: etree._Element, ns: str | None) -> dict[str, etree._Element]:
    out: dict[str, etree._Element] = {}
    for child in parent:
        if isinstance(child.tag, str) and etree.QName(child).namespace == ns:
            out.setdefault(etree.QName(child).localname, child)
    return out


def _position(parent: etree._Element, ns: str | None, elevation: str | None) -> dict[str, Any]:
    kids = _children(parent, ns)
    pos: dict[str, Any] = {
        "longitude": _text(kids.get("Longitude")),
        "latitude": _text(kids.get("Latitude")),
    }
    if elevation is not None:
        pos["elevation"] = elevation
    return pos


def _item_data(item: etree._Element) -> tuple[dict[str, Any], list[str]]:
    """The record fields of one catalog ``<Item>``, and any structural problems."""
    errors: list[str] = []
    kids = _children(item, None)
    data: dict[str, Any] = {}
    for tag, field in (*_ITEM_FIELDS, ("IPAddress", "ip_address"), ("Port", "port")):
        value = _text(kids.get(tag))
        if value is not None:
            data[field] = value
    info = kids.get("Info")
    if info is not None:
        info_kids = _children(info, None)
        for tag, field in _INFO_FIELDS:
            value = _text(info_kids.get(tag))
            if value is not None:
                if field == "install_time" and "T" in value:
                    # InstallTime is an xs:dateTime; the filing keeps the day.
                    value = value.split("T", 1)[0]
                data[field] = value
    ext = _children(item, CAMFLEET_NS).get("Filing")
    elevation: str | None = None
    if ext is not None:
        cf = _children(ext, CAMFLEET_NS)
        known = {t for t, _ in _CF_FIELDS} | {"Elevation", "MoveFilings"}
        errors += [f"unknown camfleet element cf:{t}" for t in cf if t not in known]
        elevation = _text(cf.get("Elevation"))
        for tag, field in _CF_FIELDS:
            value = _text(cf.get(tag))
            if value is not None:
                data[field] = value
        moves = cf.get("MoveFilings")
        if moves is not None:
            data["move_filings"] = [_move_data(m) for m in moves if _local(m) == "MoveFiling"]
    pos = _position(item, None, elevation)
    if pos["longitude"] is None or pos["latitude"] is None:
        errors.append("position: Longitude and Latitude are mandatory (Art. 9)")
    else:
        data["position"] = pos
    return data, errors


def _move_data(el: etree._Element) -> dict[str, Any]:
    kids = _children(el, CAMFLEET_NS)
    data: dict[str, Any] = {}
    for tag, field in _MOVE_FIELDS:
        value = _text(kids.get(tag))
        if value is not None:
            data[field] = value
    new_pos = kids.get("NewPosition")
    if new_pos is not None:
        data["new_position"] = _position(
            new_pos, CAMFLEET_NS, _text(_children(new_pos, CAMFLEET_NS).get("Elevation"))
        )
    return data


def loads_xml(content: bytes | str, source: str = "<xml>") -> list[FilingRecord]:
    """Parse a GB/T 28181 Catalog ``Response`` (or ``Notify``); all-or-nothing.

    Pass bytes read from a file so a declared encoding (platforms often send GB2312/GB18030)
    is honoured; a ``str`` is taken as already decoded.
    """
    col = _Collector(source)
    is_text = isinstance(content, str)
    raw = content.encode("utf-8") if isinstance(content, str) else content
    try:
        root = etree.fromstring(raw, parser=safe_parser("utf-8" if is_text else None))
    except etree.XMLSyntaxError as exc:
        col.problem(exc.lineno, None, f"XML syntax: {exc.msg}")
        raise FilingImportError(col.problems) from None
    tree = root.getroottree()
    if getattr(tree.docinfo, "doctype", "") or tree.docinfo.internalDTD is not None:
        # A catalog has no business carrying a DTD; refusing it shuts out XXE and entity bombs.
        col.problem(1, None, "a DOCTYPE/DTD is not accepted in a catalog document")
        raise FilingImportError(col.problems)
    if _local(root) not in {"Response", "Notify"}:
        col.problem(_line(root), None, f"root is <{_local(root)}>, expected <Response>")
        raise FilingImportError(col.problems)
    top = _children(root, None)
    if _text(top.get("CmdType")) != "Catalog":
        col.problem(_line(root), None, "CmdType is not Catalog")
        raise FilingImportError(col.problems)
    device_list = top.get("DeviceList")
    items = [] if device_list is None else [i for i in device_list if _local(i) == "Item"]
    num = None if device_list is None else device_list.get("Num")
    if num is not None and num.strip() != str(len(items)):
        col.problem(
            _line(device_list), None, f"DeviceList Num={num} but it holds {len(items)} item(s)"
        )
    for index, item in enumerate(items):
        data, errors = _item_data(item)
        if errors:
            for err in errors:
                col.problem(_line(item), index, err)
            continue
        col.add(data, _line(item), index)
    return col.result()


# ---------------------------------------------------------------------------------------------
# Files


def load(path: Path | str) -> list[FilingRecord]:
    """Load a ``.csv``, ``.yaml``/``.yml`` or ``.xml`` file (UTF-8; CSV may carry a BOM)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in {".csv", ".yaml", ".yml", ".xml"}:
        raise ValueError(f"unknown filing format {suffix!r}: use .csv, .yaml, .yml or .xml")
    if suffix == ".xml":
        return loads_xml(p.read_bytes(), str(p))
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Excel on Chinese Windows may save GBK; say so rather than guess the encoding.
        raise FilingImportError(
            [
                ImportProblem(
                    str(p),
                    None,
                    None,
                    f"not UTF-8 ({exc.reason} at byte {exc.start}); save as UTF-8",
                )
            ]
        ) from None
    if suffix == ".csv":
        return loads_csv(text, str(p))
    return loads_yaml(text, str(p))


def save(records: Iterable[FilingRecord], path: Path | str) -> None:
    """Write records in the format named by the file's suffix (UTF-8)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".xml":
        write_atomic(p, dump_xml(records))
    elif suffix == ".csv":
        write_atomic(p, dump_csv(records).encode("utf-8"))
    elif suffix in {".yaml", ".yml"}:
        write_atomic(p, dump_yaml(records).encode("utf-8"))
    else:
        raise ValueError(f"unknown filing format {suffix!r}: use .csv, .yaml, .yml or .xml")
