"""Loopback addresses for a fleet: a free /16 of 127.0.0.0/8, one address per camera."""

from __future__ import annotations

import ipaddress
import random
import socket

from simulators.fleet.errors import FleetError


def loopback_addresses(count: int, base: str | None = None, port: int = 80) -> list[str]:
    """``count`` addresses in a /16 of 127.0.0.0/8, skipping .0 and .255 host bytes.

    Without ``base``, a /16 between 127.100.0.0 and 127.249.0.0 is picked at random and taken
    only if nothing listens on its first address, so fleets of parallel test workers do not
    collide; 127.0.0.0/16 (where 127.0.0.1 lives) is never used.
    """
    if base is None:
        rng = random.SystemRandom()
        for _ in range(20):
            candidate = f"127.{rng.randrange(100, 250)}.0.0/16"
            if _free(f"{candidate.rsplit('.', 2)[0]}.0.1", port):
                base = candidate
                break
        else:
            raise FleetError("found no free 127.x.0.0/16 for the fleet; pass --address-base")
    try:
        network = ipaddress.IPv4Network(base)
    except ValueError as exc:
        raise FleetError(f"not an IPv4 network: {base} ({exc})") from exc
    if not network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
        raise FleetError(f"loopback fleets live in 127.0.0.0/8, not {base}")
    addresses = []
    for host in network.hosts():
        if not 0 < int(host) % 256 < 255 or host == ipaddress.IPv4Address("127.0.0.1"):
            continue
        addresses.append(str(host))
        if len(addresses) == count:
            return addresses
    raise FleetError(f"{base} has room for {len(addresses)} cameras, not {count}")


def _free(address: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True
