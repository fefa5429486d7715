"""A simulated access switch: its description (``SwitchSpec``) and its live state (``SimSwitch``).

A fleet has a few access switches; each camera sits on one port (``Attachment``). The switch
knows, per port, whether something is plugged in, whether the port's PoE is enabled and
whether the device draws power, whether the link is up, and which MAC addresses it has
learned there (with their VLAN). What a field engineer reads off a switch follows from that:

* link up  <=> a device is plugged in and powered (a PoE camera on a port whose PoE is off has
  no power, hence no link);
* the forwarding table holds a device's MAC while its link is up and it talks (a camera whose
  services hung still ARPs and DHCPs); a link going down flushes the port's entries at once,
  as real switches do; a silent device ages out after ``aging_s``;
* PoE detection status: ``disabled`` (PoE off), ``searching`` (nothing to power),
  ``deliveringPower``.

The same model serves PoE power control (issue 12): setting ``pethPsePortAdminEnable`` turns
the port's power off or on, and ``on_power`` tells whoever owns the camera behind it.

    >>> switch = SimSwitch(SwitchSpec(name="sw-a", ports=8))
    >>> switch.plug(3, PortDevice(mac="44:19:b6:00:00:01", name="cam-0001"))
    >>> switch.link_up(3), switch.fdb()[0][:2]
    (True, ('44:19:b6:00:00:01', 3))
    >>> switch.set_poe(3, False)
    >>> switch.link_up(3), switch.fdb(), switch.detection(3)
    (False, [], 'disabled')
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from pydantic import Field

from camfleet.model import MacAddress, Model
from simulators.spec import SnmpSpec

#: PoE detection states (RFC 3621 pethPsePortDetectionStatus) by name.
DETECTION: Final = {"disabled": 1, "searching": 2, "deliveringPower": 3, "fault": 4,
                    "test": 5, "otherFault": 6}
#: Watts drawn per IEEE 802.3af/at class (0..4), at the PSE.
CLASS_WATTS: Final = (15.4, 4.0, 7.0, 15.4, 30.0)


class SwitchSpec(Model):
    """An access switch as a fleet file describes it; ``address`` and ``snmp.port`` are the
    fleet's to assign."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    ports: int = Field(default=24, ge=1, le=512)
    #: Bridge MAC (dot1dBaseBridgeAddress, LLDP chassis ID); derived from the name if unset.
    mac: MacAddress | None = None
    #: The access VLAN of a port nobody configured otherwise.
    vlan: int = Field(default=1, ge=1, le=4094)
    location: str = ""
    #: Seconds a MAC nobody hears from stays in the forwarding table (dot1dTpAgingTime).
    aging_s: int = Field(default=300, ge=10, le=1_000_000)
    #: PoE budget of the switch's one PSE, watts (pethMainPsePower).
    poe_budget_w: int = Field(default=370, ge=0, le=10_000)
    snmp: SnmpSpec = SnmpSpec(community="public")
    #: v2c community that may set PoE ports (as labgrid's PoE driver uses); None: none may.
    write_community: str | None = "private"
    address: str = "127.0.0.1"

    @property
    def bridge_mac(self) -> str:
        if self.mac is not None:
            return self.mac
        digest = zlib.crc32(self.name.encode("utf-8")).to_bytes(4, "big")
        # Locally administered, unicast: 02:...
        return "02:5c:" + ":".join(f"{b:02x}" for b in digest)


class Attachment(Model):
    """Where a camera is plugged in: a fleet file's ``attachment`` of a camera."""

    switch: str
    port: int = Field(ge=1, le=512)
    #: Access VLAN of the port; None: the switch's default.
    vlan: int | None = Field(default=None, ge=1, le=4094)
    #: The camera sends LLDP (its neighbour entry shows in the switch's lldpRemTable).
    lldp: bool = True
    #: Powered from the port (PoE), or from a local supply (PoE then detects nothing).
    poe: bool = True
    poe_class: int = Field(default=3, ge=0, le=4)


@dataclass(frozen=True)
class PortDevice:
    """What is plugged into a port, as the switch can observe it."""

    mac: str
    #: LLDP system name; "" when the device does not speak LLDP.
    name: str = ""
    description: str = ""
    vlan: int | None = None
    poe: bool = True
    poe_class: int = 3
    #: False: plugged and powered but silent on the wire (never true for our cameras).
    talks: bool = True


