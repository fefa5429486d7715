"""Parsing messages, defensively: everything here may come from anyone on the network.

At most ``MAX_MESSAGE_BYTES``, no DTD, no entity expansion, no network access, no huge-tree
mode; anything that is not the expected message raises ``InvalidMessage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import etree

from camfleet.protocols.safe_xml import safe_parser
from camfleet.protocols.wsdiscovery._lenient import CONVENTIONAL_PREFIXES, recover_prefixes
from camfleet.protocols.wsdiscovery._model import (
    ACTION_BYE,
    ACTION_HELLO,
    ACTION_PROBE,
    ACTION_PROBE_MATCHES,
    MAX_MESSAGE_BYTES,
    NS_DISCOVERY,
    Announcement,
    AppSequence,
    Fault,
    FaultReceived,
    InvalidMessage,
    Probe,
    ProbeMatch,
    QName,
    disco,
    soap,
    wsa,
)

_SOAP_VERSION_MISMATCH = "http://schemas.xmlsoap.org/soap/envelope/"

#: Headers we process; any other header flagged mustUnderstand makes the message invalid
#: (SOAP 1.2 Part 1 §5.2.3); a discovery endpoint drops such a message instead of faulting.
_UNDERSTOOD_HEADERS = frozenset({
    wsa("Action"), wsa("MessageID"), wsa("RelatesTo"), wsa("To"), wsa("ReplyTo"), wsa("From"),
    wsa("FaultTo"), disco("AppSequence"),
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
        if child.tag == disco("Types"):
            types = _parse_qnames(child)
        elif child.tag == disco("Scopes"):
            scopes = tuple(_text(child).split())
            match_by = (child.get("MatchBy") or "").strip() or None
        # Other children are extensions (xs:any); ignoring them is what the schema allows.
    return Probe(env.message_id, types, scopes, match_by, env.reply_to)


def parse_probe_matches(data: bytes, *, lenient: bool = False) -> list[ProbeMatch]:
    """Parse a ProbeMatches reply (possibly with zero matches).

    Raises :class:`FaultReceived` if the reply is a SOAP fault (e.g. for an unsupported
    MatchBy) and :class:`InvalidMessage` for anything else that is not ProbeMatches.

    ``lenient`` accepts what real firmware gets wrong but can still be read unambiguously:
    a bare d:ProbeMatch as the Body's child, d:EndpointReference/d:Address instead of the
    WS-Addressing elements, and undeclared conventional prefixes (s:, a:, d:, dn:, tds:, ...).
    Each match then names what was wrong in ``nonconformities``; all other checks (size cap,
    no DTD, well-formedness, Action, RelatesTo, MetadataVersion) stay strict.
    """
    notes: list[str] = []
    env = _parse_envelope(data, notes if lenient else None)
    if env.body.tag == soap("Fault"):
        raise FaultReceived(_fault_from(env))
    if lenient and env.body.tag == disco("ProbeMatch"):
        notes.append("bare d:ProbeMatch without d:ProbeMatches")
        if env.action != ACTION_PROBE_MATCHES:
            raise InvalidMessage(f"wsa:Action is {env.action!r}, expected "
                                 f"{ACTION_PROBE_MATCHES!r}")
        children = [env.body]
    else:
        _expect(env, ACTION_PROBE_MATCHES, "ProbeMatches")
        children = list(env.body)
    if env.relates_to is None:
        raise InvalidMessage("ProbeMatches without wsa:RelatesTo cannot be tied to a Probe")
    result = []
    for child in children:
        if child.tag != disco("ProbeMatch"):
            continue
        match_notes = list(notes)
        endpoint, types, scopes, xaddrs, version = _parse_target(
            child, "ProbeMatch", match_notes if lenient else None)
        if version is None:
            raise InvalidMessage("ProbeMatch without d:MetadataVersion")
        result.append(ProbeMatch(endpoint, types, scopes, xaddrs, version, env.relates_to,
                                 env.message_id or "", env.app_sequence,
                                 tuple(dict.fromkeys(match_notes))))
    return result


def parse_hello_bye(data: bytes) -> Announcement:
    """Parse a Hello or a Bye (for a passive monitor); anything else is invalid."""
    env = _parse_envelope(data)
    if env.body.tag == disco("Hello"):
        _expect(env, ACTION_HELLO, "Hello")
        kind: Literal["hello", "bye"] = "hello"
    elif env.body.tag == disco("Bye"):
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
    if env.body.tag != soap("Fault"):
        raise InvalidMessage(f"expected a SOAP Fault, got body element {env.body.tag}")
    return _fault_from(env)


def _parse_envelope(data: bytes, lenient: list[str] | None = None) -> _Envelope:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte "
                             "cap")
    if not data:
        raise InvalidMessage("empty message")
    root = _parse_root(bytes(data), lenient)
    # SOAP 1.2 Part 1 §5: a SOAP message MUST NOT contain a DTD. Rejecting it outright also
    # rules out every entity trick (billion laughs, external entities), expanded or not.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidMessage("message carries a DTD (forbidden by SOAP 1.2)")
    if root.tag != soap("Envelope"):
        if root.tag == f"{{{_SOAP_VERSION_MISMATCH}}}Envelope":
            raise InvalidMessage("SOAP 1.1 envelope; WS-Discovery for ONVIF uses SOAP 1.2")
        raise InvalidMessage(f"root element is {root.tag}, not a SOAP 1.2 Envelope")
    header: etree._Element | None = None
    body: etree._Element | None = None
    for child in root:
        if child.tag == soap("Header") and header is None and body is None:
            header = child
        elif child.tag == soap("Body") and body is None:
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
        elif (element.get(soap("mustUnderstand")) or "").strip() in ("1", "true"):
            raise InvalidMessage(f"header {element.tag} is mustUnderstand and not understood")
    action_el = fields.get(wsa("Action"))
    if action_el is None:
        raise InvalidMessage("wsa:Action header missing (WS-Addressing 2004/08)")
    reply_to_el = fields.get(wsa("ReplyTo"))
    reply_to = None
    if reply_to_el is not None:
        address = reply_to_el.find(wsa("Address"))
        if address is not None:
            reply_to = _text(address) or None
    return _Envelope(
        action=_text(action_el),
        message_id=_optional_text(fields.get(wsa("MessageID"))),
        relates_to=_optional_text(fields.get(wsa("RelatesTo"))),
        reply_to=reply_to,
        app_sequence=_parse_app_sequence(fields.get(disco("AppSequence"))),
        body=body_children[0],
    )


def _parse_root(data: bytes, lenient: list[str] | None) -> etree._Element:
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        recovered = recover_prefixes(data) if lenient is not None else None
        if recovered is None or lenient is None:
            raise InvalidMessage(f"not well-formed XML: {exc}") from exc
        root, note = recovered
        lenient.append(note)
        return root


def _expect(env: _Envelope, action: str, element: str) -> None:
    if env.body.tag != disco(element):
        raise InvalidMessage(f"expected d:{element} ({NS_DISCOVERY}), got body element "
                             f"{env.body.tag}")
    if env.action != action:
        raise InvalidMessage(f"wsa:Action is {env.action!r}, expected {action!r}")


def _children(element: etree._Element, what: str) -> list[etree._Element]:
    children = list(element)
    for tag in (disco("Types"), disco("Scopes")):
        if sum(1 for c in children if c.tag == tag) > 1:
            raise InvalidMessage(f"{what} has more than one {tag}")
    return children


def _parse_target(
    element: etree._Element, what: str, lenient: list[str] | None = None
) -> tuple[str, tuple[QName, ...], tuple[str, ...], tuple[str, ...], int | None]:
    """EndpointReference, Types, Scopes, XAddrs, MetadataVersion of a Hello/Bye/ProbeMatch."""
    endpoint: str | None = None
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    version: int | None = None
    for child in _children(element, what):
        if child.tag == wsa("EndpointReference"):
            address = child.find(wsa("Address"))
            endpoint = _text(address) if address is not None else None
        elif child.tag == disco("EndpointReference") and lenient is not None:
            address = child.find(disco("Address"))
            if address is None:
                address = child.find(wsa("Address"))
            endpoint = _text(address) if address is not None else None
            lenient.append("d:EndpointReference instead of wsa:EndpointReference")
        elif child.tag == disco("Types"):
            types = _parse_qnames(child, lenient)
        elif child.tag == disco("Scopes"):
            scopes = tuple(_text(child).split())
        elif child.tag == disco("XAddrs"):
            xaddrs = tuple(_text(child).split())
        elif child.tag == disco("MetadataVersion"):
            version = _parse_uint(_text(child), "MetadataVersion")
    if not endpoint:
        raise InvalidMessage(f"{what} without wsa:EndpointReference/wsa:Address")
    return endpoint, types, scopes, xaddrs, version


def _parse_qnames(element: etree._Element,
                  lenient: list[str] | None = None) -> tuple[QName, ...]:
    # xs:QName list: each prefix resolves against the namespaces in scope at d:Types, so
    # "foo:NetworkVideoTransmitter" with xmlns:foo=<dn namespace> is dn:NetworkVideoTransmitter.
    nsmap = element.nsmap
    result = []
    for token in _text(element).split():
        prefix, sep, local = token.rpartition(":")
        if not local or ":" in prefix or (sep and not prefix):
            raise InvalidMessage(f"Types: {token!r} is not a QName")
        namespace = nsmap.get(prefix or None)
        if namespace is None and prefix and lenient is not None:
            namespace = CONVENTIONAL_PREFIXES.get(prefix)
            if namespace is not None:
                lenient.append(f"Types: prefix {prefix!r} not declared")
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
    code_value = fault.find(f"{soap('Code')}/{soap('Value')}")
    if code_value is None:
        raise InvalidMessage("SOAP Fault without Code/Value")
    subcode_value = fault.find(f"{soap('Code')}/{soap('Subcode')}/{soap('Value')}")
    reason = fault.find(f"{soap('Reason')}/{soap('Text')}")
    rules = fault.find(f"{soap('Detail')}/{disco('SupportedMatchingRules')}")
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
