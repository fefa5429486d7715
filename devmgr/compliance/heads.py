"""One head, one run: a run holds a PTZ head's lease while it drives it, records where the
head was before moving it, and first puts back a head that a killed run left displaced.

Two runs moving one dome (two audits, an audit and a commission) would each see the other's
moves as a turned or unusable view. So every run that drives a head takes the head's lease
in the registry first (:meth:`~devmgr.registry.Registry.acquire_lease`; it works across
processes and, on PostgreSQL, machines); a run that finds the head taken waits up to
``wait_s`` and then gives up on that camera, naming the holder (:class:`HeadBusy`). While
driving, the lease is renewed in the background; if the run dies, the lease expires (at once
for a dead process on the same host).

A run killed while a head is at a preset cannot put it back. Before the first move the run
records where the head is (:meth:`HeadLease.moving_from`, committed before the move), and
marks it restored once the head is back; the next run that takes the lease finds the origin
still open and puts the head back there before anything else, and says so
(:attr:`HeadLease.restored`). ``devmgr ptz restore`` does only that.

    keeper = HeadKeeper(registry, purpose="audit sweep 12", sweep_id=12)
    async with keeper.drive(head_key(target, inv), target, session) as head:
        capture = await capture_views(session, inv, move=True, guard=head)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from camfleet.model import PtzVector
from camfleet.targets import Target
from devmgr.inventory.model import Inventory
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.ptz import absolute_move
from devmgr.onvif.session import OnvifSession
from devmgr.registry import (
    DEFAULT_LEASE_TTL_S,
    Lease,
    LeaseHeld,
    LeaseLost,
    Origin,
    Registry,
)

__all__ = ["DEFAULT_HEAD_WAIT_S", "HeadBusy", "HeadKeeper", "HeadLease", "head_key"]

#: How long a run waits for another run to finish with a head before it skips the camera.
DEFAULT_HEAD_WAIT_S = 120.0


def head_key(target: Target, inv: Inventory | None = None) -> str:
    """The head's name in the registry: its serial (the same whatever targets file or address
    names it), else its device service URL."""
    serial = (inv.device.serial if inv is not None and inv.device is not None else "") \
        or (target.serial or "")
    return f"serial:{serial}" if serial.strip() else f"onvif:{target.device_url}"


class HeadBusy(Exception):
    """Another run drove the head for longer than this run would wait."""


@dataclass
class HeadLease:
    """This run's hold on one head (see the module docstring); the capture's move guard."""

    registry: Registry
    lease: Lease
    target: Target
    #: What this run put back before it began: one sentence per head restored.
    restored: list[str] = field(default_factory=list)
    #: A displaced head this run could not put back (it stays on record for the next run).
    failed: str = ""
    #: Why the lease was lost while driving (empty: it was not).
    lost: str = ""
    _origins: list[int] = field(default_factory=list)
    #: Origins whose head is back: marked restored when the lease is released (one commit).
    _back: list[int] = field(default_factory=list)

    def moving_from(self, profile: str, position: PtzVector) -> None:
        """Record where the head is; returns once it is committed, before the first move."""
        origin = self.registry.record_origin(
            self.lease, target_id=self.target.id, address=self.target.address,
            device_url=self.target.device_url, profile=profile, position=position)
        self._origins.append(origin.id)

    def back(self) -> None:
        """The head is back where :meth:`moving_from` found it (on record once the lease is
        released; a run dying in between leaves an origin the next run returns it to, where
        it already is)."""
        self._back += self._origins
        self._origins.clear()


@dataclass
class HeadKeeper:
    """Leases heads for one run (``purpose`` names it in every message to other runs)."""

    registry: Registry
    purpose: str
    sweep_id: int | None = None
    wait_s: float = DEFAULT_HEAD_WAIT_S
    ttl_s: float = DEFAULT_LEASE_TTL_S

    async def _acquire(self, key: str, target: Target) -> Lease:
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                return self.registry.acquire_lease(key, purpose=self.purpose,
                                                   sweep_id=self.sweep_id, ttl_s=self.ttl_s)
            except LeaseHeld as held:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HeadBusy(
                        f"{target.id}: not moved, its head is driven by another run: "
                        f"{held.holder.describe()} (waited {self.wait_s:g} s)") from held
                await asyncio.sleep(min(1.0, left))

    async def _heartbeat(self, head: HeadLease) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 4)
            try:
                head.lease = self.registry.renew_lease(head.lease, ttl_s=self.ttl_s)
            except LeaseLost as exc:
                head.lost = str(exc)
                return

    @contextlib.asynccontextmanager
    async def drive(self, key: str, target: Target,
                    session: OnvifSession) -> AsyncIterator[HeadLease]:
        """Hold the head's lease (waiting up to ``wait_s``, else :class:`HeadBusy`); first
        put back a head another run left displaced; release the lease on the way out."""
        lease = await self._acquire(key, target)
        head = HeadLease(self.registry, lease, target)
        beat = asyncio.create_task(self._heartbeat(head))
        try:
            await self._put_back(head, session)
            yield head
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            self.registry.release_lease(head.lease, restored=head._back,
                                        note="put back by the run that moved it")

    async def _put_back(self, head: HeadLease, session: OnvifSession) -> None:
        """Move the head to where it was before the runs that left it displaced."""
        left = self.registry.displaced(head.lease.key)
        if not left:
            return
        home: Origin = left[0]  # the oldest: where the head was before any of them moved it
        try:
            await absolute_move(session, home.profile, home.position)
        except OnvifError as exc:
            head.failed = (f"{head.target.id}: could not put the head back to "
                           f"{home.position}, where it was before {home.holder} moved it: {exc}")
            return
        self.registry.mark_restored([o.id for o in left], note=f"put back by {self.purpose}")
        head.restored.append(
            f"{head.target.id}: head put back to {home.position}, where it was before "
            f"{home.holder} moved it and ended without putting it back")
