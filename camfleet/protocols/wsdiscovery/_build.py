"""Building messages: Probe, ProbeMatches, Hello, Bye and the MatchingRuleNotSupported fault.

Every URI list is checked (no empty item, no whitespace inside one), so what is built parses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from lxml import etree

from camfleet.protocols.wsdiscovery._model import (
    ACTION_BYE,
    ACTION_FAULT,
    ACTION_HELLO,
    ACTION_PROBE,
    ACTION_PROBE_MATCHES,
    ADDRESS_ANONYMOUS,
    ADDRESS_DISCOVERY,
    NS_DISCOVERY,
    NS_DN,
    NS_SOAP,
    NS_TDS,
    NS_WSA,
    SUPPORTED_MATCHING_RULES,
    AppSequence,
    QName,
    disco,
    soap,
    wsa,
)

_PREFERRED_PREFIXES = {NS_DN: "dn", NS_TDS: "tds"}
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def new_message_id() -> str:
    """A fresh ``urn:uuid:`` MessageID (ONVIF Core uses URN:UUID, RFC 4122)."""
    return f"urn:uuid:{uuid.uuid4()}"


def build_probe(
    types: Iterable[QName] = (),
    scopes: Iterable[str] = (),
    message_id: str | None = None,
    *,
    match_by: str | None = None,
) -> tuple[str, bytes]:
    """A Probe; returns ``(message_id, datagram)`` so the caller can match RelatesTo."""
    message_id = message_id or new_message_id()
    type_list = list(types)
    scope_list = _check_uri_list("scope", scopes)
    envelope, body = _envelope(ACTION_PROBE, message_id, to=ADDRESS_DISCOVERY,
                               type_namespaces=type_list)
    probe = etree.SubElement(body, disco("Probe"))
    if type_list:
        etree.SubElement(probe, disco("Types")).text = _format_qnames(type_list)
    if scope_list or match_by:
        scopes_el = etree.SubElement(probe, disco("Scopes"))
        scopes_el.text = " ".join(scope_list)
        if match_by:
            scopes_el.set("MatchBy", match_by)
    return message_id, _serialize(envelope)


def build_probe_matches(
    relates_to: str,
    endpoint: str,
    *,
    types: Iterable[QName],
    scopes: Iterable[str],
    xaddrs: Iterable[str],
    metadata_version: int,
    app_sequence: AppSequence,
    message_id: str | None = None,
) -> bytes:
    """A ProbeMatches reply with one ProbeMatch; RelatesTo is the Probe's MessageID."""
    type_list = list(types)
    envelope, body = _envelope(
        ACTION_PROBE_MATCHES, message_id or new_message_id(), to=ADDRESS_ANONYMOUS,
        relates_to=relates_to, app_sequence=app_sequence, type_namespaces=type_list,
    )
    match = etree.SubElement(etree.SubElement(body, disco("ProbeMatches")), disco("ProbeMatch"))
    _fill_target(match, endpoint, types=type_list, scopes=scopes, xaddrs=xaddrs,
                 metadata_version=metadata_version)
    return _serialize(envelope)


def build_hello(
    endpoint: str,
    *,
    types: Iterable[QName],
    scopes: Iterable[str],
    xaddrs: Iterable[str],
    metadata_version: int,
    app_sequence: AppSequence,
    message_id: str | None = None,
) -> bytes:
    """A multicast Hello (sent on joining the network, DISCOVERY-1-1-2)."""
    type_list = list(types)
    envelope, body = _envelope(ACTION_HELLO, message_id or new_message_id(),
                               to=ADDRESS_DISCOVERY, app_sequence=app_sequence,
                               type_namespaces=type_list)
    hello = etree.SubElement(body, disco("Hello"))
    _fill_target(hello, endpoint, types=type_list, scopes=scopes, xaddrs=xaddrs,
                 metadata_version=metadata_version)
    return _serialize(envelope)


def build_bye(endpoint: str, app_sequence: AppSequence, *, message_id: str | None = None) -> bytes:
    """A multicast Bye (sent on leaving the network, DISCOVERY-1-1-8): just the endpoint."""
    envelope, body = _envelope(ACTION_BYE, message_id or new_message_id(), to=ADDRESS_DISCOVERY,
                               app_sequence=app_sequence)
    bye = etree.SubElement(body, disco("Bye"))
    _endpoint_reference(bye, endpoint)
    return _serialize(envelope)


