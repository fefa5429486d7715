"""Where a unit is plugged in, from the switches' forwarding tables.

A MAC is learned on the access port its unit is plugged into and on every uplink its frames
cross; the access port is the one with the fewest MACs learned on it (an uplink carries the
whole segment). A port whose LLDP neighbour is the unit itself wins outright.
"""

from __future__ import annotations

from collections.abc import Iterable

from camfleet.model import normalize_mac
from devmgr.switches._model import Attachment, PortEvidence, SwitchReading


def locate(mac: str, readings: Iterable[SwitchReading]) -> Attachment | None:
    """The port ``mac`` is plugged into, over all switches read; None: learned nowhere."""
    try:
        wanted = normalize_mac(mac)
    except ValueError:
        return None
    chassis = wanted
    candidates: list[tuple[int, int, SwitchReading, int, int | None]] = []
    for reading in readings:
        for number, vlan in reading.fdb.get(wanted, []):
            port = reading.ports.get(number)
            if port is None:
                continue
            lldp_self = 0 if port.lldp_chassis == chassis else 1
            candidates.append((lldp_self, port.macs, reading, number, vlan))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1], c[2].name, c[3]))
    _, _, reading, number, vlan = candidates[0]
    evidence = reading.ports[number]
    return Attachment(switch=reading.name, port=number, port_name=evidence.name, vlan=vlan,
                      evidence=evidence, seen_on=len(candidates))


def port_evidence(readings: Iterable[SwitchReading], switch: str,
                  port: int) -> PortEvidence | None:
    """The port a unit was attached to, as it reads now (None: switch not read, no port)."""
    for reading in readings:
        if reading.name == switch and reading.answered:
            return reading.ports.get(port)
    return None
