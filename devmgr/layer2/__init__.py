"""Layer 2 as a discovery route: an ARP sweep of an attached segment, vendor by OUI.

A camera with WS-Discovery and SNMP turned off still answers ARP: :func:`arp_sweep` asks
every address of a segment the manager is attached to and returns who answered, with the
vendor its MAC's OUI names. Frames are built and parsed with scapy and sent on a raw
``AF_PACKET`` socket, which needs root or CAP_NET_RAW: without it (or without scapy, the
``layer2`` extra) the sweep returns at once with the reason in ``error``, and the other
routes carry on.

:func:`listen` captures passively (ARP, DHCP, WS-Discovery Hello and Bye) and
:func:`readdressed` names the units heard speaking from another address than the one known:
evidence of re-addressing. Every frame is the network's: at most ``MAX_HOSTS`` addresses
are asked, at most ``MAX_FRAMES`` frames read, frames that are not a well-formed ARP reply
from an address of the segment are counted in ``rejected`` and dropped.

    >>> import asyncio
    >>> from devmgr.layer2 import arp_sweep
    >>> result = asyncio.run(arp_sweep("br-cf0", "10.77.0.0/24"))      # doctest: +SKIP
    >>> [(h.address, h.vendor) for h in result.hosts]                   # doctest: +SKIP
    [('10.77.0.2', 'Hikvision'), ('10.77.0.3', 'Dahua')]
"""

from devmgr.layer2._arp import MAX_FRAMES, MAX_HOSTS, ArpHost, ArpSweep, arp_sweep, parse_reply
from devmgr.layer2._listen import Capture, L2Event, listen, parse_frame, readdressed
from devmgr.layer2._oui import vendor_for

__all__ = ["MAX_FRAMES", "MAX_HOSTS", "ArpHost", "ArpSweep", "Capture", "L2Event", "arp_sweep",
           "listen", "parse_frame", "parse_reply", "readdressed", "vendor_for"]
