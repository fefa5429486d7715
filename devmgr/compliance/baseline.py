"""The commissioning baseline: what a camera was when it was accepted, kept to compare with.

A baseline is the camera's full inventory at commissioning (identity, position evidence, PTZ
limits, spaces and presets, recording, security settings), the home position, and one
reference snapshot per view (home and each preset, or the current view of a fixed camera),
each with the PTZ position at which it was taken and a fingerprint of its scene, and a
second frame of it taken a few seconds later. The snapshots live in the registry's snapshot
store, named by SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from camfleet.model import Model, PtzVector
from camfleet.protocols.ptz_spaces import generic_to_degrees
from devmgr.inventory.model import Inventory, PtzInventory
from devmgr.switches import Attachment

GENERIC_TOLERANCE = 0.005


class ReferenceView(Model):
    #: ``home``, ``preset:<token>``, or ``current`` (fixed cameras, or ``--no-move``).
    name: str
    #: As the camera reported it after settling (generic space: pan/tilt -1..1, zoom 0..1).
    position: PtzVector | None = None
    #: SHA-256 of the JPEG in the registry's snapshot store.
    snapshot: str
    #: A second frame of the view taken a little later at commissioning (SHA-256; empty:
    #: none): what passed in front of the first one (a bus, people) is not in both, so a
    #: suspected obstruction is judged against it too (:mod:`devmgr.compliance.lighting`).
    second_snapshot: str = ""
    #: Tiles (column, row) where the two commissioning frames differ: what passed in front
    #: then. Only there does the second frame have a say.
    unsteady_tiles: tuple[tuple[int, int], ...] = ()
    taken_at: datetime
    width: int = 0
    height: int = 0
    #: Horizontal field of view measured at commissioning (zoomed views: a small known pan
    #: and back); None: the baseline's ``hfov_deg`` (widest zoom) applies, or unknown.
    hfov_deg: float | None = None
    #: Why this view can never be judged (uniform, too dark, featureless); empty: it can.
    unjudgeable: str = ""
    #: The scene's fingerprint (``devmgr.vision.scene_fingerprint``: keypoints, no picture);
    #: empty: too plain for one, or a baseline from before fingerprints.
    fingerprint: str = ""


class Baseline(Model):
    camera: str
    target_id: str
    taken_at: datetime
    inventory: Inventory
    #: Where GotoHomePosition took the head (None: no PTZ, no home, or not visited).
    home: PtzVector | None = None
    views: tuple[ReferenceView, ...] = ()
    #: Horizontal field of view used to turn pixel shifts into degrees.
    hfov_deg: float | None = None
    #: Where it was plugged in (switch, port, VLAN, LLDP neighbour), if the targets file
    #: names switches and one had learned its MAC.
    attachment: Attachment | None = None

    def view(self, name: str) -> ReferenceView | None:
        return next((v for v in self.views if v.name == name), None)


def position_degrees(position: PtzVector, ptz: PtzInventory | None) -> PtzVector | None:
    """A generic-space position in degrees (pan, tilt) via the degrees space's ranges."""
    ranges = ptz.degrees_ranges() if ptz is not None else None
    return generic_to_degrees(position, *ranges) if ranges is not None else None


def position_difference(a: PtzVector, b: PtzVector, ptz: PtzInventory | None,
                        tolerance_deg: float) -> tuple[bool, str]:
    """Whether two reported positions differ beyond tolerance, and by how much in words."""
    da, db = position_degrees(a, ptz), position_degrees(b, ptz)
    zoom = abs(a.zoom - b.zoom)
    if da is not None and db is not None:
        pan, tilt = db.pan - da.pan, db.tilt - da.tilt
        differs = max(abs(pan), abs(tilt)) > tolerance_deg or zoom > GENERIC_TOLERANCE
        return differs, f"pan {pan:+.2f}°, tilt {tilt:+.2f}°, zoom {b.zoom - a.zoom:+.3f}"
    pan, tilt = b.pan - a.pan, b.tilt - a.tilt
    differs = max(abs(pan), abs(tilt), zoom) > GENERIC_TOLERANCE
    return differs, f"pan {pan:+.4f}, tilt {tilt:+.4f}, zoom {b.zoom - a.zoom:+.4f} (generic)"
