"""The typed data model shared by the manager, the simulators and the harness.

A camera is described the same way wherever camfleet meets it: the simulator serves these
values, devmgr reads them back from the wire, and the acceptance suite compares the two. Keeping
one definition means the three cannot drift apart.

All models are frozen pydantic models: they validate on construction (a malformed spec or
filing fails with a message naming the field), serialize to JSON/YAML, and are hashable.

    >>> from camfleet.model import GeoPosition
    >>> GeoPosition(latitude=30.5928, longitude=114.3055, elevation=25.0).latitude
    30.5928
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


def normalize_mac(value: str) -> str:
    """Return a MAC address as lower-case, colon-separated hex (``00:11:22:aa:bb:cc``).

    Accepts the colon, hyphen (GB/T 28181 writes ``XX-XX-XX-XX-XX-XX``) and bare 12-digit forms.
    """
    text = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{12}", text):
        text = ":".join(text[i : i + 2] for i in range(0, 12, 2))
    if not _MAC_RE.match(text):
        raise ValueError(f"not a MAC address: {value!r} (expected six hex octets)")
    return text.replace("-", ":")


MacAddress = Annotated[str, AfterValidator(normalize_mac)]


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, ``  field.path: reason``, for messages about files people edit."""
    return "\n".join(f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                     for err in exc.errors())


class Model(BaseModel):
    """Base for every camfleet data model: frozen, strict about unknown fields."""

    # Limits may be +-INF ("off"): JSON has no such number, so they travel as "Infinity".
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class DeviceIdentity(Model):
    """What a unit says it is. Serial and MAC identify the physical unit."""

    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str = ""
    mac: MacAddress


class GeoPosition(Model):
    """A WGS-84 position. Elevation in metres above the ellipsoid."""

    latitude: float = Field(ge=-90.0, le=90.0)
    longitude: float = Field(ge=-180.0, le=180.0)
    elevation: float = 0.0

    def distance_to(self, other: GeoPosition) -> float:
        """Great-circle distance in metres (haversine; ample for the city scale we work at)."""
        r = 6_371_008.8
        p1, p2 = math.radians(self.latitude), math.radians(other.latitude)
        dp = p2 - p1
        dl = math.radians(other.longitude - self.longitude)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * r * math.asin(math.sqrt(a))


class PtzType(StrEnum):
    """Mechanical kind of the unit. GB/T 28181 PTZType 3 (fixed) vs 1 (dome)."""

    FIXED = "fixed"
    DOME = "dome"


class Range(Model):
    """A closed interval. ``min == -inf`` / ``max == inf`` means the limit is off."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"range minimum {self.min} is above its maximum {self.max}")
        return self

    def contains(self, value: float, tolerance: float = 1e-9) -> bool:
        return self.min - tolerance <= value <= self.max + tolerance

    def clamp(self, value: float) -> float:
        return min(max(value, self.min), self.max)


class PtzVector(Model):
    """A pan/tilt/zoom position. Pan and tilt in degrees relative to the mount; zoom 0..1."""

    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0

    def __str__(self) -> str:
        return f"(pan {self.pan:.4f}, tilt {self.tilt:.4f}, zoom {self.zoom:.4f})"


class PtzLimits(Model):
    """Configured limits of a PTZ unit, in degrees (pan, tilt) and normalized zoom (0..1)."""

    pan: Range
    tilt: Range
    zoom: Range = Range(min=0.0, max=1.0)

    def contains(self, position: PtzVector) -> bool:
        return (
            self.pan.contains(position.pan)
            and self.tilt.contains(position.tilt)
            and self.zoom.contains(position.zoom)
        )

    def clamp(self, position: PtzVector) -> PtzVector:
        return PtzVector(
            pan=self.pan.clamp(position.pan),
            tilt=self.tilt.clamp(position.tilt),
            zoom=self.zoom.clamp(position.zoom),
        )


class Preset(Model):
    token: str
    name: str
    position: PtzVector


class MoveStatus(StrEnum):
    IDLE = "IDLE"
    MOVING = "MOVING"
    UNKNOWN = "UNKNOWN"


class Mount(Model):
    """How the unit is physically installed: where its PTZ zero points, in the world.

    ``heading`` is the compass azimuth (degrees clockwise from true north) of the optical axis at
    pan 0; ``tilt`` its elevation (negative looks down). A knock or a move changes these while
    the PTZ position the camera reports stays the same.
    """

    heading: float = Field(default=0.0, ge=-360.0, le=360.0)
    tilt: float = Field(default=0.0, ge=-90.0, le=90.0)
    roll: float = Field(default=0.0, ge=-45.0, le=45.0)
