"""Where a fleet's segment goes: a free RFC 1918 subnet, addresses and MACs for its cameras.

A subnet must not overlap any route or address of the root namespace, or traffic for it
could leave the machine; :func:`networks_in_use` lists what is taken (the Docker backend
asks the same question).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Sequence

from camfleet.model import normalize_mac
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._iproute import ip

#: Pool the default subnets are carved from. 10/8 is private; 213 is arbitrary, chosen away
#: from 10.0/16 and 10.1/16 (home and office LANs, VPNs) and from the ranges Docker (172.17/16,
#: 192.168/20 pools), libvirt (192.168.122/24) and Kubernetes (10.96/12, 10.244/16) take.
DEFAULT_POOL = ipaddress.IPv4Network("10.213.0.0/16")
#: RFC 1918: the only ranges a caller-supplied subnet may come from.
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                          "192.168.0.0/16"))


def networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route (all tables, except default routes) and address of the root namespace."""
    used: list[ipaddress.IPv4Network] = []
    for route in json.loads(ip("-4", "-j", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                used.append(ipaddress.IPv4Network(dst, strict=False))
    for link in json.loads(ip("-4", "-j", "addr", "show") or "[]"):
        for info in link.get("addr_info", []):
            with contextlib.suppress(ValueError, KeyError):
                used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}",
                                                  strict=False))
    return used


def prefixlen_for(count: int) -> int:
    # network + broadcast + manager + count cameras; at least a /24, the usual camera LAN.
    needed = count + 3
    bits = max(8, (needed - 1).bit_length())
    return 32 - bits


def check_subnet(subnet: ipaddress.IPv4Network, count: int,
                  used: Sequence[ipaddress.IPv4Network]) -> None:
    if not any(subnet.subnet_of(private) for private in PRIVATE_RANGES):
        raise NetnsError(f"subnet {subnet} is not RFC 1918 private address space (10/8, "
                         "172.16/12, 192.168/16): a fleet segment must not shadow real hosts")
    if subnet.num_addresses < count + 3:
        raise NetnsError(f"subnet {subnet} has no room for the manager and {count} cameras")
    clash = next((net for net in used if net.overlaps(subnet)), None)
    if clash is not None:
        raise NetnsError(f"subnet {subnet} overlaps {clash}, already routed or assigned in the "
                         "root namespace; pick another one")


def pick_subnet(count: int, used: Sequence[ipaddress.IPv4Network],
                 taken: Sequence[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """First block of DEFAULT_POOL that overlaps nothing in use and no live fleet's subnet.

    Called under :func:`state_lock`, and the chosen block is routed (bridge address added)
    before the lock is released, so concurrent fleets always get different blocks.
    """
    for block in DEFAULT_POOL.subnets(new_prefix=prefixlen_for(count)):
        if not any(block.overlaps(net) for net in (*used, *taken)):
            return block
    raise NetnsError(f"no free /{prefixlen_for(count)} left in {DEFAULT_POOL} for {count} "
                     "cameras; pass subnet= explicitly")



def mac_for(address: ipaddress.IPv4Address) -> str:
    """Deterministic, locally administered unicast MAC: 02:cf + the four address bytes."""
    return "02:cf:" + ":".join(f"{byte:02x}" for byte in address.packed)


def interface_mac(mac: str) -> str:
    """``mac`` normalised, if an interface may carry it (unicast, not all zeros)."""
    mac = normalize_mac(mac)
    if int(mac[:2], 16) & 1:
        raise ValueError(f"{mac} is a multicast MAC; an interface needs a unicast one")
    if mac == "00:00:00:00:00:00":
        raise ValueError("00:00:00:00:00:00 is not a usable interface MAC")
    return mac
