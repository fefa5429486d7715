"""Take a camera's views: home and each preset (or the current view), each snapshot with the
PTZ position it was taken at, and put the head back where it was.

Moving a camera in service is an intervention, so it is explicit: ``move=False`` takes only
the current view. With ``move=True`` the camera's configuration is never changed (no
SetPreset, no SetHomePosition); the head visits home and the presets and returns to its
starting position, even when a step fails. A ``guard`` (the run's lease on the head,
:mod:`devmgr.compliance.heads`) hears where the head started before the first move, so that
a run killed mid-way leaves a record of where to put the head back, and when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import PtzVector
from camfleet.protocols.ptz_spaces import generic_to_span
from devmgr.inventory.model import Inventory, MediaProfile, PtzInventory
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.ptz import PtzStatus, absolute_move, goto_home, goto_preset, ptz_status
from devmgr.onvif.session import OnvifSession
from devmgr.onvif.snapshot import fetch_snapshot
from devmgr.vision import field_of_view


@dataclass(frozen=True)
class CapturedView:
    name: str
    position: PtzVector | None
    jpeg: bytes
    taken_at: datetime
    #: How the snapshot was fetched (``http-digest``), for the audit log.
    how: str
    profile: str
    #: Field of view measured here by a small known pan and back (``calibrate=True``).
    hfov_deg: float | None = None


@dataclass
class Capture:
    views: list[CapturedView] = field(default_factory=list)
    home: PtzVector | None = None
    errors: list[DeviceError] = field(default_factory=list)
    #: Why no view was taken at all (another run drives the head), else empty.
    skipped: str = ""
    #: Heads put back before the capture, left displaced by an earlier run (sentences).
    restored: list[str] = field(default_factory=list)


class MoveGuard(Protocol):
    """Told where the head starts, before the first move (and may refuse it by raising), and
    when it is back there."""

    def moving_from(self, profile: str, position: PtzVector) -> None: ...

    def back(self) -> None: ...


def snapshot_profile(inv: Inventory) -> MediaProfile | None:
    """The profile to take snapshots with: one with a snapshot URI, PTZ-bound if possible."""
    usable = [p for p in inv.profiles if p.snapshot_uri]
    with_ptz = [p for p in usable if p.ptz_configuration]
    chosen = with_ptz or usable
    return chosen[0] if chosen else None


async def capture_views(session: OnvifSession, inv: Inventory, *, move: bool,
                        presets: tuple[str, ...] | None = None,
                        guard: MoveGuard | None = None, calibrate: bool = False,
                        only: frozenset[str] | None = None) -> Capture:
    """Snapshots of the views to keep or compare.

    ``presets``: the preset tokens to visit (default: all the camera has); home is visited if
    the camera supports it. Errors are collected, never raised: one bad preset does not lose
    the others. ``calibrate``: at each zoomed view, measure its field of view with a small
    known pan and back (:func:`calibrated_hfov`). ``only``: the names of the views to take
    (a second look at some of them).
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
        hfov = None
        if calibrate and status is not None and status.position is not None and ptz:
            hfov = await calibrated_hfov(session, profile, ptz, at=status.position, jpeg=jpeg)
        capture.views.append(CapturedView(
            name=name, position=status.position if status else None, jpeg=jpeg,
            taken_at=datetime.now(UTC), how=how, profile=profile.token, hfov_deg=hfov))

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
    stops = [(name, token) for name, token in stops if only is None or name in only]
    if guard is not None and start.position is not None:
        guard.moving_from(profile.token, start.position)
    try:
        await _visit(session, profile.token, stops, where=where, snap=snap, capture=capture)
    finally:
        if start.position is not None:
            with contextlib.suppress(OnvifError):
                await absolute_move(session, profile.token, start.position)
                if guard is not None:
                    guard.back()
    return capture


async def _visit(session: OnvifSession, profile: str, stops: list[tuple[str, str | None]], *,
                 where: dict[str, PtzVector | None],
                 snap: Callable[[str, PtzStatus | None], Awaitable[None]],
                 capture: Capture) -> None:
    """Each stop in turn (home when its token is None), a snapshot at each; errors collected.
    Each move and snapshot has its own limit; ``Timeouts.views`` bounds their sum, so a head
    that dawdles at every preset cannot hold the sweep. The views taken by then stand."""
    deadline = session.pool.timeouts.views
    try:
        async with asyncio.timeout(deadline):
            for name, token in stops:
                try:
                    status = (await goto_home(session, profile) if token is None
                              else await goto_preset(session, profile, token, where.get(token)))
                    if token is None:
                        capture.home = status.position
                    await snap(name, status)
                except OnvifError as exc:
                    capture.errors.append(exc.as_device_error(context=name))
                    if exc.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.AUTH):
                        break  # the camera is gone or refuses us: stop trying views
    except TimeoutError:
        capture.errors.append(DeviceError(
            kind=ErrorKind.TIMEOUT, operation="views",
            message=f"{len(capture.views)} of {len(stops)} views taken within {deadline:g} s; "
                    "the rest not"))


#: Generic zoom at or below this is the widest: the filing's field angle holds there.
WIDEST_ZOOM = 1e-3
#: Pan of the first calibration step, degrees: small enough to stay inside a 1 degree view.
FIRST_STEP_DEG = 0.25
#: The second step is this share of the first estimate of the view: a shift of a fifth of
#: the frame is measured to a few tenths of a percent.
SECOND_STEP_SHARE = 0.2


async def calibrated_hfov(session: OnvifSession, profile: MediaProfile, ptz: PtzInventory, *,
                          at: PtzVector, jpeg: bytes) -> float | None:
    """The horizontal field of view at a zoomed position, measured: pan by a known angle,
    take a snapshot, measure the picture's shift; then a second, larger step (a fifth of the
    view) for precision; then back to ``at``. None at the widest zoom (the filing's field
    angle holds there), without a degrees space, or when the shift cannot be measured."""
    ranges = ptz.degrees_ranges()
    if ranges is None or at.zoom <= WIDEST_ZOOM:
        return None
    pan_range, tilt_range = ranges
    span = pan_range.max - pan_range.min
    if span <= 0:
        return None
    elevation = generic_to_span(at.tilt, tilt_range.min, tilt_range.max)
    hfov: float | None = None
    try:
        for first in (True, False):
            step = FIRST_STEP_DEG if first else SECOND_STEP_SHARE * (hfov or 0.0)
            if not first and step <= 2 * FIRST_STEP_DEG:
                break  # the first step was already a fair share of the view
            sign = 1.0 if at.pan + 2 * step / span <= 1.0 else -1.0
            moved = at.model_copy(update={"pan": at.pan + sign * 2 * step / span})
            await absolute_move(session, profile.token, moved)
            after, _how = await fetch_snapshot(session, profile.snapshot_uri)
            measured = await asyncio.to_thread(field_of_view, jpeg, after, sign * step,
                                               elevation_deg=elevation)
            if measured is None:
                break
            hfov = measured
    finally:
        with contextlib.suppress(OnvifError):
            await absolute_move(session, profile.token, at)
    return hfov
