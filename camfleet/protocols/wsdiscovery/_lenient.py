"""Reading replies whose only fault is undeclared namespace prefixes (seen in real firmware).

Only a document whose *every* parse error is an undefined namespace prefix is re-read, with a
recovering parser hardened like :func:`camfleet.protocols.safe_xml.safe_parser` (no DTD
loading, no entities, no network, no huge tree). The prefixes are then bound to the namespaces
they conventionally name; a prefix outside that table leaves the message unreadable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, cast

from lxml import etree

from camfleet.protocols.wsdiscovery._model import NS_DISCOVERY, NS_DN, NS_SOAP, NS_TDS, NS_WSA

#: Prefix -> namespace, as WS-Discovery implementations customarily spell them.
CONVENTIONAL_PREFIXES: dict[str, str] = {
    "s": NS_SOAP, "soap": NS_SOAP, "soap12": NS_SOAP, "env": NS_SOAP, "SOAP-ENV": NS_SOAP,
    "a": NS_WSA, "wsa": NS_WSA, "wsadis": NS_WSA,
    "d": NS_DISCOVERY, "wsd": NS_DISCOVERY, "wsdd": NS_DISCOVERY, "dis": NS_DISCOVERY,
    "dn": NS_DN, "tds": NS_TDS,
}
_MAX_REPORTED = 8
_HARDENED: dict[str, Any] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
    "huge_tree": False, "remove_comments": True, "remove_pis": True, "collect_ids": False}


def recover_prefixes(data: bytes) -> tuple[etree._Element, str] | None:
    """``(root, note)`` if undeclared prefixes were all that was wrong and all are known.

    Fresh parsers each time: a shared parser's error log may still hold an earlier document's
    errors, and the decision must rest on this document's alone.
    """
    strict = etree.XMLParser(**_HARDENED)
    with contextlib.suppress(etree.XMLSyntaxError):
        etree.fromstring(data, strict)
    log: Iterable[Any] = cast("Iterable[Any]", strict.error_log)  # iterable; stubs say not
    entries = list(log)
    if not entries or any(e.type_name != "NS_ERR_UNDEFINED_NAMESPACE" for e in entries):
        return None
    try:
        root = etree.fromstring(data, etree.XMLParser(recover=True, **_HARDENED))
    except etree.XMLSyntaxError:
        return None
    if root is None:
        return None
    used: dict[str, None] = {}
    try:
        _bind_all(root, used)
    except KeyError:
        return None
    if not used:
        return None
    shown = ", ".join(list(used)[:_MAX_REPORTED])
    return root, f"undeclared namespace prefixes: {shown}"


def _bind_all(root: etree._Element, used: dict[str, None]) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if ":" in element.tag and not element.tag.startswith("{"):
            element.tag = _bind(element.tag, used)
        for key in list(element.attrib):
            name = key if isinstance(key, str) else key.decode()
            if ":" in name and not name.startswith("{"):
                value = element.attrib.pop(key)
                element.set(_bind(name, used), value)


def _bind(name: str, used: dict[str, None]) -> str:
    prefix, _, local = name.partition(":")
    namespace = CONVENTIONAL_PREFIXES.get(prefix)
    if namespace is None or not local or ":" in local:
        raise KeyError(prefix)
    used[prefix] = None
    return f"{{{namespace}}}{local}"
