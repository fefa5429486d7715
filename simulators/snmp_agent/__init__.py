"""SNMP agents (v1, v2c and v3) for simulated cameras, built on pysnmp.

An agent answers GET, GETNEXT and GETBULK (so ``snmpwalk`` and ``snmpbulkwalk`` work) for the
objects a device manager looks at on a real IP camera: the MIB-II system group, a one-row
ifTable, one ENTITY-MIB entPhysicalTable row and the SNMP-FRAMEWORK-MIB engine scalars. It is
read-only: every SET is answered with ``noAccess`` and never touches the camera.

Two ways to run agents, one implementation:

* :class:`SnmpAgentHost` -- one pysnmp engine per event loop serving many cameras, each on its
  own UDP socket. This is what a fleet uses: per camera ~62 KiB (~70 KiB once polled) and
  ~4 ms to start, most of the time and half of the memory being the camera's USM user row;
  the engine itself is ~4 MiB, once.
* :class:`SnmpAgent` -- one camera on a private host; the stand-alone form, at the cost of an
  engine per camera (~0.7 MiB, ~14 ms to start, ten times the idle CPU).

    >>> import asyncio
    >>> from simulators.spec import CameraSpec
    >>> from simulators.state import CameraState
    >>> async def main() -> None:
    ...     spec = CameraSpec.example().with_network(address="127.0.0.1")
    ...     async with SnmpAgentHost() as host:
    ...         camera = await host.add(CameraState(spec), "127.0.0.1", 0)
    ...         # snmpget -v2c -c c4mfleet-ro 127.0.0.1:<camera.port> 1.3.6.1.2.1.1.5.0
    ...         await camera.stop()   # a reboot or "removed" fault: the port is free ...
    ...         await camera.start()  # ... and bound again
    ...     agent = SnmpAgent(CameraState(spec), "127.0.0.1", 0)
    ...     await agent.start()
    ...     await agent.stop()
    >>> asyncio.run(main())

Each hosted camera keeps everything a device manager can tell apart: its engine ID (derived
from its MAC), snmpEngineBoots/snmpEngineTime (from ``state.boots`` and its uptime), its v2c
community, its v3 users (rows of the shared USM user table indexed by the camera's engine ID,
keys localised to it), the security level each user needs, and its objects.

How one engine serves many cameras: every camera's socket is registered with the engine's
transport dispatcher as a transport of its own (``snmpUDPDomain + (n,)``), so responses go
out of the socket the request came in on. A datagram is handed to the engine synchronously
from that socket's ``datagram_received``, with the host's "camera being served" set to the
camera the socket belongs to; for the duration of that call the engine's own identity (the
snmpEngineID, snmpEngineBoots and snmpEngineTime instances in its LCD, which USM and the
message processing models read) is the camera's, and the few places that need per-camera
data (community check, access control, the objects) ask the host for the camera being
served.

**Assumption** (pysnmp 7.1.x): the engine processes a request completely inside
``MsgAndPduDispatcher.receive_message`` -- decode, USM checks, the command responder, and the
response or report handed to the transport -- without yielding to the event loop. Were a
future pysnmp to defer any of it (e.g. async responders), the per-camera lookups would raise
(see ``SnmpAgentHost._serving_agent``) or responses and reports would carry another camera's
engine ID and boots; ``test_interleaved_requests_to_two_cameras_keep_their_identities``
fails either way.

Values that change (sysUpTime, snmpEngineBoots, snmpEngineTime) are read from the live
:class:`~simulators.state.CameraState` on every request, so ``state.reboot()`` is visible at
once, to v3 clients too (they re-synchronise through the usual notInTimeWindow report).
Identity and location are rendered from ``state.spec`` at construction and start, and again
on :meth:`HostedAgent.refresh`.

The camera objects do not go through pysnmp's MIB machinery at all (see ``_objects.CameraMib``),
and the MIB modules an engine needs internally are compiled once per process instead of once
per engine (see :class:`camfleet.protocols.pysnmp_mibs.CachedMibBuilder`).

The modules: ``_objects`` (what is served), ``_usm`` (v3 users and their keys), ``_hooks``
(pysnmp's extension points, pointed at the camera being served) and ``_host``.
"""

from simulators.snmp_agent._host import HostedAgent, SnmpAgent, SnmpAgentHost
from simulators.snmp_agent._objects import engine_id_for, sys_object_id_for

__all__ = ["HostedAgent", "SnmpAgent", "SnmpAgentHost", "engine_id_for", "sys_object_id_for"]
