"""``devmgr ptz restore``: put back the heads that runs killed mid-way left displaced.

Every origin still open in the registry (:meth:`~devmgr.registry.Registry.displaced`) is a
head some run moved and never put back. For each whose camera a target names (by target id,
else address; the registry keeps no credentials), this takes the head's lease like any run
and puts the head back where it was before the first of those runs moved it
(:mod:`devmgr.compliance.heads`). A head another run drives now is left to that run, which
puts it back itself when it takes over.

    with Registry.open(url) as registry:
        result = asyncio.run(restore_heads(targets.targets, registry))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from camfleet.targets import Target
from devmgr.compliance.commission import open_session
from devmgr.compliance.heads import DEFAULT_HEAD_WAIT_S, HeadBusy, HeadKeeper
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool, Timeouts
from devmgr.registry import AuditTrail, Origin, Registry, default_operator

__all__ = ["RestoreResult", "restore_heads"]

PURPOSE = "putting back PTZ heads left displaced by an interrupted run (Art. 7)"


@dataclass
class RestoreResult:
    #: One sentence per head put back.
    restored: list[str] = field(default_factory=list)
    #: Heads still displaced, and why (another run drives it, the camera did not answer).
    left: list[str] = field(default_factory=list)
    #: Displaced heads of cameras no target names (no credentials to move them).
    unknown: list[Origin] = field(default_factory=list)


def _target_of(origin: Origin, targets: Sequence[Target]) -> Target | None:
    by_id = {t.id: t for t in targets}
    if origin.target_id in by_id:
        return by_id[origin.target_id]
    return next((t for t in targets if t.address == origin.address), None)


async def restore_heads(targets: Sequence[Target], registry: Registry, *,
                        operator: str | None = None, wait_s: float = DEFAULT_HEAD_WAIT_S,
                        timeouts: Timeouts = DEFAULT_TIMEOUTS) -> RestoreResult:
    """Put back every displaced head a target names (see the module docstring)."""
    operator = operator or default_operator()
    keeper = HeadKeeper(registry, f"devmgr ptz restore by {operator}", wait_s=wait_s)
    trail = AuditTrail(registry, operator, PURPOSE, None)
    result = RestoreResult()
    first: dict[str, Origin] = {}
    for origin in registry.displaced():
        first.setdefault(origin.key, origin)
    async with OnvifPool(limit=16, timeouts=timeouts) as pool:
        for key, origin in first.items():
            target = _target_of(origin, targets)
            if target is None:
                result.unknown.append(origin)
                continue
            try:
                session = await open_session(pool, target)
                async with keeper.drive(key, target, session) as head:
                    pass  # taking the lease puts a displaced head back first
            except HeadBusy as busy:
                result.left.append(f"{busy}; that run puts it back itself")
                continue
            except OnvifError as exc:
                result.left.append(f"{target.id}: {exc}")
                continue
            trail.log([trail.read(target_id=target.id, address=target.address,
                                  how="ONVIF PTZ GetStatus", what="PTZ position while "
                                  "putting the head back")])
            result.restored += head.restored
            if head.failed:
                result.left.append(head.failed)
    return result
