"""WS-Discovery client: multicast Probe, unicast sweep of CIDRs, passive Hello/Bye monitor.

The wire format is :mod:`camfleet.protocols.wsdiscovery` (shared with the simulated cameras);
this module owns the sockets, the timing and the bookkeeping. Linux only (interface names are
resolved with an ioctl; drops are read from ``/proc/net/udp``).

Multicast, on every interface that may have cameras (addresses or names)::

    stats = ProbeStats()
    found = await probe_multicast(["eth0"], expect=120, stats=stats)
    # -> [WsdEndpoint(address="10.1.2.3", endpoint="urn:uuid:...", xaddrs=(...), ...), ...]
    print(stats.time_to_last_new_s, stats.kernel_drops, stats.stopped_by)

Unicast, across VLANs where multicast does not reach (ONVIF Core allows a unicast Probe to a
device's WS-Discovery port; DISCOVERY-1-1-6)::

    found = await probe_unicast(["10.20.0.0/22", "10.30.4.17"], timeout_s=1.0)

Passive, for Hello (a unit joined) and Bye (a unit left)::

    async with DiscoveryMonitor(["127.0.0.1"]) as monitor:
        async for event in monitor.events():
            print(event.kind, event.address, event.endpoint)   # "joined"/"left"

What the timing rests on (WS-Discovery 2005 + SOAP-over-UDP, the versions ONVIF pins):

* a target answers a multicast Probe after a random delay in 0..APP_MAX_DELAY (500 ms), so a
  client that has heard nothing new for a short quiet period *after* that window can stop;
  one that knows how many devices to expect stops the moment the last one answered;
* a multicast message is repeated MULTICAST_UDP_REPEAT times with the *same* MessageID, first
  after a random UDP_MIN_DELAY..UDP_MAX_DELAY (50..250 ms), then doubling up to
  UDP_UPPER_DELAY (500 ms): compliant targets answer one MessageID once, so repeats only help
  targets that missed the first copy and cost no extra replies;
* a unicast Probe is answered without the random delay (it exists to spread a multicast reply
  implosion), so a sweep's per-host timeout can be short.

The modules: ``_sockets`` (interfaces, buffers, the datagram protocol), ``_replies`` (Types,
retransmission schedule, reply bookkeeping), ``_multicast``, ``_unicast`` and ``_monitor``.
"""

from devmgr.discovery.wsd._monitor import DiscoveryEvent, DiscoveryMonitor, MonitorStats
from devmgr.discovery.wsd._multicast import ProbeStats, probe_multicast
from devmgr.discovery.wsd._replies import APP_MAX_DELAY_S, ProbeTypes
from devmgr.discovery.wsd._sockets import resolve_interface
from devmgr.discovery.wsd._unicast import MAX_SWEEP_HOSTS, SweepStats, TooManyHosts, probe_unicast

__all__ = [
    "APP_MAX_DELAY_S",
    "MAX_SWEEP_HOSTS",
    "DiscoveryEvent",
    "DiscoveryMonitor",
    "MonitorStats",
    "ProbeStats",
    "ProbeTypes",
    "SweepStats",
    "TooManyHosts",
    "probe_multicast",
    "probe_unicast",
    "resolve_interface",
]
