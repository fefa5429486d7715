"""Hostile camera behaviours: a simulated camera that serves what a broken or malicious
device sends, so devmgr and the acceptance suite can be shown to survive it.

Like every other fault these are data (:mod:`simulators.faults` folds them into its union)
and act on the camera's HTTP listener:

* ``hostile_value`` puts ``value`` in place of the text of every ``element`` (a local name)
  in the camera's successful replies, or of its ``attribute``: numeric and date extremes
  (``1e309``, ``NaN``, a year of 10^20, ``9999-12-31``, ``P9999999999D``), rich markup and
  control characters in names. The value is XML-escaped, nothing more: control characters
  XML cannot carry make the reply ill-formed, as such firmware's replies are.
* ``redirect`` answers 302 to ``location`` (by default the cloud metadata address).
* ``basic_only`` challenges with HTTP Basic alone, on SOAP and snapshot alike (a downgrade:
  a client that answers sends the password in cleartext).
* ``trickle`` sends the reply at ``bytes_per_s``, in drops ``interval_s`` apart.
* ``oversized`` repeats every ``element`` until there are ``count`` of it (60,000 profiles),
  or, without ``element``, answers a SOAP fault whose reason is ``count`` bytes long.
* ``dtd`` wraps the reply in a DTD with an entity, behind a long comment or in UTF-16.
* ``image_bomb`` makes the snapshot's JPEG header claim ``width`` x ``height`` pixels.

    >>> from simulators.faults import parse_fault
    >>> fault = parse_fault({"kind": "hostile_value", "element": "Width", "value": "NaN"})
    >>> hostile_value(b"<a><tt:Width>640</tt:Width></a>", fault)
    b'<a><tt:Width>NaN</tt:Width></a>'
"""

from __future__ import annotations

import re
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from pydantic import Field

from camfleet.protocols.safe_xml import safe_parser
from simulators.fault_base import WireFault

__all__ = ["HOSTILE_KINDS", "BasicOnly", "Dtd", "HostileValue", "ImageBomb", "Oversized",
           "Redirect", "Trickle", "hostile_value", "with_dtd", "with_image_size",
           "with_more_elements"]

#: Where a redirecting camera sends its clients by default: the cloud metadata service.
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


class HostileValue(WireFault):
    """Every ``element`` (or its ``attribute``) in the camera's 200 replies reads ``value``."""

    kind: Literal["hostile_value"] = "hostile_value"
    #: Local name of the element, without prefix (``MaximumNumberOfPresets``).
    element: str = Field(min_length=1, pattern=r"^[A-Za-z_][\w.-]*$")
    #: An attribute of that element to replace instead of its text (``lat``).
    attribute: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.-]*$")
    value: str = ""


def hostile_value(body: bytes, fault: HostileValue) -> bytes:
    """The reply with the fault's value in place (see the module docstring)."""
    name = re.escape(fault.element).encode()
    value = fault.value.encode("utf-8", "surrogateescape")
    if fault.attribute is None:
        text = re.compile(rb"(<(?:[\w.-]+:)?" + name + rb"(?:\s[^>]*)?>)[^<]*(</)")
        replacement = escape(fault.value).encode("utf-8", "surrogateescape")
        return text.sub(lambda m: m.group(1) + replacement + m.group(2), body)
    attribute = re.escape(fault.attribute).encode()
    tag = re.compile(rb"<(?:[\w.-]+:)?" + name + rb"(?=[\s/>])[^>]*>")
    pair = re.compile(rb"(\s" + attribute + rb"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    quoted = quoteattr(value.decode("utf-8", "surrogateescape")).encode(
        "utf-8", "surrogateescape")
    return tag.sub(lambda m: pair.sub(lambda a: a.group(1) + quoted, m.group(0)), body)


class Redirect(WireFault):
    kind: Literal["redirect"] = "redirect"
    location: str = METADATA_URL
    status: Literal[301, 302, 303, 307, 308] = 302


class BasicOnly(WireFault):
    kind: Literal["basic_only"] = "basic_only"


class Trickle(WireFault):
    kind: Literal["trickle"] = "trickle"
    bytes_per_s: int = Field(default=1, ge=1, le=1_000_000)
    #: Sent in drops this far apart (``bytes_per_s * interval_s`` bytes each, at least 1):
    #: shorter than a client's read limit, so only a total deadline ends the exchange.
    interval_s: float = Field(default=1.0, gt=0.0, le=60.0)


class Oversized(WireFault):
    kind: Literal["oversized"] = "oversized"
    element: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.-]*$")
    count: int = Field(default=60_000, ge=1, le=100_000_000)


class Dtd(WireFault):
    kind: Literal["dtd"] = "dtd"
    form: Literal["long_prefix", "utf16"] = "long_prefix"


class ImageBomb(WireFault):
    kind: Literal["image_bomb"] = "image_bomb"
    width: int = Field(default=20_000, ge=1, le=65_535)
    height: int = Field(default=20_000, ge=1, le=65_535)


HOSTILE_KINDS = ("hostile_value", "redirect", "basic_only", "trickle", "oversized", "dtd",
                 "image_bomb")


def with_more_elements(body: bytes, element: str, count: int) -> bytes:
    """The reply with the first ``element`` repeated until there are ``count`` of them."""
    root = etree.fromstring(body, parser=safe_parser())
    found = [e for e in root.iter() if etree.QName(e).localname == element]
    if not found:
        return body
    first = found[0]
    parent = first.getparent()
    if parent is None:
        return body
    at = parent.index(first)
    text = etree.tostring(first)
    copies = b"".join(text for _ in range(count - len(found)))
    # Serialized copies spliced in as bytes: 60,000 lxml elements would cost the simulator
    # what the attack is meant to cost the client.
    marker = etree.Element("hostile-marker")
    parent.insert(at + 1, marker)
    whole = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return whole.replace(b"<hostile-marker/>", copies, 1)


def with_dtd(body: bytes, form: str) -> bytes:
    """The reply behind a DTD that declares an entity (and uses it in a comment-free way)."""
    text = body.decode("utf-8")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2:]
    dtd = '<!DOCTYPE x [<!ENTITY boom "boom">]>'
    if form == "utf16":
        return ('<?xml version="1.0" encoding="UTF-16"?>' + dtd + text).encode("utf-16")
    return ('<?xml version="1.0" encoding="utf-8"?><!--' + "x" * 4096 + "-->" + dtd
            + text).encode("utf-8")


def with_image_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOFn) claiming ``width`` x ``height``."""
    at = 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker, length = jpeg[at + 1], int.from_bytes(jpeg[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            size = height.to_bytes(2, "big") + width.to_bytes(2, "big")
            return jpeg[:at + 5] + size + jpeg[at + 9:]
        at += 2 + length
    return jpeg
