"""A fleet worker: one process, one event loop, a shard of the fleet's cameras.

The supervisor (``simulators.fleet.fleet.Fleet``) talks to each worker over a
``multiprocessing`` connection with small command tuples: a socket pair for a local worker,
a TCP link it dials back on for a worker in a container (``simulators.fleet.link``). A reader
thread hands each command to the event loop and sends the answer back. Cameras of a worker
share one HTTP server, and (on the loopback) one WS-Discovery multicast socket, which is what
makes a thousand cameras cheap.

Commands (each answered with ``("ok", result)`` or ``("error", message)``)::

    ("start", [CameraLaunch, ...])      -> [{"id", "http_port", "snmp_port", "discovery_port"}]
    ("faults", camera_id, [fault, ...]) -> None          replace the faults in force
    ("world", camera_id, {field: value}) -> dict         change the living world (clock restarts)
    ("truth", camera_id)                -> dict          what really is (for tests)
    ("reboot", camera_id)               -> None
    ("stats",)                          -> dict          cameras, requests served, RSS
    ("stop",)                           -> None          every camera says Bye; the worker exits
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from camfleet.protocols import wsdiscovery as wsd
from simulators.faults import Fault, fault_to_json, parse_fault
from simulators.spec import CameraSpec, LivingWorld

if TYPE_CHECKING:
    from simulators.camera import SocketPlacement

log = logging.getLogger(__name__)


@dataclass
class CameraLaunch:
    """What a worker needs to start one camera (picklable)."""

    spec: CameraSpec
    faults: list[dict[str, Any]] = field(default_factory=list)
    #: Network namespace to create the camera's sockets in (netns backend).
    netns: str | None = None


@dataclass
class WorkerOptions:
    reboot_seconds: float = 2.0
    #: Share one HTTP server and one WS-Discovery group socket among the worker's cameras.
    #: Needs every camera in the worker's own network namespace (not so on netns).
    share_transports: bool = True
    #: Share one SNMP engine even where sockets cannot be shared (each socket is still the
    #: camera's own, opened in its namespace).
    share_snmp: bool = True
    discovery_port: int = wsd.PORT
    group_interface: str = "127.0.0.1"
    #: The worker runs inside its cameras' network namespace (a container): its interface
    #: has the one address the fleet assigned, so a ``readdressed`` fault is refused there.
    own_namespace: bool = False


def spawn_local_worker() -> tuple[subprocess.Popen[bytes], Connection]:
    """A worker as ``python -m simulators.fleet.worker <fd>``, and the supervisor's end of
    its socket pair."""
    parent_sock, child_sock = socket.socketpair()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.fleet.worker", str(child_sock.fileno())],
        pass_fds=[child_sock.fileno()], stdin=subprocess.DEVNULL)
    child_sock.close()
    return process, Connection(parent_sock.detach())


def worker_main(conn: Connection) -> None:
    """Serve the supervisor on ``conn``; its first message is the ``WorkerOptions``."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(message)s")
    options = conn.recv()
    asyncio.run(Worker(conn, options).run())


def _warm_up() -> None:
    """Pay before dialling what the first camera would pay on "start" (~1 s of CPU: the camera
    stack's imports, the parsed WSDLs), while the supervisor still starts other workers."""
    from camfleet.protocols.onvif_schema import onvif_schema  # noqa: PLC0415

    for module in ("simulators.camera", "simulators.discovery", "simulators.snmp_agent"):
        importlib.import_module(module)
    onvif_schema()


def main(argv: list[str]) -> None:
    """``FD``: the supervisor's end of a socket pair (a local worker);
    ``--connect HOST:PORT``: dial the supervisor with the key in ``$CAMFLEET_WORKER_KEY``
    (a worker in a container, see ``simulators.fleet.link``)."""
    if argv[:1] == ["--connect"] and len(argv) == 2:
        from simulators.fleet.link import KEY_ENV, dial  # noqa: PLC0415

        _warm_up()
        host, _, port = argv[1].rpartition(":")
        worker_main(dial((host, int(port)), os.environ[KEY_ENV]))
    elif len(argv) == 1 and argv[0].isdigit():
        worker_main(Connection(int(argv[0])))
    else:
        sys.exit("usage: python -m simulators.fleet.worker FD | --connect HOST:PORT")



