"""Small readers shared by the suite's modules (not tests themselves)."""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree

from devmgr.inventory.collect import child_text as text
from hil.camera import Camera

__all__ = ["profiles", "text", "url_host", "url_path"]


def profiles(camera: Camera) -> list[etree._Element]:
    """The media profiles, as GetProfiles returns them."""
    return list(camera.must_call("media", "GetProfiles").iterfind("{*}Profiles"))


def url_path(url: str) -> str:
    return urlsplit(url).path


def url_host(url: str) -> str:
    return urlsplit(url).hostname or ""
