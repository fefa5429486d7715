"""Where a moved unit is and what it sees: the geometry behind the ``moved`` fault.

A short move along the street (up to :data:`SAME_STREET_M`) turns the view aside by
``atan(d / STREET_DEPTH_M)``, so the new view partly overlaps the old one; a longer move
looks at another of the fleet's worlds (another scene seed), another place entirely.
"""

from __future__ import annotations

import hashlib
import math

from camfleet.model import GeoPosition
from simulators.spec import CameraSpec


def offset_position(position: GeoPosition, distance_m: float,
                    bearing_deg: float) -> GeoPosition:
    """The position ``distance_m`` away on ``bearing_deg`` (flat-earth; fine below ~10 km)."""
    bearing = math.radians(bearing_deg)
    d_north = distance_m * math.cos(bearing)
    d_east = distance_m * math.sin(bearing)
    lat = position.latitude + math.degrees(d_north / 6_371_008.8)
    lon = position.longitude + math.degrees(
        d_east / (6_371_008.8 * math.cos(math.radians(position.latitude))))
    return GeoPosition(latitude=lat, longitude=lon, elevation=position.elevation)


#: A move farther than this sees another place entirely (another world of the scene).
SAME_STREET_M = 100.0
#: Depth of the street scene a short move slides along: a move of d metres shifts the view
#: by atan(d / depth) (30 m: ~27°, partly overlapping a ~60° field of view).
STREET_DEPTH_M = 60.0
#: How many worlds generated fleets share (``simulators.fleet.generate.SCENE_SEEDS``); a far
#: move lands in another of them, so it costs no rendering of a new world.
WORLDS = 4


def moved_view(spec: CameraSpec, distance_m: float, bearing_deg: float,
               heading_deg: float | None) -> tuple[int, float]:
    """(scene seed, mount heading) of a unit moved ``distance_m`` on ``bearing_deg``."""
    heading = spec.mount.heading
    if heading_deg is not None:
        heading = heading_deg
    elif 0 < distance_m <= SAME_STREET_M:
        heading += math.degrees(math.atan2(distance_m, STREET_DEPTH_M))
    seed = spec.scene_seed
    if distance_m > SAME_STREET_M:
        digest = hashlib.sha256(f"moved/{bearing_deg}".encode()).digest()
        hop = 1 + int.from_bytes(digest[:2], "big") % (WORLDS - 1)
        seed = (seed // WORLDS) * WORLDS + (seed % WORLDS + hop) % WORLDS
    return seed, heading % 360.0
