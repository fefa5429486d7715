"""Catalog XML to filing records and directory nodes (see :mod:`devmgr.filings.catalog`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from camfleet.protocols.safe_xml import safe_parser
from devmgr.filings.catalog._decode import decode
from devmgr.filings.catalog._fields import (
    AFTER_POSITION,
    CAMFLEET_NS,
    CF,
    CF_FIELDS,
    EITHER_PLACE,
    INFO_FIELDS,
    ITEM_FIELDS,
    MOVE_FIELDS,
    NODE_FIELDS,
)
from devmgr.filings.codes import catalog_kind, split_device_id
from devmgr.filings.nodes import CatalogElement, canonical_xml
from devmgr.filings.problems import Collector, FilingImportError, Imported


def _line(el: etree._Element | None) -> int | None:
    line = None if el is None else el.sourceline
    return line if isinstance(line, int) else None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None or not el.text.strip():
        return None  # platforms often write empty elements for unknown values
    return el.text.strip()


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _verbatim(el: etree._Element, in_info: bool = False) -> CatalogElement:
    return CatalogElement(in_info=in_info, xml=canonical_xml(el))


class _Item:
    """One ``<Item>`` split into the elements camfleet reads (in the item and in its
    ``<Info>``) and the ones it keeps verbatim; a read element given twice is an error."""

    def __init__(self, item: etree._Element, item_tags: set[str], info_tags: set[str]) -> None:
        self.known: dict[str, etree._Element] = {}
        self.info: dict[str, etree._Element] = {}
        self.extension: etree._Element | None = None
        self.extra: list[CatalogElement] = []
        self.errors: list[str] = []
        for el in _elements(item):
            q = etree.QName(el)
            if q.namespace == CAMFLEET_NS and q.localname == "Filing":
                self.extension = el
            elif q.namespace is None and q.localname == "Info":
                for child in _elements(el):
                    self._keep(self.info, child, info_tags, in_info=True)
            else:
                self._keep(self.known, el, item_tags, in_info=False)

    def _keep(self, into: dict[str, etree._Element], el: etree._Element, tags: set[str], *,
              in_info: bool) -> None:
        q = etree.QName(el)
        if q.namespace is not None or q.localname not in tags:
            self.extra.append(_verbatim(el, in_info))
        elif q.localname in into:
            where = "<Info>" if in_info else "the item"
            self.errors.append(f"<{q.localname}> appears twice in {where} (lines "
                               f"{_line(into[q.localname])} and {_line(el)})")
        else:
            into[q.localname] = el

    def value(self, tag: str) -> str | None:
        """The text of ``tag`` from the item or its Info; both and different is an error."""
        here, there = _text(self.known.get(tag)), _text(self.info.get(tag))
        if here is not None and there is not None and here != there:
            self.errors.append(f"{tag} is {here} in the item and {there} in <Info>")
        return there if there is not None else here


_CAMERA_ITEM_TAGS = ({t for t, _, _ in (*ITEM_FIELDS, *AFTER_POSITION)}
                     | {"Longitude", "Latitude", "Password"} | EITHER_PLACE)
_CAMERA_INFO_TAGS = {t for t, _ in INFO_FIELDS}
_NODE_ITEM_TAGS = {t for t, _ in NODE_FIELDS}
_NODE_INFO_TAGS = {"BusinessGroupID"}


def _camera_data(item: etree._Element, col: Collector, index: int) -> dict[str, Any] | None:
    parts = _Item(item, _CAMERA_ITEM_TAGS, _CAMERA_INFO_TAGS)
    found: dict[str, str | None] = {
        field: _text(parts.known.get(tag)) for tag, field, _ in (*ITEM_FIELDS, *AFTER_POSITION)}
    found |= {field: parts.value(tag) if tag in EITHER_PLACE else _text(parts.info.get(tag))
              for tag, field in INFO_FIELDS}
    data: dict[str, Any] = {k: v for k, v in found.items() if v is not None}
    if "Password" in parts.known:
        col.note(_line(item), index, f"{data.get('device_id')}: Password not stored "
                                     "(a credential has no place in a filing)")
    data["extra_elements"] = parts.extra
    elevation = _read_extension(parts, data)
    lon, lat = _text(parts.known.get("Longitude")), _text(parts.known.get("Latitude"))
    if (lon is None) != (lat is None):
        parts.errors.append("position: Longitude and Latitude come together (one is missing)")
    elif lon is not None:
        data["position"] = {"longitude": lon, "latitude": lat}
        if elevation is not None:
            data["position"]["elevation"] = elevation
    for err in parts.errors:
        col.problem(_line(item), index, err)
    return None if parts.errors else data


def _read_extension(parts: _Item, data: dict[str, Any]) -> str | None:
    """Copy the camfleet extension's fields into ``data``; return its elevation."""
    if parts.extension is None:
        return None
    cf = {_local(c): c for c in _elements(parts.extension)
          if etree.QName(c).namespace == CAMFLEET_NS}
    known = {t for t, _ in CF_FIELDS} | {"Elevation", "MoveFilings"}
    parts.errors += [f"unknown camfleet element cf:{t}" for t in cf if t not in known]
    data |= _texts(cf, CF_FIELDS)
    moves = cf.get("MoveFilings")
    if moves is not None:
        data["move_filings"] = [_move_data(m) for m in _elements(moves)
                                if _local(m) == "MoveFiling"]
    return _text(cf.get("Elevation"))


