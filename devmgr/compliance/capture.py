"""Take a camera's views: home and each preset (or the current view), each snapshot with the
PTZ position it was taken at, and put the head back where it was.

Moving a camera in service is an intervention, so it is explicit: ``move=False`` takes only
the current view. With ``move=True`` the camera's configuration is never changed (no
SetPreset, no SetHomePosition); the head visits home and the presets and returns to its
starting position, even when a step fails.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from devmgr.inventory.model import DeviceError, ErrorKind, Inventory, MediaProfile
from devmgr.model import PtzVector
from devmgr.onvif.actions import (
    PtzStatus,
    absolute_move,
    fetch_snapshot,
    goto_home,
    goto_preset,
    ptz_status,
)
from devmgr.onvif.session import OnvifError, OnvifSession


@dataclass(frozen=True)
class CapturedView:
    name: str
    position: PtzVector | None
    jpeg: bytes
    taken_at: datetime
    #: How the snapshot was fetched (``http-digest``), for the audit log.
    how: str
    profile: str


@dataclass
class Capture:
    views: list[CapturedView] = field(default_factory=list)
    home: PtzVector | None = None
    errors: list[DeviceError] = field(default_factory=list)


def snapshot_profile(inv: Inventory) -> MediaProfile | None:
    """The profile to take snapshots with: one with a snapshot URI, PTZ-bound if possible."""
    usable = [p for p in inv.profiles if p.snapshot_uri]
    with_ptz = [p for p in usable if p.ptz_configuration]
    chosen = with_ptz or usable
    return chosen[0] if chosen else None


async def capture_views(session: OnvifSession, inv: Inventory, *, move: bool,
                        presets: tuple[str, ...] | None = None) -> Capture:
    """Snapshots of the views to keep or compare.

    ``presets``: the preset tokens to visit (default: all the camera has); home is visited if
    the camera supports it. Errors are collected, never raised: one bad preset does not lose
    the others.
    """
    capture = Capture()
    profile = snapshot_profile(inv)
    if profile is None:
        capture.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation="GetSnapshotUri",
                                          message="no media profile with a snapshot URI"))
        return capture
    ptz = inv.ptz if profile.ptz_configuration else None

    async def snap(name: str, status: PtzStatus | None) -> None:
        jpeg, how = await fetch_snapshot(session, profile.snapshot_uri)
        capture.views.append(CapturedView(
            name=name, position=status.position if status else None, jpeg=jpeg,
            taken_at=datetime.now(UTC), how=how, profile=profile.token))

    if ptz is None or not move:
        try:
            status = await ptz_status(session, profile.token) if ptz is not None else None
            await snap("current", status)
        except OnvifError as exc:
            capture.errors.append(exc.as_device_error(context="current view"))
        return capture

    try:
        start = await ptz_status(session, profile.token)
    except OnvifError as exc:
        capture.errors.append(exc.as_device_error(context="PTZ status before moving"))
        return capture
    tokens = presets if presets is not None else tuple(p.token for p in ptz.presets)
    where = {p.token: p.position for p in ptz.presets}
    stops: list[tuple[str, str | None]] = []
    if ptz.home_supported is not False:
        stops.append(("home", None))
    stops += [(f"preset:{t}", t) for t in tokens]
    try:
        for name, token in stops:
            try:
                status = (await goto_home(session, profile.token) if token is None
                          else await goto_preset(session, profile.token, token, where.get(token)))
                if token is None:
                    capture.home = status.position
                await snap(name, status)
            except OnvifError as exc:
                capture.errors.append(exc.as_device_error(context=name))
                if exc.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.AUTH):
                    break  # the camera is gone or refuses us: stop trying views
    finally:
        if start.position is not None:
            with contextlib.suppress(OnvifError):
                await absolute_move(session, profile.token, start.position)
    return capture
