"""WS-Discovery message codec (April 2005 draft, as ONVIF uses it), for clients and targets alike.

ONVIF pins the April 2005 WS-Discovery draft (namespace ``http://schemas.xmlsoap.org/ws/2005/04/
discovery``) carried in SOAP 1.2 envelopes with WS-Addressing 2004/08 headers over SOAP-over-UDP
(port 3702, group 239.255.255.250). This module only turns messages into bytes and bytes into
typed values; it opens no socket, so the simulated cameras and devmgr's discovery client share it.

    >>> from devmgr.protocols import wsdiscovery as wsd
    >>> message_id, datagram = wsd.build_probe([wsd.TYPE_NVT], ["onvif://www.onvif.org/location"])
    >>> probe = wsd.parse_probe(datagram)
    >>> probe.message_id == message_id
    True
    >>> wsd.matches(probe, [wsd.TYPE_NVT, wsd.TYPE_DEVICE],
    ...             ["onvif://www.onvif.org/location/city/wuhan"])
    True

Everything parsed here may come from anyone on the network, so parsing is defensive: at most
:data:`MAX_MESSAGE_BYTES`, no DTD (SOAP 1.2 Part 1 §5 forbids one anyway), no entity
expansion, no network access, no huge-tree mode. Anything that is not the expected message
raises :class:`InvalidMessage`; callers on the wire drop it (DISCOVERY-1-1-5).

Error tree::

    WsDiscoveryError
     +-- InvalidMessage            the bytes are not the message asked for (drop them)
     |    +-- FaultReceived        ... they are a SOAP fault; ``.fault`` says which
     +-- MatchingRuleNotSupported  a Probe asks for a MatchBy rule we do not implement
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from lxml import etree

from devmgr.protocols.safe_xml import safe_parser

__all__ = [
    "ACTION_BYE",
    "ACTION_FAULT",
    "ACTION_HELLO",
    "ACTION_PROBE",
    "ACTION_PROBE_MATCHES",
    "ADDRESS_ANONYMOUS",
    "ADDRESS_DISCOVERY",
    "MATCH_BY_LDAP",
    "MATCH_BY_RFC2396",
    "MATCH_BY_RFC3986",
    "MATCH_BY_STRCMP0",
    "MATCH_BY_UUID",
    "MAX_MESSAGE_BYTES",
    "MULTICAST_GROUP",
    "MULTICAST_GROUP_V6",
    "NS_DISCOVERY",
    "NS_DN",
    "NS_SOAP",
    "NS_TDS",
    "NS_WSA",
    "PORT",
    "SUPPORTED_MATCHING_RULES",
    "TYPE_DEVICE",
    "TYPE_NVT",
    "Announcement",
    "AppSequence",
    "Fault",
    "FaultReceived",
    "InvalidMessage",
    "MatchingRuleNotSupported",
    "Probe",
    "ProbeMatch",
    "QName",
    "WsDiscoveryError",
    "build_bye",
    "build_fault_matching_rule_not_supported",
    "build_hello",
    "build_probe",
    "build_probe_matches",
    "matches",
    "new_message_id",
    "parse_fault",
    "parse_hello_bye",
    "parse_probe",
    "parse_probe_matches",
    "scope_matches",
]

# -- wire constants ------------------------------------------------------------------------------
#: SOAP-over-UDP multicast group and port assigned by WS-Discovery.
MULTICAST_GROUP = "239.255.255.250"
MULTICAST_GROUP_V6 = "ff02::c"
PORT = 3702
#: Largest datagram we parse. UDP caps a datagram at 64 KiB; real Probes are < 1 KiB.
MAX_MESSAGE_BYTES = 65536

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_DISCOVERY = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_DN = "http://www.onvif.org/ver10/network/wsdl"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"

ACTION_PROBE = f"{NS_DISCOVERY}/Probe"
ACTION_PROBE_MATCHES = f"{NS_DISCOVERY}/ProbeMatches"
ACTION_HELLO = f"{NS_DISCOVERY}/Hello"
ACTION_BYE = f"{NS_DISCOVERY}/Bye"
ACTION_FAULT = f"{NS_WSA}/fault"
#: [To] of multicast messages (Probe, Hello, Bye) in ad hoc mode.
ADDRESS_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
#: [To] of replies: "whoever sent the request" (WS-Addressing 2004/08 anonymous role).
ADDRESS_ANONYMOUS = f"{NS_WSA}/role/anonymous"

#: Scope matching rules (WS-Discovery 2005, Probe). rfc2396 is the draft's default; ONVIF Core
#: names rfc3986. Both mean the same segment-wise prefix match, so both are served by one rule.
MATCH_BY_RFC2396 = f"{NS_DISCOVERY}/rfc2396"
MATCH_BY_RFC3986 = f"{NS_DISCOVERY}/rfc3986"
MATCH_BY_STRCMP0 = f"{NS_DISCOVERY}/strcmp0"
MATCH_BY_UUID = f"{NS_DISCOVERY}/uuid"
MATCH_BY_LDAP = f"{NS_DISCOVERY}/ldap"
SUPPORTED_MATCHING_RULES: tuple[str, ...] = (MATCH_BY_RFC3986, MATCH_BY_RFC2396, MATCH_BY_STRCMP0)

_PREFERRED_PREFIXES = {NS_DN: "dn", NS_TDS: "tds"}
_SOAP_VERSION_MISMATCH = "http://schemas.xmlsoap.org/soap/envelope/"
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


# -- errors --------------------------------------------------------------------------------------
class WsDiscoveryError(Exception):
    """Base for everything this module raises on purpose."""


class InvalidMessage(WsDiscoveryError, ValueError):
    """The bytes are not a well-formed message of the expected kind; a responder drops them."""


class MatchingRuleNotSupported(WsDiscoveryError):
    """A Probe's Scopes/@MatchBy names a rule we do not implement.

    A target answers a *unicast* Probe with :func:`build_fault_matching_rule_not_supported`
    (DISCOVERY-1-1-10) and stays silent on multicast, where a fault from every target would be
    the very reply implosion the random delay exists to avoid.
    """

    def __init__(self, match_by: str) -> None:
        super().__init__(f"scope matching rule {match_by!r} is not supported; supported: "
                         f"{', '.join(SUPPORTED_MATCHING_RULES)}")
        self.match_by = match_by


class FaultReceived(InvalidMessage):
    """A SOAP fault arrived where another message was expected; ``fault`` has the details."""

    def __init__(self, fault: Fault) -> None:
        subcode = f" / {fault.subcode}" if fault.subcode else ""
        super().__init__(f"SOAP fault {fault.code}{subcode}: {fault.reason}")
        self.fault = fault


# -- data model ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QName:
    """An XML qualified name: compared by namespace and local name, never by prefix."""

    namespace: str
    localname: str

    def __str__(self) -> str:
        return f"{{{self.namespace}}}{self.localname}" if self.namespace else self.localname

    @classmethod
    def from_clark(cls, text: str) -> QName:
        """``{namespace}local`` (as ``str()`` prints it) or a bare local name."""
        if text.startswith("{"):
            namespace, sep, local = text[1:].partition("}")
            if not sep or not local:
                raise ValueError(f"not a QName in Clark notation: {text!r}")
            return cls(namespace, local)
        return cls("", text)


#: ONVIF device types (ONVIF Core "Discovery definitions": tds:Device is mandatory, older
#: clients probe dn:NetworkVideoTransmitter, so a camera announces both).
TYPE_NVT = QName(NS_DN, "NetworkVideoTransmitter")
TYPE_DEVICE = QName(NS_TDS, "Device")


@dataclass(frozen=True, slots=True)
class AppSequence:
    """d:AppSequence header: lets receivers order messages and notice a target restart.

    ``instance_id`` grows each time the target comes back up; ``message_number`` grows with
    every message of one instance (WS-Discovery 2005, application sequencing).
    """

    instance_id: int
    message_number: int
    sequence_id: str | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """A parsed Probe. Empty ``types``/``scopes`` mean "any" (DISCOVERY-1-1-4)."""

    message_id: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    #: Scopes/@MatchBy as sent; ``None`` means the default rule.
    match_by: str | None = None
    #: wsa:ReplyTo/wsa:Address if the client gave one (over UDP the reply goes to the sender).
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeMatch:
    """One d:ProbeMatch of a ProbeMatches reply, with the reply's header fields."""

    endpoint: str
    types: tuple[QName, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    metadata_version: int
    relates_to: str
    message_id: str
    app_sequence: AppSequence | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    """A Hello or a Bye, as a passive monitor sees it."""

    kind: Literal["hello", "bye"]
    endpoint: str
    message_id: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    #: Mandatory in Hello, optional in Bye.
    metadata_version: int | None = None
    app_sequence: AppSequence | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP 1.2 fault, e.g. env:Sender / d:MatchingRuleNotSupported."""

    code: QName
    subcode: QName | None
    reason: str
    relates_to: str | None = None
    #: d:SupportedMatchingRules from the fault detail, if any.
    supported_matching_rules: tuple[str, ...] = ()


# -- building ------------------------------------------------------------------------------------
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
    probe = etree.SubElement(body, _d("Probe"))
    if type_list:
        etree.SubElement(probe, _d("Types")).text = _format_qnames(type_list)
    if scope_list or match_by:
        scopes_el = etree.SubElement(probe, _d("Scopes"))
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
    match = etree.SubElement(etree.SubElement(body, _d("ProbeMatches")), _d("ProbeMatch"))
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
    hello = etree.SubElement(body, _d("Hello"))
    _fill_target(hello, endpoint, types=type_list, scopes=scopes, xaddrs=xaddrs,
                 metadata_version=metadata_version)
    return _serialize(envelope)


def build_bye(endpoint: str, app_sequence: AppSequence, *, message_id: str | None = None) -> bytes:
    """A multicast Bye (sent on leaving the network, DISCOVERY-1-1-8): just the endpoint."""
    envelope, body = _envelope(ACTION_BYE, message_id or new_message_id(), to=ADDRESS_DISCOVERY,
                               app_sequence=app_sequence)
    bye = etree.SubElement(body, _d("Bye"))
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
    fault = etree.SubElement(body, _s("Fault"))
    code = etree.SubElement(fault, _s("Code"))
    etree.SubElement(code, _s("Value")).text = "s:Sender"
    subcode = etree.SubElement(code, _s("Subcode"))
    etree.SubElement(subcode, _s("Value")).text = "d:MatchingRuleNotSupported"
    reason = etree.SubElement(fault, _s("Reason"))
    text = etree.SubElement(reason, _s("Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = "The matching rule specified is not supported"
    detail = etree.SubElement(fault, _s("Detail"))
    etree.SubElement(detail, _d("SupportedMatchingRules")).text = " ".join(supported)
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
    envelope = etree.Element(_s("Envelope"), nsmap=nsmap)
    header = etree.SubElement(envelope, _s("Header"))
    etree.SubElement(header, _a("Action")).text = action
    etree.SubElement(header, _a("MessageID")).text = message_id
    if relates_to is not None:
        etree.SubElement(header, _a("RelatesTo")).text = relates_to
    etree.SubElement(header, _a("To")).text = to
    if app_sequence is not None:
        seq = etree.SubElement(header, _d("AppSequence"))
        seq.set("InstanceId", str(app_sequence.instance_id))
        if app_sequence.sequence_id is not None:
            seq.set("SequenceId", app_sequence.sequence_id)
        seq.set("MessageNumber", str(app_sequence.message_number))
    body = etree.SubElement(envelope, _s("Body"))
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
        etree.SubElement(parent, _d("Types")).text = _format_qnames(types)
    scope_list = _check_uri_list("scope", scopes)
    if scope_list:
        etree.SubElement(parent, _d("Scopes")).text = " ".join(scope_list)
    xaddr_list = _check_uri_list("XAddr", xaddrs)
    if xaddr_list:
        etree.SubElement(parent, _d("XAddrs")).text = " ".join(xaddr_list)
    etree.SubElement(parent, _d("MetadataVersion")).text = str(metadata_version)


def _endpoint_reference(parent: etree._Element, endpoint: str) -> None:
    if not endpoint or _has_space(endpoint):
        raise ValueError(f"endpoint reference address must be a URI, got {endpoint!r}")
    epr = etree.SubElement(parent, _a("EndpointReference"))
    etree.SubElement(epr, _a("Address")).text = endpoint


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


def _s(local: str) -> str:
    return f"{{{NS_SOAP}}}{local}"


def _a(local: str) -> str:
    return f"{{{NS_WSA}}}{local}"


def _d(local: str) -> str:
    return f"{{{NS_DISCOVERY}}}{local}"


# -- parsing -------------------------------------------------------------------------------------
#: Headers we process; any other header flagged mustUnderstand makes the message invalid
#: (SOAP 1.2 Part 1 §5.2.3); a discovery endpoint drops such a message instead of faulting.
_UNDERSTOOD_HEADERS = frozenset({
    _a("Action"), _a("MessageID"), _a("RelatesTo"), _a("To"), _a("ReplyTo"), _a("From"),
    _a("FaultTo"), _d("AppSequence"),
})


@dataclass(frozen=True, slots=True)
class _Envelope:
    action: str
    message_id: str | None
    relates_to: str | None
    reply_to: str | None
    app_sequence: AppSequence | None
    body: etree._Element  # the single child of s:Body


def parse_probe(data: bytes) -> Probe:
    """Parse a Probe; raise :class:`InvalidMessage` for anything else (DISCOVERY-1-1-5)."""
    env = _parse_envelope(data)
    _expect(env, ACTION_PROBE, "Probe")
    if env.message_id is None:
        raise InvalidMessage("Probe without wsa:MessageID: nobody could match a reply to it")
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    match_by: str | None = None
    for child in _children(env.body, "Probe"):
        if child.tag == _d("Types"):
            types = _parse_qnames(child)
        elif child.tag == _d("Scopes"):
            scopes = tuple(_text(child).split())
            match_by = (child.get("MatchBy") or "").strip() or None
        # Other children are extensions (xs:any); ignoring them is what the schema allows.
    return Probe(env.message_id, types, scopes, match_by, env.reply_to)


def parse_probe_matches(data: bytes) -> list[ProbeMatch]:
    """Parse a ProbeMatches reply (possibly with zero matches).

    Raises :class:`FaultReceived` if the reply is a SOAP fault (e.g. for an unsupported
    MatchBy) and :class:`InvalidMessage` for anything else that is not ProbeMatches.
    """
    env = _parse_envelope(data)
    if env.body.tag == _s("Fault"):
        raise FaultReceived(_fault_from(env))
    _expect(env, ACTION_PROBE_MATCHES, "ProbeMatches")
    if env.relates_to is None:
        raise InvalidMessage("ProbeMatches without wsa:RelatesTo cannot be tied to a Probe")
    result = []
    for child in env.body:
        if child.tag != _d("ProbeMatch"):
            continue
        endpoint, types, scopes, xaddrs, version = _parse_target(child, "ProbeMatch")
        if version is None:
            raise InvalidMessage("ProbeMatch without d:MetadataVersion")
        result.append(ProbeMatch(endpoint, types, scopes, xaddrs, version, env.relates_to,
                                 env.message_id or "", env.app_sequence))
    return result


def parse_hello_bye(data: bytes) -> Announcement:
    """Parse a Hello or a Bye (for a passive monitor); anything else is invalid."""
    env = _parse_envelope(data)
    if env.body.tag == _d("Hello"):
        _expect(env, ACTION_HELLO, "Hello")
        kind: Literal["hello", "bye"] = "hello"
    elif env.body.tag == _d("Bye"):
        _expect(env, ACTION_BYE, "Bye")
        kind = "bye"
    else:
        raise InvalidMessage(f"expected Hello or Bye, got body element {env.body.tag}")
    if env.message_id is None:
        raise InvalidMessage(f"{kind.title()} without wsa:MessageID")
    endpoint, types, scopes, xaddrs, version = _parse_target(env.body, kind.title())
    if kind == "hello" and version is None:
        raise InvalidMessage("Hello without d:MetadataVersion")
    return Announcement(kind, endpoint, env.message_id, types, scopes, xaddrs, version,
                        env.app_sequence)


def parse_fault(data: bytes) -> Fault:
    """Parse a SOAP 1.2 fault message."""
    env = _parse_envelope(data)
    if env.body.tag != _s("Fault"):
        raise InvalidMessage(f"expected a SOAP Fault, got body element {env.body.tag}")
    return _fault_from(env)


def _parse_envelope(data: bytes) -> _Envelope:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte "
                             "cap")
    if not data:
        raise InvalidMessage("empty message")
    try:
        root = etree.fromstring(bytes(data), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidMessage(f"not well-formed XML: {exc}") from exc
    # SOAP 1.2 Part 1 §5: a SOAP message MUST NOT contain a DTD. Rejecting it outright also
    # rules out every entity trick (billion laughs, external entities), expanded or not.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidMessage("message carries a DTD (forbidden by SOAP 1.2)")
    if root.tag != _s("Envelope"):
        if root.tag == f"{{{_SOAP_VERSION_MISMATCH}}}Envelope":
            raise InvalidMessage("SOAP 1.1 envelope; WS-Discovery for ONVIF uses SOAP 1.2")
        raise InvalidMessage(f"root element is {root.tag}, not a SOAP 1.2 Envelope")
    header: etree._Element | None = None
    body: etree._Element | None = None
    for child in root:
        if child.tag == _s("Header") and header is None and body is None:
            header = child
        elif child.tag == _s("Body") and body is None:
            body = child
        else:
            raise InvalidMessage(f"unexpected element {child.tag} in the SOAP Envelope")
    if header is None:
        raise InvalidMessage("SOAP Header missing: WS-Discovery needs wsa:Action and MessageID")
    if body is None:
        raise InvalidMessage("SOAP Body missing")
    body_children = list(body)
    if len(body_children) != 1:
        raise InvalidMessage(f"SOAP Body must hold exactly one element, holds "
                             f"{len(body_children)}")

    fields: dict[str, etree._Element] = {}
    for element in header:
        if element.tag in _UNDERSTOOD_HEADERS:
            if element.tag in fields:
                raise InvalidMessage(f"header {element.tag} appears twice")
            fields[element.tag] = element
        elif (element.get(_s("mustUnderstand")) or "").strip() in ("1", "true"):
            raise InvalidMessage(f"header {element.tag} is mustUnderstand and not understood")
    action_el = fields.get(_a("Action"))
    if action_el is None:
        raise InvalidMessage("wsa:Action header missing (WS-Addressing 2004/08)")
    reply_to_el = fields.get(_a("ReplyTo"))
    reply_to = None
    if reply_to_el is not None:
        address = reply_to_el.find(_a("Address"))
        if address is not None:
            reply_to = _text(address) or None
    return _Envelope(
        action=_text(action_el),
        message_id=_optional_text(fields.get(_a("MessageID"))),
        relates_to=_optional_text(fields.get(_a("RelatesTo"))),
        reply_to=reply_to,
        app_sequence=_parse_app_sequence(fields.get(_d("AppSequence"))),
        body=body_children[0],
    )


def _expect(env: _Envelope, action: str, element: str) -> None:
    if env.body.tag != _d(element):
        raise InvalidMessage(f"expected d:{element} ({NS_DISCOVERY}), got body element "
                             f"{env.body.tag}")
    if env.action != action:
        raise InvalidMessage(f"wsa:Action is {env.action!r}, expected {action!r}")


def _children(element: etree._Element, what: str) -> list[etree._Element]:
    children = list(element)
    for tag in (_d("Types"), _d("Scopes")):
        if sum(1 for c in children if c.tag == tag) > 1:
            raise InvalidMessage(f"{what} has more than one {tag}")
    return children


def _parse_target(
    element: etree._Element, what: str
) -> tuple[str, tuple[QName, ...], tuple[str, ...], tuple[str, ...], int | None]:
    """EndpointReference, Types, Scopes, XAddrs, MetadataVersion of a Hello/Bye/ProbeMatch."""
    endpoint: str | None = None
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    version: int | None = None
    for child in _children(element, what):
        if child.tag == _a("EndpointReference"):
            address = child.find(_a("Address"))
            endpoint = _text(address) if address is not None else None
        elif child.tag == _d("Types"):
            types = _parse_qnames(child)
        elif child.tag == _d("Scopes"):
            scopes = tuple(_text(child).split())
        elif child.tag == _d("XAddrs"):
            xaddrs = tuple(_text(child).split())
        elif child.tag == _d("MetadataVersion"):
            version = _parse_uint(_text(child), "MetadataVersion")
    if not endpoint:
        raise InvalidMessage(f"{what} without wsa:EndpointReference/wsa:Address")
    return endpoint, types, scopes, xaddrs, version


def _parse_qnames(element: etree._Element) -> tuple[QName, ...]:
    # xs:QName list: each prefix resolves against the namespaces in scope at d:Types, so
    # "foo:NetworkVideoTransmitter" with xmlns:foo=<dn namespace> is dn:NetworkVideoTransmitter.
    nsmap = element.nsmap
    result = []
    for token in _text(element).split():
        prefix, sep, local = token.rpartition(":")
        if not local or ":" in prefix or (sep and not prefix):
            raise InvalidMessage(f"Types: {token!r} is not a QName")
        namespace = nsmap.get(prefix or None)
        if namespace is None:
            if prefix:
                raise InvalidMessage(f"Types: prefix {prefix!r} of {token!r} is not declared")
            namespace = ""
        result.append(QName(namespace, local))
    return tuple(result)


def _parse_app_sequence(element: etree._Element | None) -> AppSequence | None:
    if element is None:
        return None
    return AppSequence(
        instance_id=_parse_uint(element.get("InstanceId"), "AppSequence/@InstanceId"),
        message_number=_parse_uint(element.get("MessageNumber"), "AppSequence/@MessageNumber"),
        sequence_id=element.get("SequenceId"),
    )


def _parse_uint(text: str | None, what: str) -> int:
    value = (text or "").strip()
    if not value.isdigit() or not value.isascii() or int(value) > 0xFFFFFFFF:
        raise InvalidMessage(f"{what} must be an xs:unsignedInt, got {text!r}")
    return int(value)


def _fault_from(env: _Envelope) -> Fault:
    fault = env.body
    code_value = fault.find(f"{_s('Code')}/{_s('Value')}")
    if code_value is None:
        raise InvalidMessage("SOAP Fault without Code/Value")
    subcode_value = fault.find(f"{_s('Code')}/{_s('Subcode')}/{_s('Value')}")
    reason = fault.find(f"{_s('Reason')}/{_s('Text')}")
    rules = fault.find(f"{_s('Detail')}/{_d('SupportedMatchingRules')}")
    return Fault(
        code=_resolve_qname(code_value),
        subcode=_resolve_qname(subcode_value) if subcode_value is not None else None,
        reason=_text(reason) if reason is not None else "",
        relates_to=env.relates_to,
        supported_matching_rules=tuple(_text(rules).split()) if rules is not None else (),
    )


def _resolve_qname(element: etree._Element) -> QName:
    token = _text(element)
    prefix, _, local = token.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace is None and prefix:
        raise InvalidMessage(f"fault code {token!r}: prefix {prefix!r} is not declared")
    return QName(namespace or "", local)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _optional_text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return _text(element) or None


# -- matching ------------------------------------------------------------------------------------
def matches(probe: Probe, types: Iterable[QName], scopes: Iterable[str]) -> bool:
    """Does a target with these Types and Scopes match the Probe? (WS-Discovery 2005, Probe)

    Every Type in the Probe must be among ``types`` (QName equality: namespace + local name,
    whatever prefix either side used); every Scope in the Probe must match at least one of
    ``scopes`` under the Probe's MatchBy rule. Omitted Types/Scopes match anything.

    Raises :class:`MatchingRuleNotSupported` for a MatchBy we do not implement, before
    looking at Types, so a unicast responder can always fault (DISCOVERY-1-1-10).
    """
    rule = probe.match_by or MATCH_BY_RFC3986
    if rule not in SUPPORTED_MATCHING_RULES:
        raise MatchingRuleNotSupported(rule)
    offered = set(types)
    if any(wanted not in offered for wanted in probe.types):
        return False
    if not probe.scopes:
        return True
    target_scopes = list(scopes)
    return all(any(scope_matches(wanted, have, rule) for have in target_scopes)
               for wanted in probe.scopes)


def scope_matches(probe_scope: str, target_scope: str, match_by: str | None = None) -> bool:
    """Does one Probe scope match one target scope under ``match_by`` (default rfc3986)?

    rfc3986/rfc2396: scheme and authority equal ignoring case, and the Probe's path segments
    are a segment-wise prefix of the target's (``/location/city`` matches
    ``/location/city/wuhan``, not ``/location/cityhall``); segments compare case-sensitively
    after percent-decoding; query and fragment are ignored; a ``.`` or ``..`` segment on
    either side never matches. strcmp0: case-sensitive string equality.
    """
    rule = match_by or MATCH_BY_RFC3986
    if rule == MATCH_BY_STRCMP0:
        return probe_scope == target_scope
    if rule not in (MATCH_BY_RFC3986, MATCH_BY_RFC2396):
        raise MatchingRuleNotSupported(rule)
    wanted = _split_scope(probe_scope)
    have = _split_scope(target_scope)
    if wanted is None or have is None:
        return False
    scheme, authority, segments = wanted
    return (scheme == have[0] and authority == have[1]
            and have[2][: len(segments)] == segments)


def _split_scope(uri: str) -> tuple[str, str, tuple[str, ...]] | None:
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unbalanced IPv6 bracket in the authority
        return None
    segments = parts.path.split("/")
    if parts.path.startswith("/"):
        segments = segments[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]  # "/location/" means the same as "/location"
    decoded = tuple(unquote(segment) for segment in segments)
    if any(segment in (".", "..") for segment in decoded):
        return None
    return parts.scheme.lower(), unquote(parts.netloc).lower(), decoded
