"""One record per physical unit from everything discovery saw: WS-Discovery and SNMP.

A camera shows up several times: in a multicast ProbeMatch, in a unicast sweep, in a Hello,
and as an SNMP agent. :func:`merge_devices` links the sightings through the identifiers they
carry and returns one :class:`~devmgr.inventory.model.DiscoveredDevice` per unit::

    from devmgr.discovery.merge import merge_devices, tagged
    from devmgr.inventory.model import Route

    devices = merge_devices(
        tagged(Route.WSD_MULTICAST, multicast_found) + tagged(Route.WSD_UNICAST, swept),
        snmp_identities)
    for device in devices:   # sorted by address, numerically
        print(device.key, device.addresses, [r.value for r in device.routes])

Identifiers, strongest first:

1. **serial**: ONVIF scope ``onvif://www.onvif.org/SerialNumber/<serial>``, SNMP
   entPhysicalSerialNum. The same serial is the same unit, whatever else differs (a unit with
   two NICs shows two MACs; a factory reset may give it a new endpoint reference).
2. **MAC**: scope ``onvif://www.onvif.org/MacAddress/<12 hex>``, SNMP ifPhysAddress.
3. **endpoint reference**: the WS-Discovery EPR address, stable across reboots (ONVIF Core).
4. **address**: the weakest link. A WS-Discovery endpoint and an SNMP agent answering at the
   same address are the same unit *unless their evidence conflicts*.

The sightings are nodes of a union-find; each link is tried in the order above and refused if
it would put conflicting evidence into one unit: two different serials, or (for links weaker
than serial) two different MACs, or (for the address link) two different endpoint references.
Conflicting evidence means two units, e.g. a unit replaced between the WS-Discovery sweep and
the SNMP sweep (new serial at the old address), cloned firmware that ships one endpoint UUID on
every unit, or a NAT gateway fronting several devices. Merging them would hide exactly what
the audit must see (Art. 10: a unit removed or replaced without a filing), so they stay
separate. Where the sightings at one identifier (or address) disagree, *none* of them is linked
through it, not only the conflicting pair: which of two conflicting units an identifier-less
sighting belongs to cannot be told, and guessing would make the result depend on input order.

Placeholder serials ("", "0", "000000", "unknown", "N/A" ...) and MACs (all zeros, broadcast)
identify nothing and are ignored. The result does not depend on the order of the inputs.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from camfleet.model import normalize_mac
from devmgr.inventory.model import DiscoveredDevice, Route, SnmpIdentity, WsdEndpoint
from devmgr.layer2 import vendor_for

__all__ = ["address_sort_key", "merge_devices", "scope_value", "tagged"]

_ONVIF_AUTHORITY = "www.onvif.org"
_PLACEHOLDER_SERIALS = frozenset({
    "", "unknown", "none", "null", "n/a", "na", "-", "default", "serial", "serialnumber",
    "not available", "notavailable", "0123456789", "123456789", "1234567890",
})
_PLACEHOLDER_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})
_ROUTE_ORDER = {route: index for index, route in enumerate(Route)}


def tagged(route: Route, endpoints: Iterable[WsdEndpoint]) -> list[tuple[Route, WsdEndpoint]]:
    """``[(route, endpoint), ...]``: WS-Discovery results labelled with how they were found."""
    return [(route, endpoint) for endpoint in endpoints]


def scope_value(scopes: Iterable[str], category: str) -> str | None:
    """The value of an ONVIF scope category, e.g. ``SerialNumber`` or ``hardware``.

    ``onvif://www.onvif.org/SerialNumber/AB%2012`` gives ``AB 12`` (percent-decoded; scheme,
    authority and category compared case-insensitively, as vendors differ in case).
    """
    for scope in scopes:
        try:
            parts = urlsplit(scope)
        except ValueError:
            continue
        if parts.scheme.lower() != "onvif" or parts.netloc.lower() != _ONVIF_AUTHORITY:
            continue
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[0].lower() == category.lower():
            return "/".join(segments[1:])
    return None


def address_sort_key(address: str) -> tuple[int, int, str]:
    """Numeric order: 127.0.0.9 before 127.0.0.10; IPv4 before IPv6; junk last."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), address)


