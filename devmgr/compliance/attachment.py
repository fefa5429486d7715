"""Switch evidence for the audit: where each camera is plugged in today, and its old port.

Read once per audit from the switches the targets file names; each camera's MAC (the one
filed or baselined, else the one answering today) is placed with
:func:`devmgr.switches.locate`, and the port it was commissioned on is read as it is now.
The presence rule weighs it (:mod:`devmgr.compliance.rules.presence`).
"""

from __future__ import annotations

from collections.abc import Sequence

from camfleet.targets import SwitchTarget
from devmgr.compliance.facts import CameraFacts
from devmgr.switches import SwitchReading, locate, port_evidence, read_switches


async def attach_evidence(switches: Sequence[SwitchTarget],
                          facts: Sequence[CameraFacts]) -> list[SwitchReading]:
    """Fill each camera's ``attachment``, ``home_port`` and ``switches_read``."""
    if not switches:
        return []
    readings = await read_switches(switches)
    answered = [r for r in readings if r.answered]
    for camera in facts:
        camera.switches_read = bool(answered)
        mac = camera.expected_mac or (camera.inventory.mac if camera.inventory else "") or ""
        camera.attachment = locate(mac, answered) if mac else None
        home = camera.baseline.attachment if camera.baseline is not None else None
        if home is not None:
            camera.home_port = port_evidence(answered, home.switch, home.port)
    return readings
