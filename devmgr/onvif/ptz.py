"""PTZ: where the head is, moving it, and waiting until it has come to rest.

Positions are :class:`~camfleet.model.PtzVector` in ONVIF's generic spaces (pan/tilt -1..1
over the mechanical range, zoom 0..1), which every PTZ camera supports; moves name those
spaces. :func:`wait_settled` is the one settle loop of camfleet: devmgr's commissioning and
audit wait with it, and the acceptance suite measures settle times around it.

A move has *settled* when GetStatus reports no axis MOVING at the same position twice in a row,
and the head has either reached the target (if known) or had :data:`MIN_SETTLE_S` since it
accepted the command to start: some firmware still says IDLE at the old position for a moment after
accepting a move, which must not pass for having arrived. A head that never settles is the
camera's fault (:class:`~devmgr.onvif.errors.PtzNotSettled`).

    status = await goto_preset(session, profile, "1", position=preset.position)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from lxml import etree

from camfleet.model import PtzVector
from camfleet.protocols.ptz_spaces import PT_POSITION_GENERIC, Z_POSITION_GENERIC
from devmgr.inventory.model import PtzPreset
from devmgr.onvif.errors import PtzNotSettled
from devmgr.onvif.session import OnvifSession
from devmgr.onvif.xml import child_text, parse_ptz_vector

__all__ = ["DEFAULT_SETTLE_TIMEOUT_S", "MIN_SETTLE_S", "PtzStatus", "absolute_move",
           "absolute_move_request", "goto_home", "goto_preset", "parse_presets", "ptz_presets",
           "ptz_status", "wait_settled"]

#: Without a known target, a move is not taken as finished before this (seconds).
MIN_SETTLE_S = 0.5
#: How long a move may take before we stop waiting for it to settle.
DEFAULT_SETTLE_TIMEOUT_S = 20.0
#: Same position between two polls, generic units on every axis.
STEADY = 1e-4
#: At the target, generic units on every axis.
ARRIVED = 1e-3


@dataclass(frozen=True)
class PtzStatus:
    """GetStatus: the position (None if the camera reports none) and each axis's MoveStatus
    as reported (``IDLE``, ``MOVING``, ``UNKNOWN`` or "")."""

    position: PtzVector | None
    pan_tilt: str = ""
    zoom: str = ""

    @property
    def moving(self) -> bool:
        return "MOVING" in (self.pan_tilt, self.zoom)


async def ptz_status(session: OnvifSession, profile: str) -> PtzStatus:
    body = await session.call("ptz", "GetStatus", {"ProfileToken": profile})
    move = body.find(".//{*}MoveStatus")
    return PtzStatus(position=parse_ptz_vector(body.find(".//{*}Position")),
                     pan_tilt=child_text(move, "{*}PanTilt").upper(),
                     zoom=child_text(move, "{*}Zoom").upper())


def parse_presets(body: etree._Element | None,
                  limit: int | None = None) -> tuple[PtzPreset, ...]:
    """The presets of a GetPresets reply (a preset without a readable position keeps None);
    the first ``limit`` of them if given."""
    if body is None:
        return ()
    return tuple(PtzPreset(token=p.get("token", ""), name=child_text(p, "{*}Name"),
                           position=parse_ptz_vector(p.find("{*}PTZPosition")))
                 for p in itertools.islice(body.iterfind("{*}Preset"), limit))


async def ptz_presets(session: OnvifSession, profile: str) -> tuple[PtzPreset, ...]:
    return parse_presets(await session.call("ptz", "GetPresets", {"ProfileToken": profile}))


def _within(a: PtzVector, b: PtzVector, tolerance: float) -> bool:
    return max(abs(a.pan - b.pan), abs(a.tilt - b.tilt), abs(a.zoom - b.zoom)) <= tolerance


def _steady(here: PtzVector | None, previous: PtzVector | None) -> bool:
    if here is None or previous is None:
        return here is previous
    return _within(here, previous, STEADY)


async def wait_settled(session: OnvifSession, profile: str, *,
                       target: PtzVector | None = None, began: float | None = None,
                       timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S,
                       interval_s: float = 0.1) -> PtzStatus:
    """Poll GetStatus until the head has settled (see the module docstring).

    ``began``: when the camera accepted the command (``time.monotonic()``; default now, for a
    call right after the command's reply). Not earlier: time spent building or queueing the
    command must not count towards :data:`MIN_SETTLE_S`."""
    began = time.monotonic() if began is None else began
    previous: PtzVector | None = None
    while True:
        status = await ptz_status(session, profile)
        here = status.position
        now = time.monotonic()
        arrived = (here is None or now - began >= MIN_SETTLE_S
                   or (target is not None and _within(here, target, ARRIVED)))
        if not status.moving and _steady(here, previous) and arrived:
            return status
        if now - began > timeout_s:
            raise PtzNotSettled(f"PTZ did not settle within {timeout_s:g} s (status "
                                f"{status.pan_tilt or '-'}/{status.zoom or '-'} at {here})")
        previous = here
        await asyncio.sleep(interval_s)


def absolute_move_request(profile: str, position: PtzVector, *,
                          zoom: bool = True) -> dict[str, Any]:
    """AbsoluteMove to ``position`` in the generic spaces; ``zoom=False`` for a head that
    advertises no zoom space (the Zoom element is left out)."""
    target: dict[str, Any] = {"PanTilt": {"x": position.pan, "y": position.tilt,
                                          "space": PT_POSITION_GENERIC}}
    if zoom:
        target["Zoom"] = {"x": position.zoom, "space": Z_POSITION_GENERIC}
    return {"ProfileToken": profile, "Position": target}


async def goto_home(session: OnvifSession, profile: str) -> PtzStatus:
    await session.call("ptz", "GotoHomePosition", {"ProfileToken": profile})
    return await wait_settled(session, profile)


async def goto_preset(session: OnvifSession, profile: str, preset: str,
                      position: PtzVector | None = None) -> PtzStatus:
    """GotoPreset and wait; ``position``: where the preset is (GetPresets), if known."""
    await session.call("ptz", "GotoPreset", {"ProfileToken": profile, "PresetToken": preset})
    return await wait_settled(session, profile, target=position)


async def absolute_move(session: OnvifSession, profile: str, position: PtzVector) -> PtzStatus:
    """Move to ``position`` in the generic spaces (pan/tilt -1..1, zoom 0..1) and wait."""
    await session.call("ptz", "AbsoluteMove", absolute_move_request(profile, position))
    return await wait_settled(session, profile, target=position)
