"""A profile's video encoder configuration, read from the camera and checked at the boundary.

The values come from the device and are hostile until checked: a size of 1e309 or 20000 x
20000, a frame rate of NaN or a bitrate of 10^12 kbit/s is not a configuration, it is a
protocol error of that camera (:class:`EncoderError`, recorded by the collector as the
camera's classified error), and the configuration is left out rather than half-believed.

    >>> from lxml import etree
    >>> xml = ('<c xmlns="http://www.onvif.org/ver10/schema" token="V1"><Encoding>H264</Encoding>'
    ...        '<Resolution><Width>1920</Width><Height>1080</Height></Resolution>'
    ...        '<RateControl><FrameRateLimit>25</FrameRateLimit>'
    ...        '<BitrateLimit>4096</BitrateLimit></RateControl></c>')
    >>> parse_video_encoder(etree.fromstring(xml)).describe()
    'H264 1920x1080 25 fps 4096 kbit/s'
"""

from __future__ import annotations

import math
import re

from lxml import etree

from devmgr.inventory.model import VideoEncoder
from devmgr.onvif.xml import child_text

__all__ = ["LIMITS", "MAX_TEXT", "EncoderError", "parse_video_encoder"]

#: The widest plausible range of each value; outside it the camera is wrong, not exotic.
#: 16384 px is twice an 8K sensor's width; 1000 fps beyond any surveillance sensor;
#: 1 Gbit/s beyond any camera's uplink.
LIMITS: dict[str, tuple[float, float]] = {
    "width": (16, 16384),
    "height": (16, 16384),
    "frame_rate": (0, 1000),
    "bitrate_kbps": (0, 1_000_000),
    "gov_length": (0, 65535),
    "quality": (0, 100),
}
_WORD = re.compile(r"[A-Za-z0-9._-]{1,32}")
#: Tokens and names are kept this long at most (a device may send megabytes).
MAX_TEXT = 128


class EncoderError(ValueError):
    """The camera described an encoder configuration no camera can have."""


def _number(element: etree._Element, path: str, name: str) -> float | None:
    text = child_text(element, path)
    if not text:
        return None
    shown = text if len(text) <= 24 else text[:24] + "..."
    try:
        value = float(text)
    except ValueError:
        raise EncoderError(f"{name} {shown!r} is not a number") from None
    low, high = LIMITS[name]
    if not math.isfinite(value) or not low <= value <= high:
        raise EncoderError(f"{name} {shown} is outside {low:g}..{high:g}")
    return value


def _integer(element: etree._Element, path: str, name: str) -> int | None:
    value = _number(element, path, name)
    if value is None:
        return None
    if value != int(value):
        raise EncoderError(f"{name} {value!r} is not a whole number")
    return int(value)


def _word(element: etree._Element, path: str, name: str) -> str:
    text = child_text(element, path)
    if text and not _WORD.fullmatch(text):
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise EncoderError(f"{name} {shown!r} is not a codec name")
    return text


def parse_video_encoder(element: etree._Element | None) -> VideoEncoder | None:
    """The configuration in ``element`` (a ``VideoEncoderConfiguration`` of Media 1 or a
    ``Configurations`` of Media2), or None if there is none. Raises :class:`EncoderError`
    naming the first implausible value."""
    if element is None:
        return None
    encoding = _word(element, "{*}Encoding", "Encoding")
    profile = _word(element, "{*}H264/{*}H264Profile", "H264Profile") or _word(
        element, "{*}MPEG4/{*}Mpeg4Profile", "Mpeg4Profile") or (element.get("Profile") or "")
    gov = _integer(element, "{*}H264/{*}GovLength", "gov_length")
    if gov is None:
        gov = _integer(element, "{*}MPEG4/{*}GovLength", "gov_length")
    if gov is None:
        gov = _integer(element, "{*}GovLength", "gov_length")  # Media2 puts it here
    frame_rate = _number(element, "{*}RateControl/{*}FrameRateLimit", "frame_rate")
    bitrate = _integer(element, "{*}RateControl/{*}BitrateLimit", "bitrate_kbps")
    return VideoEncoder(
        token=(element.get("token") or "")[:MAX_TEXT],
        name=child_text(element, "{*}Name")[:MAX_TEXT],
        encoding=encoding,
        width=_integer(element, "{*}Resolution/{*}Width", "width"),
        height=_integer(element, "{*}Resolution/{*}Height", "height"),
        # 0 is how some firmware writes "no limit": not stated, rather than zero.
        frame_rate=frame_rate or None, bitrate_kbps=bitrate or None, gov_length=gov or None,
        codec_profile=profile[:MAX_TEXT],
        quality=_number(element, "{*}Quality", "quality"))