@dataclass
class PortState:
    device: PortDevice | None = None
    poe_enabled: bool = True
    #: sysUpTime ticks of the last link change (ifLastChange).
    last_change: int = 0
    #: MAC -> (VLAN, monotonic time last heard).
    learned: dict[str, tuple[int, float]] = field(default_factory=dict)


#: Told (port, powered) when a port's PoE power changes; the fleet switches the camera.
PowerListener = Callable[[int, bool], None]


class SimSwitch:
    """The live state of one switch. Not thread-safe: owned by one event loop (or thread)."""

    def __init__(self, spec: SwitchSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self._clock = clock
        self._booted = clock()
        self.boots = 1
        self.ports: dict[int, PortState] = {n: PortState() for n in range(1, spec.ports + 1)}
        self.on_power: PowerListener | None = None
        #: Bumped on every change, so the MIB knows when to render its tables again.
        self.version = 0

    # -- clock (what the SNMP engine reads) ----------------------------------------------------
    def uptime_s(self) -> float:
        return max(self._clock() - self._booted, 0.0)

    def uptime_ticks(self) -> int:
        return int(self.uptime_s() * 100) % 2**32

    # -- what happens at the ports -------------------------------------------------------------
    def _port(self, number: int) -> PortState:
        try:
            return self.ports[number]
        except KeyError:
            raise ValueError(f"switch {self.spec.name} has no port {number} "
                             f"(ports 1..{self.spec.ports})") from None

    def plug(self, number: int, device: PortDevice) -> None:
        """Plug ``device`` into port ``number`` (whatever was there is unplugged)."""
        port = self._port(number)
        was_up = self.link_up(number)
        port.device = device
        self._changed(number, was_up)

    def unplug(self, number: int) -> PortDevice | None:
        port = self._port(number)
        was_up = self.link_up(number)
        device, port.device = port.device, None
        self._changed(number, was_up)
        return device

    def set_poe(self, number: int, enabled: bool) -> None:
        """pethPsePortAdminEnable: power the port or not; ``on_power`` hears of a change."""
        port = self._port(number)
        was_powered = self.powered(number)
        was_up = self.link_up(number)
        port.poe_enabled = enabled
        self._changed(number, was_up)
        if self.powered(number) != was_powered and self.on_power is not None:
            self.on_power(number, self.powered(number))

    def _changed(self, number: int, was_up: bool) -> None:
        port = self.ports[number]
        up = self.link_up(number)
        if up != was_up:
            port.last_change = self.uptime_ticks()
        if not up:
            port.learned.clear()  # link down flushes the port's entries
        elif port.device is not None and port.device.talks:
            port.learned[port.device.mac] = (self.vlan_of(number), self._clock())
        self.version += 1

    def heard(self, number: int) -> None:
        """The device on ``number`` sent a frame: its MAC's age starts again."""
        port = self._port(number)
        if self.link_up(number) and port.device is not None:
            port.learned[port.device.mac] = (self.vlan_of(number), self._clock())
            self.version += 1

    # -- what the switch reports ---------------------------------------------------------------
    def powered(self, number: int) -> bool:
        port = self._port(number)
        return port.device is not None and port.device.poe and port.poe_enabled

    def link_up(self, number: int) -> bool:
        device = self._port(number).device
        return device is not None and (self.powered(number) or not device.poe)

    def detection(self, number: int) -> str:
        port = self._port(number)
        if not port.poe_enabled:
            return "disabled"
        return "deliveringPower" if self.powered(number) else "searching"

    def power_w(self, number: int) -> float:
        port = self._port(number)
        return CLASS_WATTS[port.device.poe_class] if port.device and self.powered(number) \
            else 0.0

    def vlan_of(self, number: int) -> int:
        device = self._port(number).device
        return device.vlan if device is not None and device.vlan else self.spec.vlan

    def fdb(self) -> list[tuple[str, int, int]]:
        """(MAC, port, VLAN) rows still within the aging time, sorted by MAC."""
        now = self._clock()
        rows = []
        for number, port in self.ports.items():
            for mac, (vlan, heard) in port.learned.items():
                device = port.device
                talking = device is not None and device.mac == mac and device.talks
                if talking or now - heard <= self.spec.aging_s:
                    rows.append((mac, number, vlan))
        return sorted(rows)
