"""What the manager learns from an access switch, and where a unit is attached.

A :class:`SwitchReading` is one switch's tables as read (bounded: what did not fit is named
in ``truncated``); :class:`PortEvidence` is one port as a field engineer reads it (link, PoE,
LLDP neighbour); :class:`Attachment` is where a MAC was found, with that port's evidence.
"""

from __future__ import annotations

from pydantic import Field

from camfleet.errors import DeviceError
from camfleet.model import Model

#: pethPsePortDetectionStatus values (RFC 3621), by number.
DETECTION_NAMES = {1: "disabled", 2: "searching", 3: "deliveringPower", 4: "fault",
                   5: "test", 6: "otherFault"}


class PortEvidence(Model):
    """One switch port now: what says whether something is plugged in and alive."""

    switch: str
    port: int
    name: str = ""
    #: ifOperStatus up; None: the switch did not say.
    link_up: bool | None = None
    #: pethPsePortDetectionStatus by name ("deliveringPower", "searching" ...); None: no PoE.
    poe: str | None = None
    poe_enabled: bool | None = None
    #: LLDP neighbour's system name and chassis ID (hex), when it sends LLDP.
    lldp_name: str = ""
    lldp_chassis: str = ""
    #: MACs learned on the port (how many; an uplink has many).
    macs: int = 0

    @property
    def device_present(self) -> bool | None:
        """Physical evidence that a device is there: link up, or PoE delivering power."""
        if self.link_up or self.poe == "deliveringPower":
            return True
        if self.link_up is False or self.poe in ("searching", "disabled"):
            return False
        return None


class Attachment(Model):
    """Where a MAC was learned: switch, port and VLAN, with the port's evidence."""

    switch: str
    port: int
    port_name: str = ""
    vlan: int | None = None
    evidence: PortEvidence
    #: Ports (on all switches read) where the MAC was learned; >1 means it was also seen on
    #: uplinks, and the port with the fewest MACs was taken as where the unit is plugged in.
    seen_on: int = 1

    def place(self) -> tuple[str, int]:
        return self.switch, self.port

    def describe(self) -> str:
        vlan = f", VLAN {self.vlan}" if self.vlan is not None else ""
        return f"{self.switch} port {self.port_name or self.port}{vlan}"


class SwitchReading(Model):
    """One switch's tables: ports, learned MACs (MAC -> [(port, VLAN)]) and what failed."""

    name: str
    address: str
    ports: dict[int, PortEvidence] = Field(default_factory=dict)
    fdb: dict[str, list[tuple[int, int | None]]] = Field(default_factory=dict)
    #: Tables that hit the row bound (their rows past it were not read).
    truncated: tuple[str, ...] = ()
    #: Rows that made no sense (bad index, wrong type, out of range) and were dropped.
    rejected: int = 0
    error: DeviceError | None = None

    @property
    def answered(self) -> bool:
        return self.error is None
