"""Access switches as evidence: which port a unit is plugged into, and whether it is there.

The manager reads the switches a targets file names (``switches:``) over SNMP v2c: link
state, learned MACs with their VLAN, LLDP neighbours and PoE (see :mod:`._read`), and places
each unit by its MAC (:func:`locate`). Commissioning records the attachment in the baseline;
the audit compares: another port or switch is evidence of a move, and a silent unit whose
port still has link, its MAC and a powered device is present but not answering, never
removed. :func:`set_port_power` and :func:`power_cycle` switch a port's PoE (power control
of a unit under test, issue 12).

    >>> import asyncio
    >>> from devmgr.switches import locate, read_switches
    >>> readings = asyncio.run(read_switches(targets.switches))       # doctest: +SKIP
    >>> locate("44:19:b6:00:00:01", readings).describe()               # doctest: +SKIP
    'sw-north port Gi1/0/3, VLAN 1'
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from camfleet.targets import SwitchTarget
from devmgr.switches._cycle import PowerError, PowerResult, find_port, power
from devmgr.switches._locate import locate, port_evidence
from devmgr.switches._model import Attachment, PortEvidence, SwitchReading
from devmgr.switches._power import power_cycle, set_port_power
from devmgr.switches._read import MAX_ROWS, parse_tables, read_switch

__all__ = ["MAX_ROWS", "Attachment", "PortEvidence", "PowerError", "PowerResult",
           "SwitchReading", "find_port", "locate", "parse_tables", "port_evidence", "power",
           "power_cycle", "read_switch", "read_switches", "set_port_power"]


async def read_switches(targets: Sequence[SwitchTarget], *, timeout_s: float = 2.0,
                        retries: int = 1) -> list[SwitchReading]:
    """Read every switch at once; each reading carries its own error, if any."""
    return list(await asyncio.gather(*(read_switch(t, timeout_s=timeout_s, retries=retries)
                                       for t in targets)))
