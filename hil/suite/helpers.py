"""Small readers shared by the suite's modules (not tests themselves)."""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree

from hil.camera import Camera


def text(element: etree._Element | None, path: str) -> str:
    """Stripped text at ``path`` below ``element`` ("" if absent)."""
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def profiles(camera: Camera) -> list[etree._Element]:
    """The media profiles, as GetProfiles returns them."""
    return list(camera.must_call("media", "GetProfiles").iterfind("{*}Profiles"))


def url_path(url: str) -> str:
    return urlsplit(url).path


def url_host(url: str) -> str:
    return urlsplit(url).hostname or ""
