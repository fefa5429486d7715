"""A discovery recorded: the sweep, every unit found, and the audit-log entry of what was
read of each (its identity, by the routes that found it).

What ``devmgr discover`` runs, and what scripts call:

    with Registry.open(url) as registry:
        report = asyncio.run(recorded_discovery(options, registry, operator="li.wei"))
"""

from __future__ import annotations

from collections.abc import Callable

from devmgr.discovery.run import DiscoveryOptions, DiscoveryReport, discover
from devmgr.registry import AuditTrail, Registry, default_operator

__all__ = ["PURPOSE", "recorded_discovery"]

PURPOSE = "discovery (regulation Art. 9, 10: which cameras are there, and where)"


async def recorded_discovery(options: DiscoveryOptions, registry: Registry, *,
                             operator: str | None = None, also_to: str = "",
                             progress: Callable[[str], None] | None = None,
                             ) -> DiscoveryReport:
    """Discover (see :func:`devmgr.discovery.run.discover`) into one discover sweep."""
    parameters = {"cidrs": list(options.cidrs), "interfaces": list(options.interfaces)}
    with registry.sweep("discover", parameters) as sweep_id:
        report = await discover(options, progress=progress)
        registry.record_discoveries(sweep_id, report.devices)
        trail = AuditTrail(registry, operator or default_operator(), PURPOSE, sweep_id,
                           also_to)
        trail.log(trail.identity(device) for device in report.devices)
    return report