def _serial_key(serial: str | None) -> str | None:
    text = (serial or "").strip()
    if text.lower() in _PLACEHOLDER_SERIALS or set(text) <= {"0"}:
        return None
    return text.upper()  # vendors are not consistent about case between ONVIF and SNMP


def _mac_key(mac: str | None) -> str | None:
    if not mac:
        return None
    try:
        normalized = normalize_mac(mac)
    except ValueError:
        return None
    return None if normalized in _PLACEHOLDER_MACS else normalized


@dataclass(frozen=True, slots=True)
class _Sighting:
    route: Route
    address: str
    serial: str | None  # as reported
    serial_key: str | None
    mac: str | None
    endpoint: str | None
    wsd: WsdEndpoint | None = None
    snmp: SnmpIdentity | None = None

    @property
    def order(self) -> tuple[tuple[int, int, str], int, str, str]:
        return (address_sort_key(self.address), _ROUTE_ORDER[self.route], self.endpoint or "",
                self.serial_key or "")


def _from_wsd(route: Route, endpoint: WsdEndpoint) -> _Sighting:
    serial = scope_value(endpoint.scopes, "SerialNumber")
    return _Sighting(route=route, address=endpoint.address, serial=serial,
                     serial_key=_serial_key(serial),
                     mac=_mac_key(scope_value(endpoint.scopes, "MacAddress")),
                     endpoint=endpoint.endpoint or None, wsd=endpoint)


def _from_snmp(identity: SnmpIdentity) -> _Sighting:
    return _Sighting(route=Route.SNMP, address=identity.address, serial=identity.serial,
                     serial_key=_serial_key(identity.serial), mac=_mac_key(identity.mac),
                     endpoint=None, snmp=identity)


def _from_arp(address: str, mac: str) -> _Sighting:
    return _Sighting(route=Route.ARP, address=address, serial=None, serial_key=None,
                     mac=_mac_key(mac), endpoint=None)


def _one(value: str | None) -> set[str]:
    return {value} if value else set()


class _Units:
    """Union-find over sightings; each root knows the serials, MACs and endpoints it holds."""

    def __init__(self, sightings: list[_Sighting]) -> None:
        self.parent = list(range(len(sightings)))
        self.serials = [_one(s.serial_key) for s in sightings]
        self.macs = [_one(s.mac) for s in sightings]
        self.endpoints = [_one(s.endpoint) for s in sightings]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < ra:  # the smaller index is the root: deterministic
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.serials[ra] |= self.serials[rb]
        self.macs[ra] |= self.macs[rb]
        self.endpoints[ra] |= self.endpoints[rb]

    def conflict(self, a: int, b: int, *, mac: bool, endpoint: bool) -> bool:
        ra, rb = self.find(a), self.find(b)

        def differ(values: list[set[str]]) -> bool:
            return bool(values[ra]) and bool(values[rb]) and values[ra].isdisjoint(values[rb])

        return differ(self.serials) or (mac and differ(self.macs)) \
            or (endpoint and differ(self.endpoints))

    def link_all(self, members: list[int], *, mac: bool, endpoint: bool) -> None:
        """Link every member, or none if any two of their units conflict."""
        roots = sorted({self.find(m) for m in members})
        for i, a in enumerate(roots):
            for b in roots[i + 1:]:
                if self.conflict(a, b, mac=mac, endpoint=endpoint):
                    return
        for other in roots[1:]:
            self.union(roots[0], other)


