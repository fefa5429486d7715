"""A fleet's access switches: where each camera is plugged in, kept true to its faults.

The fleet supervisor owns one :class:`FleetSwitches`. Every camera sits on a switch port
(its fleet-file ``attachment``, else the first free port, switch by switch). What the switch
sees follows the camera's faults in force:

* ``removed``: unplugged (no link, its MAC flushed, PoE detects nothing);
* ``services_down``: still plugged, powered and talking: the switch cannot tell it from a
  healthy unit, which is the point;
* ``moved``: plugged in elsewhere: the fault's ``switch``/``port``, else a free port on the
  next switch (the same switch if there is only one);
* ``replaced``: the new unit's MAC on the same port.

PoE power control (issue 12): a manager setting ``pethPsePortAdminEnable`` to false cuts the
camera's power, and the fleet makes the camera silent (as ``removed``, without the fault in
the manifest); true again, and it boots (Hello, sysUpTime from zero, snmpEngineBoots + 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from camfleet.targets import SnmpCredentials, SwitchTarget
from simulators.fleet.errors import FleetError
from simulators.switch.agent import SwitchRack
from simulators.switch.model import Attachment, PortDevice, SimSwitch, SwitchSpec

#: Told (camera id, powered) when a manager switches a camera's PoE port.
PowerChanged = Callable[[str, bool], None]


class FleetSwitches:
    """Switch specs, the cameras' home ports and the running rack."""

    def __init__(self, specs: Sequence[SwitchSpec],
                 attachments: dict[str, Attachment | None]) -> None:
        self.specs = {s.name: s for s in specs}
        self.rack = SwitchRack(specs)
        self.rack.on_power = self._power
        self.on_power: PowerChanged | None = None
        #: Where each camera is plugged in when nothing moved it.
        self.home: dict[str, Attachment] = {}
        #: Where each camera is plugged in now (absent: nowhere, i.e. removed).
        self.now: dict[str, Attachment] = {}
        #: Cameras whose PoE port a manager switched off.
        self.unpowered: set[str] = set()
        self.bound: dict[str, tuple[str, int]] = {}
        taken: set[tuple[str, int]] = set()
        for camera_id, wanted in attachments.items():
            if wanted is None:
                continue
            if wanted.switch not in self.specs:
                raise FleetError(f"camera {camera_id} is attached to switch {wanted.switch!r}, "
                                 f"which the fleet does not have ({', '.join(self.specs)})")
            if wanted.port > self.specs[wanted.switch].ports:
                raise FleetError(f"camera {camera_id}: switch {wanted.switch} has no port "
                                 f"{wanted.port}")
            if (wanted.switch, wanted.port) in taken:
                raise FleetError(f"camera {camera_id}: port {wanted.port} of {wanted.switch} "
                                 "already has a camera")
            taken.add((wanted.switch, wanted.port))
            self.home[camera_id] = wanted
        for camera_id, wanted in attachments.items():
            if wanted is None:
                switch, port = self._free(taken, avoid=None)
                taken.add((switch, port))
                self.home[camera_id] = Attachment(switch=switch, port=port)

    def _free(self, taken: set[tuple[str, int]], avoid: str | None) -> tuple[str, int]:
        names = [n for n in self.specs if n != avoid] or list(self.specs)
        for name in names:
            for port in range(1, self.specs[name].ports + 1):
                if (name, port) not in taken:
                    return name, port
        raise FleetError("the fleet's switches have no free port left")

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, addresses: Sequence[str], port: int, manager_address: str) -> None:
        """Serve each switch on its own ``addresses`` entry and ``port`` (loopback), or, with
        no addresses, on the manager's address and a free port (netns, docker)."""
        names = list(self.specs)
        if addresses:
            bindings = {n: (a, port) for n, a in zip(names, addresses, strict=True)}
        else:
            bindings = {n: (manager_address, 0) for n in names}
        self.bound = self.rack.start(bindings)

    def worker_faults(self, camera_id: str, faults: Sequence[dict[str, Any]]) -> list[Any]:
        """The faults a camera's worker gets: these, and silence while its PoE is off."""
        if camera_id in self.unpowered:
            return [*faults, {"kind": "removed", "note": "no power: its PoE port is off"}]
        return list(faults)

    def stop(self) -> None:
        self.rack.stop()

    # -- the cameras' state --------------------------------------------------------------------
    def place(self, camera_id: str, mac: str, name: str, faults: Sequence[dict[str, Any]]) -> None:
        """Plug the camera in where its faults say it is (or unplug it)."""
        kinds = {f["kind"]: f for f in faults}
        home = self.home[camera_id]
        where: Attachment | None = home
        if "removed" in kinds:
            where = None
        elif "moved" in kinds:
            moved = kinds["moved"]
            if moved.get("switch"):
                if moved["switch"] not in self.specs:
                    raise FleetError(f"moved: the fleet has no switch {moved['switch']!r}")
                where = home.model_copy(update={"switch": moved["switch"],
                                                "port": moved.get("port") or 1})
            else:
                taken = {(a.switch, a.port) for cid, a in self.now.items() if cid != camera_id}
                taken |= {(a.switch, a.port) for a in self.home.values()}
                switch, port = self._free(taken, avoid=home.switch)
                where = home.model_copy(update={"switch": switch, "port": port})
        device = None if where is None else PortDevice(
            mac=mac, name=name if where.lldp else "", description=f"IP camera {name}",
            vlan=where.vlan, poe=where.poe, poe_class=where.poe_class)
        before = self.now.get(camera_id)

        def replug(switches: dict[str, SimSwitch]) -> None:
            if where is not None and where != before and \
                    switches[where.switch].ports[where.port].device is not None:
                raise FleetError(f"{camera_id} cannot move to port {where.port} of "
                                 f"{where.switch}: another device is plugged in there")
            if before is not None:
                switches[before.switch].unplug(before.port)
            if where is not None and device is not None:
                switches[where.switch].plug(where.port, device)
        self.rack.call(replug)
        if where is None:
            self.now.pop(camera_id, None)
        else:
            self.now[camera_id] = where

    def _power(self, switch: str, port: int, powered: bool) -> None:
        camera_id = next((cid for cid, a in self.now.items()
                          if (a.switch, a.port) == (switch, port)), None)
        if camera_id is None:
            return
        if powered:
            self.unpowered.discard(camera_id)
        else:
            self.unpowered.add(camera_id)
        if self.on_power is not None:
            self.on_power(camera_id, powered)

    # -- the manifest --------------------------------------------------------------------------
    def targets(self) -> tuple[SwitchTarget, ...]:
        return tuple(SwitchTarget(name=name, address=address,
                                  snmp=SnmpCredentials(port=port,
                                                       community=self.specs[name].snmp.community),
                                  write_community=self.specs[name].write_community)
                     for name, (address, port) in self.bound.items())

    def attachment(self, camera_id: str) -> dict[str, Any] | None:
        where = self.now.get(camera_id)
        if where is None:
            return None
        vlan = where.vlan or self.specs[where.switch].vlan
        return {"switch": where.switch, "port": where.port, "vlan": vlan}
