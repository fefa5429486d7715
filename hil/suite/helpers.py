"""Small readers shared by the suite's modules (not tests themselves)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from lxml import etree

from camfleet.protocols import wsdiscovery as wsd
from devmgr.onvif.xml import child_text as text
from hil.camera import Camera
from hil.errors import DeviceFault

__all__ = ["MANDATORY_SCOPE_TYPES", "attributes", "differences", "mandatory_scope_problems",
           "profiles", "text", "types_problems", "url_host", "url_path"]

#: ONVIF Core, "Scopes": every device has scopes of these types (DISCOVERY-1-1-2, 1-1-3).
MANDATORY_SCOPE_TYPES = ("type", "location", "hardware", "name")


def profiles(camera: Camera) -> list[etree._Element]:
    """The media profiles, as GetProfiles returns them."""
    return list(camera.must_call("media", "GetProfiles").iterfind("{*}Profiles"))


def url_path(url: str) -> str:
    return urlsplit(url).path


def url_host(url: str) -> str:
    return urlsplit(url).hostname or ""


def mandatory_scope_problems(scopes: Iterable[str]) -> list[str]:
    """The mandatory scope types missing from ``scopes`` (onvif://www.onvif.org/<type>/...)."""
    have = list(scopes)
    return [f"no {kind} scope (onvif://www.onvif.org/{kind}/...) among {len(have)} scope(s)"
            for kind in MANDATORY_SCOPE_TYPES
            if not any(s.startswith(f"onvif://www.onvif.org/{kind}/") for s in have)]


def types_problems(types: Iterable[wsd.QName], what: str) -> list[str]:
    """Annex A.1: Types name dn:NetworkVideoTransmitter or tds:Device, each namespaced."""
    found = list(types)
    problems = [f"{what} Types entry {t.localname!r} has no namespace"
                for t in found if not t.namespace]
    if not {wsd.TYPE_NVT, wsd.TYPE_DEVICE} & set(found):
        problems.append(f"{what} Types {[str(t) for t in found]} has neither "
                        "dn:NetworkVideoTransmitter nor tds:Device")
    return problems


def _normal(value: str | None) -> str:
    return (value or "").strip()


def attributes(element: etree._Element) -> dict[str, str]:
    """An element's attributes as a plain dict (Clark-notation names)."""
    return {str(k): str(v) for k, v in element.items()}


def differences(a: etree._Element, b: etree._Element, path: str = "") -> list[str]:
    """Where two answers describing the same thing differ: attributes, text and children in
    order, by namespace and local name (never prefix); empty if equal. The two elements'
    own names may differ (GetProfiles' Profiles and GetProfile's Profile)."""
    here = f"{path}/{etree.QName(a).localname}"
    if path and etree.QName(a) != etree.QName(b):
        return [f"{here}: {etree.QName(a)} vs {etree.QName(b)}"]
    found = []
    if attributes(a) != attributes(b):
        found.append(f"{here} attributes {attributes(a)} vs {attributes(b)}")
    if _normal(a.text) != _normal(b.text):
        found.append(f"{here} = {_normal(a.text)!r} vs {_normal(b.text)!r}")
    left = [c for c in a if isinstance(c.tag, str)]
    right = [c for c in b if isinstance(c.tag, str)]
    if len(left) != len(right):
        found.append(f"{here}: {len(left)} vs {len(right)} child elements")
    for x, y in zip(left, right, strict=False):
        found += differences(x, y, here)
    return found


POSIX_TZ = re.compile(r"^(?:[A-Za-z]{3,}|<[^>]+>)([+-]?\d{1,2}(?::\d{2}){0,2})"
                      r"(?:(?:[A-Za-z]{3,}|<[^>]+>).*)?$")
USER_LEVELS = {"Administrator", "Operator", "User", "Anonymous", "Extended"}


def posix_utc_offset(tz: str) -> timedelta | None:
    """Local time minus UTC of a POSIX TZ's standard time (``CST-8`` -> +8 h)."""
    match = POSIX_TZ.match(tz)
    if match is None:
        return None
    sign = -1 if match.group(1).startswith("-") else 1
    hours, _, rest = match.group(1).lstrip("+-").partition(":")
    minutes = int(rest.split(":")[0]) if rest else 0
    return -sign * timedelta(hours=int(hours), minutes=minutes)


def services(camera: Camera, *, capabilities: bool) -> dict[str, etree._Element]:
    """GetServices, by namespace."""
    body = camera.must_call("device", "GetServices", {"IncludeCapability": capabilities})
    return {text(s, "{*}Namespace"): s for s in body.iterfind("{*}Service")}


def capabilities(camera: Camera, category: str | None) -> etree._Element:
    params = {"Category": category} if category else {}
    body = camera.must_call("device", "GetCapabilities", params)
    caps = body.find("{*}Capabilities")
    if caps is None:
        raise DeviceFault(f"{camera}: GetCapabilities({category or 'no Category'}) has no "
                          "Capabilities")
    return caps
