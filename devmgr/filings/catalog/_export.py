"""Filing records and directory nodes to catalog XML (see :mod:`devmgr.filings.catalog`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from devmgr.filings.catalog._fields import (
    AFTER_POSITION,
    CAMFLEET_NS,
    CF,
    CF_FIELDS,
    EXPORT_ENCODINGS,
    INFO_FIELDS,
    ITEM_FIELDS,
    MOVE_FIELDS,
    NODE_FIELDS,
    ExportEncoding,
    export_encoding,
)
from devmgr.filings.codes import split_device_id
from devmgr.filings.model import FilingRecord
from devmgr.filings.nodes import CatalogElement, CatalogNode, tree_order
from devmgr.filings.problems import FilingExportError


def _sub(parent: etree._Element, tag: str, text: Any) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = str(text)
    return el


def _xml_value(field: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if field == "mac":
        return str(value).replace(":", "-").upper()  # GB/T 28181 writes XX-XX-XX-XX-XX-XX
    return str(value)


def _append_extra(item: etree._Element, extras: Iterable[CatalogElement]) -> None:
    """Put kept elements back: in the item, or in its ``<Info>`` (made if there is none)."""
    for extra in extras:
        if extra.in_info:
            info = item.find("Info")
            if info is None:
                info = etree.SubElement(item, "Info")
            info.append(extra.element())
        else:
            item.append(extra.element())


def _write_item(device_list: etree._Element, rec: FilingRecord) -> None:
    data = rec.model_dump(mode="json")
    item = etree.SubElement(device_list, "Item")
    for tag, field, always in ITEM_FIELDS:
        if always or data[field] not in (None, ""):
            _sub(item, tag, _xml_value(field, data[field]))
    if rec.position is not None:
        _sub(item, "Longitude", repr(rec.position.longitude))
        _sub(item, "Latitude", repr(rec.position.latitude))
    for tag, field, _ in AFTER_POSITION:
        if data[field] is not None:
            _sub(item, tag, data[field])
    _append_extra(item, (e for e in rec.extra_elements if not e.in_info))
    info = etree.SubElement(item, "Info")
    for tag, field in INFO_FIELDS:
        if data[field] not in (None, ""):
            _sub(info, tag, _xml_value(field, data[field]))
    _append_extra(item, (e for e in rec.extra_elements if e.in_info))
    if len(info) == 0:
        item.remove(info)
    _write_extension(item, rec, data)


def _write_extension(item: etree._Element, rec: FilingRecord, data: dict[str, Any]) -> None:
    ext = etree.SubElement(item, CF + "Filing")
    if rec.position is not None:
        _sub(ext, CF + "Elevation", repr(rec.position.elevation))
    for tag, field in CF_FIELDS:
        if data[field] is not None:
            _sub(ext, CF + tag, data[field])
    if rec.move_filings:
        moves = etree.SubElement(ext, CF + "MoveFilings")
        for mf in rec.move_filings:
            m = etree.SubElement(moves, CF + "MoveFiling")
            mdata = mf.model_dump(mode="json")
            for tag, field in MOVE_FIELDS:
                if mdata[field] is not None:
                    _sub(m, CF + tag, mdata[field])
            if mf.new_position is not None:
                np_ = etree.SubElement(m, CF + "NewPosition")
                _sub(np_, CF + "Longitude", repr(mf.new_position.longitude))
                _sub(np_, CF + "Latitude", repr(mf.new_position.latitude))
                _sub(np_, CF + "Elevation", repr(mf.new_position.elevation))


def _write_node(device_list: etree._Element, node: CatalogNode) -> None:
    item = etree.SubElement(device_list, "Item")
    data = node.model_dump(mode="json")
    for tag, field in NODE_FIELDS:
        if data[field] or tag in {"DeviceID", "Name"}:
            _sub(item, tag, data[field])
    _append_extra(item, node.extra_elements)


def _path(el: etree._Element, item: etree._Element) -> str:
    names = []
    here: etree._Element | None = el
    while here is not None and here is not item:
        q = etree.QName(here)
        names.append(("cf:" if q.namespace == CAMFLEET_NS else "") + q.localname)
        here = here.getparent()
    return "/".join(reversed(names)) or "Item"


def _unencodable(root: etree._Element, encoding: ExportEncoding) -> list[str]:
    """Every text or attribute in the document the encoding cannot write, by camera and path."""
    problems = []
    for item in root.iter("Item"):
        device_id = item.findtext("DeviceID") or "?"
        for el in item.iter(tag=etree.Element):
            texts = [("", el.text or "")] + [(f"@{k!s}", str(v)) for k, v in el.attrib.items()]
            for attr, text in texts:
                for ch in dict.fromkeys(text):
                    try:
                        ch.encode(encoding)
                    except UnicodeEncodeError:
                        problems.append(
                            f"{device_id} {_path(el, item)}{attr}: {ch!r} (U+{ord(ch):04X}) is "
                            f"not in {EXPORT_ENCODINGS[encoding]}; write the catalog as UTF-8 "
                            "or GB18030, or change the text")
    return problems


def dump_xml(records: Iterable[FilingRecord], *, platform_id: str,
             nodes: Iterable[CatalogNode] = (), encoding: ExportEncoding = "gb2312",
             sn: int = 1) -> bytes:
    """A GB/T 28181 Catalog response from ``platform_id``: the nodes, then the cameras.

    Raises :class:`FilingExportError` naming each camera and element that the encoding
    cannot write, and ``ValueError`` for a platform id that is not a 20-digit id.
    """
    encoding = export_encoding(encoding)
    try:
        split_device_id(platform_id)
    except ValueError as exc:
        raise ValueError(f"platform id (the catalog's own DeviceID): {exc}") from None
    recs, tree = list(records), tree_order(nodes)
    root = etree.Element("Response", nsmap={"cf": CAMFLEET_NS})
    _sub(root, "CmdType", "Catalog")
    _sub(root, "SN", sn)
    _sub(root, "DeviceID", platform_id)
    _sub(root, "SumNum", len(tree) + len(recs))
    device_list = etree.SubElement(root, "DeviceList", Num=str(len(tree) + len(recs)))
    for node in tree:
        _write_node(device_list, node)
    for rec in recs:
        _write_item(device_list, rec)
    problems = _unencodable(root, encoding)
    if problems:
        raise FilingExportError(problems)
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    declaration = f'<?xml version="1.0" encoding="{EXPORT_ENCODINGS[encoding]}"?>\n'
    return (declaration + body).encode(encoding)