def merge_devices(
    wsd: Iterable[tuple[Route, WsdEndpoint]] = (),
    snmp: Iterable[SnmpIdentity] = (),
    arp: Iterable[tuple[str, str]] = (),
) -> list[DiscoveredDevice]:
    """One :class:`DiscoveredDevice` per physical unit, sorted by address (numerically).

    ``wsd``: WS-Discovery sightings with the route that found each (see :func:`tagged`);
    ``snmp``: SNMP identities; ``arp``: (address, MAC) of ARP replies. See the module
    docstring for the linking rules (an ARP sighting has a MAC and an address, no more).
    """
    sightings = [_from_wsd(route, endpoint) for route, endpoint in wsd]
    sightings += [_from_snmp(identity) for identity in snmp]
    sightings += [_from_arp(address, mac) for address, mac in arp]
    # Input order must not matter: sort before any linking decision.
    sightings.sort(key=lambda s: s.order)
    units = _Units(sightings)

    def groups(key: str) -> list[list[int]]:
        by_value: dict[str, list[int]] = defaultdict(list)
        for index, sighting in enumerate(sightings):
            value = getattr(sighting, key)
            if value:
                by_value[value].append(index)
        ordered = sorted(by_value.items(), key=lambda kv: (address_sort_key(kv[0])
                                                           if key == "address" else kv[0]))
        return [members for _, members in ordered if len(members) > 1]

    # 1. Same serial: same unit. (Two serials never meet here: each sighting has at most one.)
    for members in groups("serial_key"):
        for other in members[1:]:
            units.union(members[0], other)
    # 2. Same MAC, unless that joins different serials.
    for members in groups("mac"):
        units.link_all(members, mac=False, endpoint=False)
    # 3. Same endpoint reference, unless serials or MACs differ (cloned endpoint UUIDs).
    for members in groups("endpoint"):
        units.link_all(members, mac=True, endpoint=False)
    # 4. Same address: only if nothing at that address disagrees.
    for members in groups("address"):
        units.link_all(members, mac=True, endpoint=True)

    by_root: dict[int, list[_Sighting]] = defaultdict(list)
    for index, sighting in enumerate(sightings):
        by_root[units.find(index)].append(sighting)
    devices = [_device(members) for members in by_root.values()]
    devices.sort(key=lambda d: (address_sort_key(d.addresses[0]), d.key))
    return _unique_keys(devices)


def _device(members: list[_Sighting]) -> DiscoveredDevice:
    wsd_seen = [s for s in members if s.wsd is not None]
    snmp_seen = [s.snmp for s in members if s.snmp is not None]
    snmp = snmp_seen[0] if snmp_seen else None
    addresses = tuple(sorted({s.address for s in members}, key=address_sort_key))
    routes = tuple(sorted({s.route for s in members}, key=_ROUTE_ORDER.__getitem__))
    # Prefer what the device states about itself over ONVIF (scopes) for MAC, and SNMP's
    # typed ENTITY-MIB value for the serial; the keys are equal whenever both exist.
    serial = next((s.serial.strip() for s in members
                   if s.snmp is not None and s.serial_key and s.serial), "") \
        or next((s.serial.strip() for s in members if s.serial_key and s.serial), "")
    mac = next((s.mac for s in wsd_seen if s.mac), None) \
        or next((s.mac for s in members if s.mac), None)
    endpoints = sorted({s.endpoint for s in wsd_seen if s.endpoint})
    endpoint = endpoints[0] if endpoints else ""
    xaddrs: dict[str, None] = {}
    scopes: dict[str, None] = {}
    nonconformities: dict[str, None] = {}
    for sighting in wsd_seen:
        assert sighting.wsd is not None
        xaddrs.update(dict.fromkeys(sighting.wsd.xaddrs))
        scopes.update(dict.fromkeys(sighting.wsd.scopes))
        nonconformities.update(dict.fromkeys(sighting.wsd.nonconformities))
    model = (snmp.model if snmp else "") or scope_value(scopes, "hardware") or ""
    if serial:
        key = f"serial:{serial}"
    elif mac:
        key = f"mac:{mac}"
    elif endpoint:
        key = f"endpoint:{endpoint}"
    else:
        key = f"address:{addresses[0]}"
    # Found by ARP alone (discovery and SNMP off): the OUI is all that names its maker.
    vendor = snmp.vendor if snmp else (vendor_for(mac or "") if routes == (Route.ARP,) else "")
    return DiscoveredDevice(key=key, addresses=addresses, routes=routes, serial=serial, mac=mac,
                            endpoint=endpoint, xaddrs=tuple(xaddrs), scopes=tuple(scopes),
                            vendor=vendor, model=model, snmp=snmp,
                            nonconformities=tuple(nonconformities))


def _unique_keys(devices: list[DiscoveredDevice]) -> list[DiscoveredDevice]:
    # Two units that refused to merge may still lack every identifier but their shared
    # address; number the later ones so keys stay unique.
    seen: dict[str, int] = {}
    result = []
    for device in devices:
        count = seen.get(device.key, 0) + 1
        seen[device.key] = count
        result.append(device if count == 1
                      else device.model_copy(update={"key": f"{device.key}#{count}"}))
    return result
