"""WS-Discovery target service of one simulated camera: Hello, Bye, Probe -> ProbeMatches.

Each responder owns two UDP sockets on the camera's own address, so a fleet of cameras on
127.x.y.z addresses behaves like a LAN of cameras::

    spec = CameraSpec.example().with_network(address="127.0.0.5")
    state = CameraState(spec)
    responder = DiscoveryResponder(
        state, "127.0.0.5", lambda: ["http://127.0.0.5:8080/onvif/device_service"])
    await responder.start()   # joins 239.255.255.250 on the camera's interface, sends Hello
    ...                       # Probes that match state's Types/Scopes get a ProbeMatches
    await responder.stop()    # sends Bye, closes both sockets

What it does, and which rule says so:

* multicast socket: bound to 239.255.255.250:port (SO_REUSEADDR, so every camera
  of a process and any client on the host share the port; Linux hands each multicast datagram
  to all of them), joined on the interface that owns the camera's address;
* unicast socket: bound to address:port; it receives unicast Probes (DISCOVERY-1-1-6) and sends
  everything, so every reply and announcement carries the camera's address as its source.
  Hello/Bye go to the group through it with IP_MULTICAST_IF = the camera's address (on Linux
  any 127/8 address selects ``lo``, e.g. 127.0.0.5 works as well as 127.0.0.1) and TTL 1
  (SOAP-over-UDP);
* a matching multicast Probe is answered after a random delay uniform in
  0..``discovery_max_delay_ms`` (WS-Discovery APP_MAX_DELAY, 500 ms, so a thousand cameras do
  not answer in the same millisecond); a unicast Probe is answered at once: the delay only
  exists to spread a multicast implosion, and a unicast sender is talking to one device;
* invalid Probes, and messages that are not Probes, get no reply at all (DISCOVERY-1-1-5);
* an unsupported MatchBy gets a SOAP fault over unicast (DISCOVERY-1-1-10) and silence over
  multicast (a fault from every camera would be the implosion the delay exists to avoid);
* a Probe seen again with the same MessageID (a SOAP-over-UDP retransmission) is not answered
  twice;
* NonDiscoverable (``state.discoverable`` false): no Hello, no Bye, and no answer to any Probe,
  multicast *or unicast*. ONVIF Core, "Modes of operation": "A device in nondiscoverable shall
  not listen to [WS-Discovery] messages or send such messages." DISCOVERY-1-1-9 checks
  only the multicast side; we follow the Core text, which covers both. Sockets stay open so
  switching back needs no rebind.

Cost: no task per camera; a datagram is one callback, a delayed reply one timer handle. The same
multicast datagram reaches every camera's socket, so Probe parsing is memoised per datagram
(``_sockets``): one lxml parse per Probe per process, not per camera. A Probe to 1000
cameras on 127.0.x.y costs ~0.15 s CPU, with 1000 ProbeMatches back within the max delay. What
does not scale is cameras hearing each other: N cameras starting send N Hellos to N group
sockets (N² deliveries; 1000 cameras: ~9 s CPU at start and again at stop). Fleet hosts should
pass a :class:`SharedGroupSocket` (one group socket per process and interface; 1000 cameras
start in ~0.2 s CPU).

The modules: ``_responder`` (one camera's target service) and ``_sockets`` (its sockets, and
the group socket a fleet shares).
"""

from simulators.discovery._responder import CAMERA_TYPES, DiscoveryResponder, ResponderState
from simulators.discovery._sockets import SharedGroupSocket

__all__ = ["CAMERA_TYPES", "DiscoveryResponder", "ResponderState", "SharedGroupSocket"]
