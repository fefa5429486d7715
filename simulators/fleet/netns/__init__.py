"""Camera fleets in Linux network namespaces: one namespace per camera, one bridge per fleet.

Camera *i* of a fleet lives in the network namespace ``<prefix>-<i>``, whose only interfaces
are ``lo`` and ``eth0``. ``eth0`` is one end of a veth pair; the other end, ``<prefix>-<i>`` in
the root namespace, is a port of the fleet's bridge ``<prefix>-br``. The bridge carries the
manager's address (``.1`` of the subnet), camera *i* has ``.(i+2)``. WS-Discovery multicast,
ARP, HTTP and SNMP therefore cross a real L2 segment, as on a camera LAN::

    import socket
    from simulators.fleet.netns import NetnsNetwork, entered, netns_unavailable_reason

    if (reason := netns_unavailable_reason()) is not None:
        raise SystemExit(reason)
    with NetnsNetwork(3) as net:          # bridge + 3 namespaces: ~30 ms
        cam = net.hosts[0]                # NamespaceHost(name='cf00eqh0-0', address='10.213.0.2',
                                          #   interface='eth0', mac='02:cf:0a:d5:00:02', ...)
        with entered(cam.name):           # this thread is now in the camera's namespace
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((cam.address, 0))       # the socket stays in the namespace it was made in
        ...
    # namespaces, veths, bridge and bookkeeping are gone

A worker process (one asyncio loop) hosts many cameras by creating each camera's sockets
*synchronously* inside ``with entered(name):`` and handing them to asyncio afterwards
(``loop.create_datagram_endpoint(sock=...)``, ``asyncio.start_server(sock=...)``,
``aiohttp.web.SockSite``). Only the creating thread's namespace matters, and only at socket
creation: bind, connect and sendto later act in the socket's own namespace.

Multicast from the root namespace: what the manager/client side must do
-------------------------------------------------------------------------
The root namespace's routing table is shared with every program on the machine, so
:meth:`NetnsNetwork.create` adds no ``224.0.0.0/4`` route there (two fleets could not both own
it, and it would redirect other programs' multicast). Without help, the kernel routes
``239.255.255.250`` like any other destination, i.e. by the default route out of the
machine's real NIC: away from the cameras, and onto a network we must not send to. So:

* a sender sets ``IP_MULTICAST_IF`` to :attr:`NetnsNetwork.manager_address` (what
  :func:`set_multicast_interface` does, with TTL 1 as SOAP-over-UDP asks). Binding the sender
  to the manager address works too (for multicast with a source address and no interface,
  Linux picks the device owning that address; :meth:`~NetnsNetwork.create` verifies this
  with ``ip route get 239.255.255.250 from <manager>``), but the option is explicit;
* a receiver joins the group with the manager address as interface
  (:func:`join_group`); a join on ``INADDR_ANY`` would pick the default-route NIC.

Inside each namespace ``eth0`` is the only way out, so :meth:`~NetnsNetwork.create` adds a
``224.0.0.0/4 dev eth0`` route there: a camera's Hello or ProbeMatch multicast leaves through
``eth0`` even if its sender sets no interface. The bridge has multicast snooping off, so it
floods every group to every port like the unmanaged switch of a small camera LAN. With
snooping on, delivery would depend on IGMP reports, and group entries expire after 260 s
because nothing on the segment sends IGMP queries.

Safety: traffic stays on our segment
------------------------------------
* subnets are RFC 1918 and must not overlap any route or address of the root namespace (the
  default pool is ``10.213.0.0/16``, one block per fleet; see ``_addressing``);
* :meth:`NetnsNetwork.create` checks with ``ip route get`` that every camera address, and
  multicast from the manager address, is routed through the fleet's bridge; otherwise it
  deletes everything it made and raises :class:`NetnsError`;
* the namespaces get no default route, so a camera can reach only its own segment.

Lifetime and leftovers
----------------------
:meth:`NetnsNetwork.destroy` deletes the veths (which also removes the ``eth0`` ends), the
namespaces, the bridge and the bookkeeping file ``/run/camfleet-netns/<prefix>.json``. It is
idempotent and skips pieces that are already gone. A namespace whose ``eth0`` is deleted
stays alive in the kernel while some process still holds a socket in it, but it is no longer
named, connected or listed anywhere. Networks still alive at interpreter exit are destroyed
by an ``atexit`` hook. After a crash (SIGKILL, power cut of the test runner), the bookkeeping
file names the owner process (pid and start time); :func:`cleanup_stale` removes networks
whose owner is gone and never touches names it did not create.

Speed
-----
``create()`` runs one ``ip -batch`` in the root namespace for all namespaces and veths, then
one ``ip -n <ns> -batch`` per namespace (started in parallel, up to 64 at a time), and one
batch of ``ip route get``. ``destroy()`` deletes bridge and veths with one ``ip link delete
group``. ``bench/README.md`` has the timings.

Hosts with Docker
-----------------
If ``br_netfilter`` is loaded with ``net.bridge.bridge-nf-call-iptables=1`` (Docker does
this), frames bridged between two cameras traverse iptables FORWARD, whose policy Docker sets
to DROP: camera-to-camera traffic (one camera hearing another's Hello) is then dropped, while
manager-to-camera traffic (INPUT/OUTPUT of the root namespace) still flows. The per-bridge
``nf_call_iptables`` option cannot switch that off; an ``iptables -I FORWARD -i <bridge>
-o <bridge> -j ACCEPT`` rule, or the sysctl at 0, can. We change neither: both are
host-wide policy.

Names fit IFNAMSIZ: interface names have at most 15 characters. A prefix is lower-case
letters and digits starting with a letter; ``<prefix>-br`` and ``<prefix>-<count-1>`` must fit.
The default prefix is ``cf`` + the pid (5 base-36 digits) + a per-process counter, so
parallel pytest-xdist workers and several fleets in one process never collide.

The modules: ``_entering`` (setns, sockets in a namespace), ``_iproute`` (running ``ip``),
``_addressing`` (subnets, addresses, MACs), ``_ownership`` (bookkeeping, teardown, cleanup of
leftovers), ``_available`` (can this process do it) and ``_network`` (``NetnsNetwork``).
"""

from camfleet.protocols.multicast import join_group
from simulators.fleet.netns._addressing import DEFAULT_POOL, PRIVATE_RANGES, networks_in_use
from simulators.fleet.netns._available import netns_unavailable_reason
from simulators.fleet.netns._entering import (
    current_namespace_inode,
    entered,
    set_multicast_interface,
    socket_in,
)
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._network import NamespaceHost, NetnsNetwork
from simulators.fleet.netns._ownership import STATE_DIR, cleanup_stale

__all__ = [
    "DEFAULT_POOL",
    "PRIVATE_RANGES",
    "STATE_DIR",
    "NamespaceHost",
    "NetnsError",
    "NetnsNetwork",
    "cleanup_stale",
    "current_namespace_inode",
    "entered",
    "join_group",
    "netns_unavailable_reason",
    "networks_in_use",
    "set_multicast_interface",
    "socket_in",
]
