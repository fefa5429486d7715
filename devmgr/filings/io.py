"""Import and export filing records as CSV, YAML and GB/T 28181 catalog XML.

Every format round-trips: ``loads_X(dump_X(records))`` gives the records back. Imports are
all-or-nothing and report every problem with file and line (:mod:`devmgr.filings.problems`);
the catalog XML codec is :mod:`devmgr.filings.catalog`.

Formats
-------
CSV (UTF-8; a BOM is accepted on import because Excel writes one, and ``dump_csv(bom=True)``
writes one for Excel): one row per camera, header :data:`CSV_COLUMNS`; the columns
``device_id``, ``name``, ``latitude``, ``longitude``, ``site_category`` and
``acceptance_date`` must be there, any cell may be empty ("unknown"; a row without the
regulation fields or a position is an incomplete filing). ``position`` is split into
``latitude``, ``longitude``, ``elevation``; enumerations are their GB/T 28181 codes
(``ptz_type`` 3, ``direction`` 1); booleans 0/1; dates ISO ``YYYY-MM-DD`` and times ISO
``YYYY-MM-DDTHH:MM:SS``. ``move_filings`` is one JSON column holding a list of objects with the
:class:`MoveFiling` fields, e.g. ``[{"kind": "removal", "filed_on": "2025-01-01",
"planned_on": "2025-02-01"}]``; ``extra_elements`` likewise holds the catalog elements kept
verbatim (``[{"in_info": true, "xml": "<EncodeType>2</EncodeType>"}]``). A JSON cell keeps the
one-row-per-camera shape that spreadsheets and registries expect.

YAML: a list of mappings with the :class:`FilingRecord` field names (``position`` nested);
unknown fields are omitted rather than written as null.

CSV and YAML carry cameras only; the directory nodes of a catalog travel in catalog XML.

    >>> from datetime import date
    >>> from camfleet.model import GeoPosition
    >>> rec = FilingRecord(device_id="42010000001320000001", name="江汉路步行街",
    ...     position=GeoPosition(latitude=30.58, longitude=114.29), site_category="art6:5",
    ...     acceptance_date=date(2025, 3, 1))
    >>> loads_csv(dump_csv([rec])) == [rec] and loads_yaml(dump_yaml([rec])) == [rec]
    True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from camfleet.files import write_atomic
from devmgr.filings.catalog import ExportEncoding, dump_xml, loads_xml
from devmgr.filings.model import FilingRecord
from devmgr.filings.nodes import CatalogNode
from devmgr.filings.problems import Collector, FilingImportError, Imported, ImportProblem

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "dump_csv",
    "dump_yaml",
    "load",
    "loads_csv",
    "loads_yaml",
    "save",
]

#: File suffixes :func:`load` and :func:`save` know.
FORMATS = (".csv", ".yaml", ".yml", ".xml")

CSV_COLUMNS: tuple[str, ...] = (
    "device_id", "name", "manufacturer", "model", "owner", "civil_code", "block", "address",
    "parental", "parent_id", "safety_way", "register_way", "cert_num", "certifiable",
    "err_code", "end_time", "secrecy", "ip_address", "port", "status",
    "latitude", "longitude", "elevation", "business_group_id", "security_level_code",
    "ptz_type", "position_type", "room_type", "use_type", "supply_light_type", "direction",
    "horizontal_field_angle", "vertical_field_angle", "max_view_distance", "grassroots_code",
    "point_type", "mac", "function_type", "install_time", "management_unit", "contact_info",
    "record_save_days", "extra_elements", "serial",
    "site_category", "acceptance_date", "filing_date", "retention_class", "move_filings",
)  # fmt: skip
_POSITION_COLUMNS = ("latitude", "longitude", "elevation")
_JSON_COLUMNS = ("move_filings", "extra_elements")


# ---------------------------------------------------------------------------------------------
# CSV


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def dump_csv(records: Iterable[FilingRecord], *, bom: bool = False) -> str:
    """CSV text, one row per record (see the module docstring for the columns)."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in records:
        data = rec.model_dump(mode="json", exclude_none=True)
        pos = data.pop("position", {})
        data.update({k: pos.get(k) for k in _POSITION_COLUMNS})
        for column in _JSON_COLUMNS:
            data[column] = json.dumps(data[column], ensure_ascii=False) if data[column] else ""
        writer.writerow([_cell(data.get(c)) for c in CSV_COLUMNS])
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
    return _read_csv(text, source).records


def _read_csv(text: str, source: str) -> Imported:
    text = text.removeprefix("\ufeff")  # Excel's UTF-8 BOM
    col = Collector(source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return col.result()
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
        elif any(k in cells for k in _POSITION_COLUMNS):
            col.problem(line, None, "position: latitude and longitude come together "
                                    "(leave all three cells empty for an unknown position)")
            continue
        try:
            data |= {k: json.loads(data[k]) for k in _JSON_COLUMNS if k in data}
        except json.JSONDecodeError as exc:
            col.problem(line, None, f"{', '.join(_JSON_COLUMNS)}: not JSON ({exc.msg})")
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
    return _read_yaml(text, source).records


def _read_yaml(text: str, source: str) -> Imported:
    col = Collector(source)
    text = text.removeprefix("\ufeff")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        col.problem(mark.line + 1 if mark is not None else None, None, f"YAML syntax: {exc}")
        raise FilingImportError(col.problems) from None
    if data is None:
        return col.result()
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
# Files


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unknown filing format {suffix!r}: use .csv, .yaml, .yml or .xml")
    return suffix


def load(path: Path | str, *, encoding: str | None = None) -> Imported:
    """Load a ``.csv``, ``.yaml``/``.yml`` (UTF-8; CSV may carry a BOM) or ``.xml`` catalog
    (its declared encoding, or ``encoding``: see :func:`~devmgr.filings.catalog.loads_xml`)."""
    p = Path(path)
    suffix = _suffix(p)
    if suffix == ".xml":
        return loads_xml(p.read_bytes(), str(p), encoding=encoding)
    if encoding is not None:
        raise ValueError("an encoding can be given for a catalog (.xml) only; CSV and YAML "
                         "are UTF-8")
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
    return _read_csv(text, str(p)) if suffix == ".csv" else _read_yaml(text, str(p))


def save(records: Iterable[FilingRecord], path: Path | str, *,
         nodes: Iterable[CatalogNode] = (), platform_id: str | None = None,
         encoding: ExportEncoding | None = None) -> None:
    """Write records in the format named by the file's suffix.

    A catalog (``.xml``) needs ``platform_id`` (its own DeviceID) and holds ``nodes`` too; it is
    GB2312 unless ``encoding`` says otherwise. CSV and YAML are UTF-8 and hold cameras only.
    """
    p = Path(path)
    suffix = _suffix(p)
    if suffix == ".xml":
        if not platform_id:
            raise ValueError("a catalog names its sender: give the platform id (the 20-digit "
                             "DeviceID of the system the catalog is sent as)")
        write_atomic(p, dump_xml(records, nodes=nodes, platform_id=platform_id,
                                 encoding=encoding or "gb2312"))
        return
    if encoding not in (None, "utf-8"):
        raise ValueError(f"CSV and YAML are written as UTF-8, not {encoding}")
    text = dump_csv(records) if suffix == ".csv" else dump_yaml(records)
    write_atomic(p, text.encode("utf-8"))
