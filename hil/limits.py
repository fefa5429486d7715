"""Limits of the suite's measurements, declared once with a default and the reason for it.

A measurement without limits is recorded and never fails; one with limits fails its test when
the value falls outside them (see :mod:`hil.measure`). Precedence, in :func:`resolve_limit`:
``--hil-limit NAME=LOW:HIGH`` on the command line, then limits a test passes explicitly, then
the defaults below.

    >>> parse_limit_override("clock_offset=-2:2")
    ('clock_offset', Limit(low=-2.0, high=2.0, unit='', description='from --hil-limit'))
    >>> parse_limit_override("snapshot_latency=:3")[1].high
    3.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limit", "parse_limit_override", "resolve_limit"]


@dataclass(frozen=True, slots=True)
class Limit:
    """Closed interval ``low..high`` (either end may be open: ``None``)."""

    low: float | None
    high: float | None
    unit: str = ""
    description: str = ""

    def contains(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return ((self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def describe(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "+inf" if self.high is None else f"{self.high:g}"
        return f"{low}..{high}"


DEFAULT_LIMITS: dict[str, Limit] = {
    "view_turn": Limit(None, 0.5, "deg", "turn of a view since commissioning (registered "
                       "snapshots); a relatively fixed view, Art. 7; devmgr audit's default"),
    "view_obstructed_share": Limit(None, 0.05, "", "share of the frame obstructed since "
                                   "commissioning, Art. 12; devmgr audit's default"),
    "clock_offset": Limit(-5.0, 5.0, "s", "camera clock minus ours; WS-Security tokens are "
                          "refused and evidence is mis-dated long before a skew is noticed"),
    "ptz_position_error": Limit(None, 0.5, "deg", "where an absolute move ends up vs. where it "
                                "was sent; the official tests leave accuracy out, a fixed "
                                "view (Art. 7) needs it"),
    "ptz_position_error_generic": Limit(None, 0.005, "generic", "as ptz_position_error, for "
                                        "cameras without a degrees space (~0.9 deg on 360)"),
    "boot_time": Limit(None, 120.0, "s", "SystemReboot until the camera answers ONVIF again: "
                       "how long a reboot leaves its place unwatched; the reboot timeout's "
                       "default"),
    "ptz_settle_time": Limit(None, 10.0, "s", "from the move command until the camera reports "
                             "IDLE at a steady position"),
    "preset_repeatability": Limit(None, 0.5, "deg", "largest distance between arrivals at one "
                                  "preset and its stored position"),
    "preset_repeatability_generic": Limit(None, 0.005, "generic", "as preset_repeatability, "
                                          "without a degrees space"),
    "home_repeatability": Limit(None, 0.5, "deg", "largest distance between arrivals at home"),
    "home_repeatability_generic": Limit(None, 0.005, "generic", "as home_repeatability, "
                                        "without a degrees space"),
    "snapshot_latency": Limit(None, 5.0, "s", "GET of the snapshot URI until the whole JPEG "
                              "arrived"),
    "stream_first_frame": Limit(None, 5.0, "s", "RTSP DESCRIBE until the first decoded "
                                "picture (FFmpeg): what a viewer waits for a picture"),
    "stream_fps_ratio": Limit(0.25, 1.2, "", "pictures per second by their timestamps, over "
                              "the encoder configuration's FrameRateLimit; lenient below, as "
                              "a simulated fleet on a busy CI machine needs (a stuck 1 fps "
                              "stream is 0.04); acceptance of real units: --hil-limit "
                              "stream_fps_ratio=0.9:1.1"),
    "stream_bitrate_ratio": Limit(None, 1.5, "", "H.264 bitrate over the configuration's "
                                  "BitrateLimit (what the uplink was planned for)"),
    "discovery_response_time": Limit(None, 2.0, "s", "unicast Probe until its ProbeMatch; "
                                     "ONVIF's tool gives up after 5 s"),
}


def parse_limit_override(text: str) -> tuple[str, Limit]:
    """``NAME=LOW:HIGH`` (either side may be empty) as a name and a :class:`Limit`."""
    name, sep, bounds = text.partition("=")
    low_text, colon, high_text = bounds.partition(":")
    if not sep or not colon or not name.strip():
        raise ValueError(f"--hil-limit {text!r}: expected NAME=LOW:HIGH, e.g. clock_offset=-2:2")
    try:
        low = float(low_text) if low_text.strip() else None
        high = float(high_text) if high_text.strip() else None
    except ValueError:
        raise ValueError(f"--hil-limit {text!r}: LOW and HIGH must be numbers") from None
    if low is not None and high is not None and low > high:
        raise ValueError(f"--hil-limit {text!r}: LOW is above HIGH")
    return name.strip(), Limit(low, high, "", "from --hil-limit")


def resolve_limit(name: str, overrides: Mapping[str, Limit], low: float | None,
                  high: float | None) -> Limit | None:
    """The limit that applies to measurement ``name`` (``None``: record only)."""
    if name in overrides:
        return overrides[name]
    if low is not None or high is not None:
        return Limit(low, high)
    return DEFAULT_LIMITS.get(name)