class Worker:
    def __init__(self, conn: Connection, options: WorkerOptions) -> None:
        from simulators.camera import SharedTransports  # noqa: PLC0415 (heavy: child only)

        self.conn = conn
        self.options = options
        self.cameras: dict[str, Any] = {}
        self.shared = SharedTransports()
        self._stopped = asyncio.Event()
        self._namespace_lock = asyncio.Lock()
        self._namespace_holder: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        from simulators.discovery import SharedGroupSocket  # noqa: PLC0415
        from simulators.snmp_agent import SnmpAgentHost  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        await self.shared.http.open()
        if self.options.share_transports or self.options.share_snmp:
            self.shared.snmp = SnmpAgentHost()
            await self.shared.snmp.open()
        if self.options.share_transports:
            group = SharedGroupSocket(port=self.options.discovery_port,
                                      interface=self.options.group_interface)
            await group.open()
            self.shared.group = group
        reader = threading.Thread(target=self._read_commands, args=(loop,), daemon=True)
        reader.start()
        await self._stopped.wait()
        if self.shared.group is not None:
            await self.shared.group.close()
        if self.shared.snmp is not None:
            await self.shared.snmp.close()
        await self.shared.http.close()

    def _read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                command = self.conn.recv()
            except (EOFError, OSError):
                # The supervisor is gone: stop the cameras (Bye) rather than linger.
                command = ("stop",)
            future = asyncio.run_coroutine_threadsafe(self._execute(command), loop)
            try:
                answer: tuple[str, Any] = ("ok", future.result())
            except Exception as exc:  # every failure goes back to the supervisor, by name
                answer = ("error", f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(OSError, EOFError):
                self.conn.send(answer)
            if command[0] == "stop":
                return

    async def _execute(self, command: tuple[Any, ...]) -> Any:
        name, *args = command
        handler = getattr(self, f"cmd_{name}", None)
        if handler is None:
            raise ValueError(f"unknown worker command {name!r}")
        return await handler(*args)

    def _camera(self, camera_id: str) -> Any:
        try:
            return self.cameras[camera_id]
        except KeyError:
            raise KeyError(f"no camera {camera_id!r} in this worker") from None

    async def cmd_start(self, launches: list[CameraLaunch]) -> list[dict[str, Any]]:
        from simulators.camera import SharedTransports, SimulatedCamera  # noqa: PLC0415

        started = []
        for launch in launches:
            faults: list[Fault] = [parse_fault(f) for f in launch.faults]
            if launch.netns is not None:
                shared = SharedTransports(http=self.shared.http, snmp=self.shared.snmp,
                                          placement=self._namespace_placement(launch.netns))
            elif self.options.own_namespace:
                shared = SharedTransports(http=self.shared.http, snmp=self.shared.snmp,
                                          placement=_already_in_place)
            elif self.options.share_transports:
                shared = self.shared
            else:
                shared = None
            camera = SimulatedCamera(launch.spec, reboot_seconds=self.options.reboot_seconds,
                                     faults=faults, shared=shared)
            await camera.start()
            self.cameras[launch.spec.id] = camera
            started.append({"id": launch.spec.id, "http_port": camera.http_port,
                            "snmp_port": camera.snmp_port,
                            "discovery_port": camera.discovery.port})
        # Everything allocated so far lives as long as the fleet: keep the collector off it.
        gc.collect()
        gc.freeze()
        return started

    def _namespace_placement(self, netns: str) -> SocketPlacement:
        from simulators.fleet.netns import entered  # noqa: PLC0415

        @contextlib.asynccontextmanager
        async def placement() -> AsyncIterator[None]:
            # Sockets belong to the namespace their creating thread is in. One camera at a
            # time holds the lock, so no other camera's sockets open during the switch. The
            # holder may place again (a camera starting its services places its RTSP server,
            # which places its own sockets): that nests, instead of waiting on itself.
            task = asyncio.current_task()
            if task is not None and task is self._namespace_holder:
                with entered(netns):
                    yield
                return
            async with self._namespace_lock:
                self._namespace_holder = task
                try:
                    with entered(netns):
                        yield
                finally:
                    self._namespace_holder = None

        return placement

    async def cmd_faults(self, camera_id: str, faults: list[dict[str, Any]]) -> None:
        await self._camera(camera_id).set_faults([parse_fault(f) for f in faults])

    async def cmd_world(self, camera_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        camera = self._camera(camera_id)
        world = LivingWorld.model_validate({**camera.world.model_dump(), **changes})
        camera.set_world(world)
        return world.model_dump(mode="json")

    async def cmd_reboot(self, camera_id: str) -> None:
        await self._camera(camera_id).reboot()

    async def cmd_truth(self, camera_id: str) -> dict[str, Any]:
        return camera_truth(self._camera(camera_id))

    async def cmd_stats(self) -> dict[str, Any]:
        return {
            "cameras": len(self.cameras),
            "requests_served": sum(c.http.dispatcher.requests_served
                                   for c in self.cameras.values()),
            "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }

    async def cmd_stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.cameras.values()),
                             return_exceptions=True)
        self.cameras.clear()
        self._stopped.set()


@contextlib.asynccontextmanager
async def _already_in_place() -> AsyncIterator[None]:
    """The placement of a camera in the worker's own namespace: sockets open right here, and
    (a placement of its own) the camera keeps its one address."""
    yield


def camera_truth(camera: Any) -> dict[str, Any]:
    """What the camera really is right now, for tests to compare with what a client concludes."""
    state = camera.state
    position = state.ptz.position()
    pan_tilt, zoom = state.ptz.status()
    conditions = camera.world_now()
    return {
        "id": camera.base_spec.id,
        "status": camera.status.value,
        "spec": state.spec.model_dump(mode="json"),
        "base_spec": camera.base_spec.model_dump(mode="json"),
        "faults": [fault_to_json(f) for f in camera.faults],
        "ptz": {"position": position.model_dump(mode="json"),
                "move_status": {"pan_tilt": pan_tilt.value, "zoom": zoom.value}},
        "limits": state.ptz.limits.model_dump(mode="json"),
        "mount": state.mount.model_dump(mode="json"),
        "view": dict(zip(("azimuth", "elevation", "zoom"), state.view_direction(), strict=True)),
        "clock_offset_s": state.clock_offset_s,
        "boots": state.boots,
        "uptime_s": state.uptime_s(),
        "discoverable": state.discoverable,
        "scopes": state.all_scopes(),
        "presets": {t: p.model_dump(mode="json") for t, p in state.presets.items()},
        "home": state.home.model_dump(mode="json"),
        "requests_served": camera.http.dispatcher.requests_served,
        #: Passwords received in cleartext (HTTP Basic): a client must never send one unasked.
        "basic_credentials_received": camera.http.basic_credentials_received,
        "world": camera.world.model_dump(mode="json"),
        "conditions": conditions.truth() if conditions is not None else None,
    }


if __name__ == "__main__":
    main(sys.argv[1:])
