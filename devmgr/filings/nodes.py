"""The organisation tree of a GB/T 28181 catalog: its directory nodes, kept as they came.

Platforms send, besides cameras, the nodes cameras hang under (their ``ParentID``):
administrative divisions (2/4/6/8-digit GB/T 2260 codes), business groups (type 215) and
virtual organisations (type 216, nested, each in a business group). camfleet keeps them so an
exported catalog places every camera where the platform had it.

Elements camfleet has no field for (on nodes and on cameras) are kept verbatim as
:class:`CatalogElement`, so a round trip loses nothing of a platform's catalog.

    >>> nodes = [CatalogNode(device_id="42010000002160000002", name="江岸分局",
    ...                      parent_id="42010000002160000001"),
    ...          CatalogNode(device_id="42010000002160000001", name="武汉市局"),
    ...          CatalogNode(device_id="4201", name="武汉市")]
    >>> [n.kind for n in tree_order(nodes)]
    ['division', 'virtual-organisation', 'virtual-organisation']
    >>> [n.name for n in tree_order(nodes)][1:]
    ['武汉市局', '江岸分局']
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Annotated, Literal

from lxml import etree
from pydantic import AfterValidator, Field, field_validator

from camfleet.model import Model
from camfleet.protocols.safe_xml import safe_parser
from devmgr.filings.codes import catalog_kind

__all__ = [
    "NODE_KINDS",
    "CatalogElement",
    "CatalogNode",
    "NodeKind",
    "canonical_xml",
    "item_first",
    "tree_order",
]

NodeKind = Literal["division", "business-group", "virtual-organisation"]
NODE_KINDS: tuple[NodeKind, ...] = ("division", "business-group", "virtual-organisation")
#: A ParentID: one id, or (GB/T 28181-2022) a "/"-separated path of ids.
PARENT_ID_PATTERN = r"^(\d{2,20}(/\d{2,20})*)?$"


class CatalogElement(Model):
    """A catalog element camfleet has no field for, kept as serialized XML.

    Kept in a canonical form: namespace declarations it does not use and whitespace-only
    text between child elements (indentation) are dropped, so a pretty-printed export reads
    back equal.

    >>> e = CatalogElement(xml="<Lens>\\n  <Focal>2.8</Focal>\\n</Lens>", in_info=True)
    >>> e.tag, e.xml
    ('Lens', '<Lens><Focal>2.8</Focal></Lens>')
    """

    #: Inside ``<Info>`` rather than directly in ``<Item>``.
    in_info: bool = False
    xml: str = Field(max_length=65536)

    @field_validator("xml")
    @classmethod
    def _one_element(cls, value: str) -> str:
        try:
            el = etree.fromstring(value.encode("utf-8"), parser=safe_parser("utf-8"))
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"not one well-formed XML element: {exc.msg}") from None
        return canonical_xml(el)

    @property
    def tag(self) -> str:
        return etree.QName(self.element()).localname

    def element(self) -> etree._Element:
        return etree.fromstring(self.xml.encode("utf-8"), parser=safe_parser("utf-8"))


class CatalogNode(Model):
    """One directory node of a catalog (not a camera: it has no filing)."""

    device_id: str
    name: str
    parent_id: str = Field(default="", pattern=PARENT_ID_PATTERN)
    business_group_id: str = ""
    #: Every other element of the item, in order (CivilCode, Parental, Status, ...).
    extra_elements: Annotated[tuple[CatalogElement, ...], AfterValidator(item_first)] = ()

    @field_validator("device_id")
    @classmethod
    def _directory_id(cls, value: str) -> str:
        kind = catalog_kind(value)
        if kind not in NODE_KINDS:
            raise ValueError(
                f"{value} is a {kind}, not a directory node (a 2/4/6/8-digit division, "
                "type 215 or type 216)"
            )
        return value

    @property
    def kind(self) -> NodeKind:
        return _AS_NODE_KIND[catalog_kind(self.device_id)]  # a node kind: checked at construction


def item_first(elements: tuple[CatalogElement, ...]) -> tuple[CatalogElement, ...]:
    """Item-level elements first, then those in ``<Info>``, each in document order: where a
    catalog writes them back, so a round trip gives the same tuple."""
    return tuple(sorted(elements, key=lambda e: e.in_info))


def canonical_xml(element: etree._Element) -> str:
    """``element`` alone as text: no tail, no unused namespace declarations, no indentation
    (whitespace-only text next to child elements)."""
    alone = copy.deepcopy(element)
    alone.tail = None
    for el in alone.iter(tag=etree.Element):
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el is not alone and el.tail is not None and not el.tail.strip():
            el.tail = None
    etree.cleanup_namespaces(alone)
    return etree.tostring(alone, encoding="unicode")


_AS_NODE_KIND: dict[str, NodeKind] = {kind: kind for kind in NODE_KINDS}
_KIND_ORDER = {kind: n for n, kind in enumerate(NODE_KINDS)}


def tree_order(nodes: Iterable[CatalogNode]) -> list[CatalogNode]:
    """Parents before children: divisions by code length, then business groups, then virtual
    organisations, each after the node its ParentID names when that node is in the list."""
    pending = sorted(nodes, key=lambda n: (_KIND_ORDER[n.kind], len(n.device_id), n.device_id))
    ids = {n.device_id for n in pending}
    placed: set[str] = set()
    ordered: list[CatalogNode] = []
    while pending:
        ready = [n for n in pending
                 if n.parent_id.rsplit("/", 1)[-1] not in ids - placed - {n.device_id}]
        if not ready:  # a ParentID cycle: keep the rest in id order rather than loop
            ready = pending
        for node in ready:
            ordered.append(node)
            placed.add(node.device_id)
        pending = [n for n in pending if n.device_id not in placed]
    return ordered
