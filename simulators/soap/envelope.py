"""SOAP 1.2 envelopes: parsing untrusted requests and building faults.

A camera on a city network receives whatever anyone sends it, so parsing is defensive: the
lxml parser never resolves entities, never loads a DTD or touches the network, and requests
above ``MAX_REQUEST_BYTES`` are refused before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from camfleet.protocols.safe_xml import safe_parser

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ONVIF_ERROR_NS = "http://www.onvif.org/ver10/error"
WSSE_NS = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-wssecurity-secext-1.0.xsd")
WSU_NS = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd")

#: Real requests are a few kilobytes; anything far larger is an attack or a broken client.
MAX_REQUEST_BYTES = 256 * 1024



class SoapFault(Exception):
    """A fault to send back. ``code`` is ``Sender`` or ``Receiver`` (SOAP 1.2 5.4.6);
    ``subcodes`` are QNames in prefix form (``ter:InvalidArgVal``), outermost first."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    @property
    def http_status(self) -> int:
        # SOAP 1.2 part 2, 7.5.1.2: Sender faults map to 400, everything else to 500.
        return 400 if self.code == "Sender" else 500


def sender_fault(reason: str, *subcodes: str) -> SoapFault:
    return SoapFault("Sender", subcodes, reason)


def receiver_fault(reason: str, *subcodes: str) -> SoapFault:
    return SoapFault("Receiver", subcodes, reason)


def not_authorized(reason: str = "Sender not authorized") -> SoapFault:
    return sender_fault(reason, "ter:NotAuthorized")


def action_not_supported(name: str) -> SoapFault:
    return receiver_fault(f"Optional action {name} not implemented", "ter:ActionNotSupported")


@dataclass(frozen=True, slots=True)
class Request:
    envelope: etree._Element
    header: etree._Element | None
    body_element: etree._Element

    @property
    def qname(self) -> str:
        return str(self.body_element.tag)


def parse_request(data: bytes) -> Request:
    """Parse a SOAP request; any defect becomes a ``SoapFault`` the client can read."""
    if len(data) > MAX_REQUEST_BYTES:
        raise sender_fault(f"request of {len(data)} bytes exceeds {MAX_REQUEST_BYTES}",
                           "ter:InvalidArgs")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # ONVIF never needs a DTD; refusing outright rules out entity tricks entirely.
        raise sender_fault("document type declarations are not accepted", "ter:InvalidArgs")
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise sender_fault(f"malformed XML: {exc}", "ter:WellFormed") from exc
    if root.tag == f"{{{SOAP11_NS}}}Envelope":
        raise SoapFault("VersionMismatch", (), "SOAP 1.1 envelopes are not supported; use 1.2")
    if root.tag != f"{{{SOAP12_NS}}}Envelope":
        raise sender_fault("the document is not a SOAP 1.2 envelope", "ter:InvalidArgs")
    header = root.find(f"{{{SOAP12_NS}}}Header")
    body = root.find(f"{{{SOAP12_NS}}}Body")
    if body is None:
        raise sender_fault("the envelope has no Body", "ter:InvalidArgs")
    children = [child for child in body if isinstance(child.tag, str)]
    if len(children) != 1:
        raise sender_fault(f"the Body must hold exactly one element, not {len(children)}",
                           "ter:InvalidArgs")
    return Request(envelope=root, header=header, body_element=children[0])


def fault_envelope(fault: SoapFault) -> bytes:
    """Serialize a SOAP 1.2 fault (ONVIF Core 5.11.2)."""
    nsmap = {"env": SOAP12_NS, "ter": ONVIF_ERROR_NS,
             "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2"}
    env = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(env, f"{{{SOAP12_NS}}}Body")
    fault_el = etree.SubElement(body, f"{{{SOAP12_NS}}}Fault")
    code = etree.SubElement(fault_el, f"{{{SOAP12_NS}}}Code")
    etree.SubElement(code, f"{{{SOAP12_NS}}}Value").text = f"env:{fault.code}"
    parent = code
    for subcode in fault.subcodes:
        sub = etree.SubElement(parent, f"{{{SOAP12_NS}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12_NS}}}Value").text = subcode
        parent = sub
    reason = etree.SubElement(fault_el, f"{{{SOAP12_NS}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12_NS}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))