def build_fault_matching_rule_not_supported(
    relates_to: str,
    *,
    supported: Sequence[str] = SUPPORTED_MATCHING_RULES,
    message_id: str | None = None,
) -> bytes:
    """The fault a target returns for a unicast Probe with an unknown MatchBy.

    WS-Discovery 2005 fault table / DISCOVERY-1-1-10: Code env:Sender, Subcode
    d:MatchingRuleNotSupported, Detail d:SupportedMatchingRules.
    """
    envelope, body = _envelope(ACTION_FAULT, message_id or new_message_id(),
                               to=ADDRESS_ANONYMOUS, relates_to=relates_to)
    fault = etree.SubElement(body, soap("Fault"))
    code = etree.SubElement(fault, soap("Code"))
    etree.SubElement(code, soap("Value")).text = "s:Sender"
    subcode = etree.SubElement(code, soap("Subcode"))
    etree.SubElement(subcode, soap("Value")).text = "d:MatchingRuleNotSupported"
    reason = etree.SubElement(fault, soap("Reason"))
    text = etree.SubElement(reason, soap("Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = "The matching rule specified is not supported"
    detail = etree.SubElement(fault, soap("Detail"))
    etree.SubElement(detail, disco("SupportedMatchingRules")).text = " ".join(supported)
    return _serialize(envelope)


def _envelope(
    action: str,
    message_id: str,
    *,
    to: str,
    relates_to: str | None = None,
    app_sequence: AppSequence | None = None,
    type_namespaces: Iterable[QName] = (),
) -> tuple[etree._Element, etree._Element]:
    # Type prefixes are declared on the envelope so "dn:... tds:..." resolves anywhere inside.
    nsmap: dict[str, str] = {"s": NS_SOAP, "a": NS_WSA, "d": NS_DISCOVERY}
    for prefix, namespace in _type_prefixes(type_namespaces).items():
        nsmap[prefix] = namespace
    envelope = etree.Element(soap("Envelope"), nsmap=nsmap)
    header = etree.SubElement(envelope, soap("Header"))
    etree.SubElement(header, wsa("Action")).text = action
    etree.SubElement(header, wsa("MessageID")).text = message_id
    if relates_to is not None:
        etree.SubElement(header, wsa("RelatesTo")).text = relates_to
    etree.SubElement(header, wsa("To")).text = to
    if app_sequence is not None:
        seq = etree.SubElement(header, disco("AppSequence"))
        seq.set("InstanceId", str(app_sequence.instance_id))
        if app_sequence.sequence_id is not None:
            seq.set("SequenceId", app_sequence.sequence_id)
        seq.set("MessageNumber", str(app_sequence.message_number))
    body = etree.SubElement(envelope, soap("Body"))
    return envelope, body


def _fill_target(
    parent: etree._Element,
    endpoint: str,
    *,
    types: list[QName],
    scopes: Iterable[str],
    xaddrs: Iterable[str],
    metadata_version: int,
) -> None:
    if metadata_version < 0:
        raise ValueError(f"MetadataVersion is an xs:unsignedInt, got {metadata_version}")
    _endpoint_reference(parent, endpoint)
    if types:
        etree.SubElement(parent, disco("Types")).text = _format_qnames(types)
    scope_list = _check_uri_list("scope", scopes)
    if scope_list:
        etree.SubElement(parent, disco("Scopes")).text = " ".join(scope_list)
    xaddr_list = _check_uri_list("XAddr", xaddrs)
    if xaddr_list:
        etree.SubElement(parent, disco("XAddrs")).text = " ".join(xaddr_list)
    etree.SubElement(parent, disco("MetadataVersion")).text = str(metadata_version)


def _endpoint_reference(parent: etree._Element, endpoint: str) -> None:
    if not endpoint or _has_space(endpoint):
        raise ValueError(f"endpoint reference address must be a URI, got {endpoint!r}")
    epr = etree.SubElement(parent, wsa("EndpointReference"))
    etree.SubElement(epr, wsa("Address")).text = endpoint


def _type_prefixes(types: Iterable[QName]) -> dict[str, str]:
    """prefix -> namespace for the Types list: dn/tds for ONVIF, t0, t1 ... for the rest."""
    prefixes: dict[str, str] = {}
    seen: set[str] = set()
    for qname in types:
        if not qname.namespace or qname.namespace in seen:
            continue
        seen.add(qname.namespace)
        prefix = _PREFERRED_PREFIXES.get(qname.namespace) or f"t{len(prefixes)}"
        prefixes[prefix] = qname.namespace
    return prefixes


def _format_qnames(types: Iterable[QName]) -> str:
    by_namespace = {ns: prefix for prefix, ns in _type_prefixes(types).items()}
    parts = []
    for qname in types:
        if not qname.localname or ":" in qname.localname or _has_space(qname.localname):
            raise ValueError(f"not an XML local name: {qname.localname!r}")
        if qname.namespace:
            parts.append(f"{by_namespace[qname.namespace]}:{qname.localname}")
        else:  # no default namespace is declared, so a bare name is in no namespace
            parts.append(qname.localname)
    return " ".join(parts)


def _check_uri_list(what: str, items: Iterable[str]) -> list[str]:
    # Scopes and XAddrs travel as whitespace-separated lists: a space would split a URI.
    result = list(items)
    for item in result:
        if not item or _has_space(item):
            raise ValueError(f"{what} must be a non-empty URI without whitespace: {item!r}")
    return result


def _has_space(text: str) -> bool:
    return any(ch.isspace() for ch in text)


def _serialize(envelope: etree._Element) -> bytes:
    # The double-quoted declaration devices conventionally send (lxml would use single quotes).
    return _XML_DECLARATION + etree.tostring(envelope, encoding="UTF-8", xml_declaration=False)
