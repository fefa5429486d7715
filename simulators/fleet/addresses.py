"""Loopback addresses for a fleet: a free /16 of 127.0.0.0/8, one address per camera.

A block picked at random is *claimed* for the fleet's life by an exclusive ``flock`` on a
lock file named after it, so that two fleets starting at the same moment (parallel test
workers, two terminals) can never take the same block: probing whether its first address is
free is not enough on its own, because both may probe before either binds. The kernel drops
the lock when the holder exits, however it exits, so a killed fleet leaves no stale claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import random
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from simulators.fleet.errors import FleetError

#: Where the claims live: one empty lock file per /16 (they stay; only the lock matters).
CLAIM_DIR = Path(tempfile.gettempdir()) / "camfleet-loopback"
#: Which blocks to try first: at random, so fleets rarely even contend for a claim.
_RNG = random.SystemRandom()


@dataclass
class LoopbackBlock:
    """Addresses for a fleet, and the claim on their /16 (``release`` when the fleet stops)."""

    addresses: list[str]
    _fd: int | None = field(default=None, repr=False)

    def spare_address(self, index: int, *, other_subnet: bool = False) -> str:
        """The ``index``-th address for a re-addressed camera: in the block's x.y.203.0/24,
        or with ``other_subnet`` its x.y.204.0/24, both away from the cameras' own."""
        block = ipaddress.IPv4Network(f"{self.addresses[0]}/16", strict=False)
        return str(block.network_address + ((204 if other_subnet else 203) << 8) + 10 + index)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def default_ports() -> tuple[int, int]:
    """HTTP and SNMP ports: the standard ones where we may bind them."""
    return (80, 161) if os.geteuid() == 0 else (8080, 1161)


def default_rtsp_port() -> int:
    """RTSP's standard port where we may bind it."""
    return 554 if os.geteuid() == 0 else 8554


def claim_loopback_block(count: int, base: str | None = None, port: int = 80) -> LoopbackBlock:
    """``count`` addresses in a /16 of 127.0.0.0/8, skipping .0 and .255 host bytes.

    Without ``base``, a /16 between 127.100.0.0 and 127.249.0.0 is picked at random, claimed
    (see the module's docstring) and taken only if nothing listens on its first address;
    127.0.0.0/16 (where 127.0.0.1 lives) is never used. A given ``base`` is the caller's to
    keep apart from other fleets and is not claimed.
    """
    if base is not None:
        return LoopbackBlock(_hosts(base, count))
    for second in _RNG.sample(range(100, 250), 40):
        fd = _claim(second)
        if fd is None:
            continue
        if _free(f"127.{second}.0.1", port):
            return LoopbackBlock(_hosts(f"127.{second}.0.0/16", count), fd)
        os.close(fd)
    raise FleetError("found no free 127.x.0.0/16 for the fleet; pass --address-base")


def _hosts(base: str, count: int) -> list[str]:
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


def _claim(second: int) -> int | None:
    """An exclusive, non-blocking lock on 127.<second>.0.0/16's claim file, or None if held."""
    CLAIM_DIR.mkdir(mode=0o1777, exist_ok=True)
    fd = os.open(CLAIM_DIR / f"127.{second}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _free(address: str, port: int) -> bool:
    with socket.socket() as sock, contextlib.suppress(OSError):
        sock.bind((address, port))
        return True
    return False
