"""Readers of values in ONVIF replies: text, numbers, ranges, durations, dates, PTZ vectors.

Every value comes from a device and is hostile until read here: absent, empty or unparsable
text reads as ``""`` or ``None``, never as an exception. Paths use ``{*}`` so vendor namespace
prefixes do not matter. The inventory, the PTZ and snapshot actions and the acceptance suite
all read replies with these.

    >>> from lxml import etree
    >>> child_text(etree.fromstring("<a><b> x </b></a>"), "b"), parse_float("1e-3")
    ('x', 0.001)
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from lxml import etree

from camfleet.model import PtzVector, Range

__all__ = ["BadValue", "child_text", "parse_bool", "parse_duration_days", "parse_float",
           "parse_onvif_datetime", "parse_ptz_vector", "parse_range", "parse_xs_datetime",
           "read_duration_s", "read_float", "read_int", "shown"]

#: How much of a bad value an error message quotes.
_QUOTED_CHARS = 40
#: The latest year a camera clock may read: later ones overflow date arithmetic (WS-Security
#: stamps ``now + offset``) and mean a broken clock anyway.
MAX_CLOCK_YEAR = 9000


class BadValue(ValueError):
    """A value from a device that cannot be what its field says (a classified ``protocol``
    error of that camera, naming the field): ``1e309`` presets, a NaN width, year 10^20."""

    def __init__(self, field: str, text: str, reason: str) -> None:
        super().__init__(f"{field} {shown(text)}: {reason}")
        self.field = field
        self.text = text
        self.reason = reason


def shown(text: str, limit: int = _QUOTED_CHARS) -> str:
    """Device text quoted for a message: repr-escaped (no control character gets through)
    and cut at ``limit`` characters, the cut noted."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} chars)"


def child_text(element: etree._Element | None, path: str) -> str:
    """Stripped text at ``path`` below ``element`` ("" if either is absent)."""
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def parse_float(text: str | None) -> float | None:
    """A number from device text; None for absent, empty or unparsable text."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def read_float(text: str | None, field: str, low: float = -math.inf,
               high: float = math.inf) -> float | None:
    """A finite number in [low, high] from device text; None if absent or empty.

    Raises :class:`BadValue` for text that is there but not such a number (NaN, ``1e309``,
    out of range, not a number at all).
    """
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadValue(field, text, "not a number") from None
    if not math.isfinite(value):
        raise BadValue(field, text, "not a finite number")
    if not low <= value <= high:
        raise BadValue(field, text, f"outside [{low:g}, {high:g}]")
    return value


def read_int(text: str | None, field: str, low: int, high: int) -> int | None:
    """A whole number in [low, high] (``1.0`` is read as 1); None if absent or empty."""
    value = read_float(text, field, low, high)
    if value is None:
        return None
    if not value.is_integer():
        raise BadValue(field, text or "", "not a whole number")
    return int(value)


def read_duration_s(text: str | None, field: str, high_s: float) -> float | None:
    """xs:duration in seconds, at most ``high_s``; None if absent or empty."""
    if text is None or not text.strip():
        return None
    try:
        days = parse_duration_days(text)
    except BadValue as exc:
        raise BadValue(field, text, exc.reason) from None
    if days is None:
        raise BadValue(field, text, "not an xs:duration")
    if not 0 <= days * 86400 <= high_s:
        raise BadValue(field, text, f"outside [0, {high_s:g}] s")
    return days * 86400


def parse_bool(text: str | None) -> bool | None:
    """xs:boolean (``true``/``1``); None for absent or empty text."""
    if text is None or text == "":
        return None
    return text.strip().lower() in ("true", "1")


def parse_range(element: etree._Element | None) -> Range | None:
    """A tt:FloatRange (Min, Max); None if either is missing or they are out of order."""
    low = parse_float(child_text(element, "{*}Min"))
    high = parse_float(child_text(element, "{*}Max"))
    if low is None or high is None or low > high:
        return None
    return Range(min=low, max=high)


def parse_duration_days(text: str) -> float | None:
    """xs:duration (``P90D``, ``PT2160H``, ``P1Y``) in days; years as 365 days.

    None for unparsable text; :class:`BadValue` for one too long for any calendar
    (``P9999999999D``): that is no duration a camera means.
    """
    import isodate  # noqa: PLC0415 (zeep's dependency; only needed here)

    if not text:
        return None
    if len(text) > 64:
        raise BadValue("duration", text, "too long for an xs:duration")
    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError):
        return None
    except OverflowError:
        raise BadValue("duration", text, "beyond any calendar") from None
    if isinstance(value, isodate.Duration):
        days = float(value.years) * 365 + float(value.months) * 30
        return days + float(value.tdelta.total_seconds()) / 86400
    return float(value.total_seconds()) / 86400


def _coordinate(element: etree._Element, name: str) -> float | None:
    value = parse_float(element.get(name))
    return value if value is not None and math.isfinite(value) else None


def parse_ptz_vector(element: etree._Element | None) -> PtzVector | None:
    """A tt:PTZVector (PanTilt x/y, Zoom x); an absent axis reads as 0.

    None when there is no vector at all, or an axis that is there does not read as finite
    numbers: garbage is not a position.
    """
    if element is None:
        return None
    pan_tilt, zoom = element.find("{*}PanTilt"), element.find("{*}Zoom")
    if pan_tilt is None and zoom is None:
        return None
    pan = tilt = level = 0.0
    if pan_tilt is not None:
        x, y = _coordinate(pan_tilt, "x"), _coordinate(pan_tilt, "y")
        if x is None or y is None:
            return None
        pan, tilt = x, y
    if zoom is not None:
        z = _coordinate(zoom, "x")
        if z is None:
            return None
        level = z
    return PtzVector(pan=pan, tilt=tilt, zoom=level)


_LOOSE_DATETIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2}):(\d{2})")


def parse_onvif_datetime(element: etree._Element | None) -> datetime | None:
    """A tt:DateTime (Date/Time children) as an aware UTC datetime; ``None`` if absent or
    incomplete; :class:`BadValue` for one no clock can read (year 10^20, 2026-13-45, a
    year after ``MAX_CLOCK_YEAR``)."""
    if element is None:
        return None
    texts = [(element.findtext(f".//{{*}}{name}") or "").strip()
             for name in ("Year", "Month", "Day", "Hour", "Minute", "Second")]
    if not all(texts):
        return None
    shown_text = "{}-{}-{}T{}:{}:{}".format(*texts)
    if any(len(t) > 4 or not t.isdigit() for t in texts):
        raise BadValue("DateTime", shown_text, "not a date and time")
    year, month, day, hour, minute, second = (int(t) for t in texts)
    if not 1 <= year <= MAX_CLOCK_YEAR:
        raise BadValue("DateTime", shown_text, f"year outside 1..{MAX_CLOCK_YEAR}")
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise BadValue("DateTime", shown_text, str(exc)) from None


def parse_xs_datetime(text: str | None) -> datetime | None:
    """xs:dateTime, and the vendor variants seen in the field (space separator, no zone)."""
    if not text:
        return None
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        match = _LOOSE_DATETIME.match(value)
        if not match:
            return None
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        parsed = datetime(year, month, day, hour, minute, second)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