def _texts(elements: dict[str, etree._Element],
           fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """field -> text of its element, for the elements present and not empty."""
    found = {field: _text(elements.get(tag)) for tag, field in fields}
    return {field: text for field, text in found.items() if text is not None}


def _move_data(el: etree._Element) -> dict[str, Any]:
    kids = {_local(c): c for c in _elements(el)}
    data = _texts(kids, MOVE_FIELDS)
    new_pos = kids.get("NewPosition")
    if new_pos is not None:
        pos = {_local(c): _text(c) for c in _elements(new_pos)}
        data["new_position"] = {k.lower(): v for k, v in pos.items() if v is not None}
    return data


def _node_data(item: etree._Element, col: Collector, index: int) -> dict[str, Any] | None:
    parts = _Item(item, _NODE_ITEM_TAGS, _NODE_INFO_TAGS)
    found = {field: parts.value(tag) for tag, field in NODE_FIELDS}
    data: dict[str, Any] = {k: v for k, v in found.items() if v is not None}
    data["extra_elements"] = parts.extra
    if parts.extension is not None:
        parts.errors.append("a directory node has no filing (cf:Filing)")
    for err in parts.errors:
        col.problem(_line(item), index, err)
    return None if parts.errors else data


def _read_item(item: etree._Element, col: Collector, index: int) -> None:
    device_id = _text(next((c for c in _elements(item) if c.tag == "DeviceID"), None))
    if device_id is None:
        col.problem(_line(item), index, "the item has no DeviceID")
        return
    try:
        kind = catalog_kind(device_id)
    except ValueError as exc:
        col.problem(_line(item), index, f"device_id: {exc}")
        return
    if kind == "camera":
        data = _camera_data(item, col, index)
        if data is not None:
            col.add(data, _line(item), index, catalog_only=CF + "Filing" not in {
                c.tag for c in _elements(item)})
    elif kind == "other-device":
        type_name = split_device_id(device_id).type_name
        col.skip(_line(item), index, f"{device_id}: type {device_id[10:13]} ({type_name}) is "
                                     "neither a camera nor a directory node")
    else:
        node = _node_data(item, col, index)
        if node is not None:
            col.add_node(node, _line(item), index)


def loads_xml(content: bytes | str, source: str = "<xml>", *,
              encoding: str | None = None) -> Imported:
    """Parse a GB/T 28181 Catalog ``Response`` (or ``Notify``); all-or-nothing.

    Pass the bytes read from a file: they are decoded strictly with the declared encoding,
    or with ``encoding`` when given (a sender that writes GBK under a GB2312 label). A ``str``
    is taken as already decoded.
    """
    col = Collector(source)
    text = content if isinstance(content, str) else decode(content, col, encoding)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=safe_parser("utf-8"))
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
    top = {_local(c): c for c in _elements(root) if etree.QName(c).namespace is None}
    if _text(top.get("CmdType")) != "Catalog":
        col.problem(_line(root), None, "CmdType is not Catalog")
        raise FilingImportError(col.problems)
    col.imported.sender = _text(top.get("DeviceID")) or ""
    device_list = top.get("DeviceList")
    items = [] if device_list is None else [i for i in device_list if _local(i) == "Item"]
    num = None if device_list is None else device_list.get("Num")
    if num is not None and num.strip() != str(len(items)):
        col.problem(
            _line(device_list), None, f"DeviceList Num={num} but it holds {len(items)} item(s)"
        )
    for index, item in enumerate(items):
        _read_item(item, col, index)
    return col.result()
