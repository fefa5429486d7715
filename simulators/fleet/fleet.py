"""A fleet of simulated cameras, each at its own address, spread over worker processes.

    >>> from simulators.fleet.fleet import Fleet
    >>> with Fleet.generated(count=2, seed=1) as fleet:    # two cameras on loopback addresses
    ...     fleet.add_fault("cam-0001", {"kind": "mount_shifted", "pan_deg": 4})
    ...     [target.id for target in fleet.manifest().targets]
    [{'note': '', 'kind': 'mount_shifted', 'pan_deg': 4.0, 'tilt_deg': 0.0}]
    ['cam-0000', 'cam-0001']

Backends decide where a camera's address lives:

* ``loopback`` (default, no privileges): addresses in 127.0.0.0/8, which Linux routes to ``lo``
  in full, so every camera has its own IP and the standard ports when we may bind them;
* ``netns`` (root): one network namespace per camera on a bridge; the manager side has an
  address on the bridge, and discovery and SNMP cross a real L2 segment;
* ``docker``: one container per camera (each a worker hosting that camera) on an internal
  bridge network; the manager side has the gateway address. Without a Docker daemon, or
  without the image (``python -m simulators.fleet.docker_image``), it stops with a message
  saying so.

The supervisor owns workers (``simulators.fleet.worker``), the manifest and the control API;
``stop()`` makes every camera say Bye and leaves no process, namespace or address behind.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import (
    FleetCamera,
    FleetInfo,
    OnvifCredentials,
    SnmpCredentials,
    SnmpV3Credentials,
    Target,
    TargetsFile,
)
from simulators.faults import ACTIONS, FAULT_KINDS, effective_spec, fault_to_json, parse_fault
from simulators.fleet.addresses import (
    LoopbackBlock,
    claim_loopback_block,
    default_ports,
    default_rtsp_port,
)
from simulators.fleet.control import ControlServer
from simulators.fleet.errors import FleetError, NoSuchCamera
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.switching import FleetSwitches
from simulators.fleet.worker import CameraLaunch, WorkerOptions, spawn_local_worker
from simulators.spec import CameraSpec, LivingWorld
from simulators.switch.model import SwitchSpec

__all__ = [
    "BACKENDS",
    "CAMERAS_PER_WORKER",
    "Fleet",
    "FleetError",
    "FleetState",
    "NoSuchCamera",
    "claim_loopback_block",
    "default_ports",
]

BACKENDS = ("loopback", "netns", "docker")
#: Cameras per worker process below which one worker is enough.
CAMERAS_PER_WORKER = 64


class FleetState(Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"


class Fleet:
    """Start, control and stop a fleet. Synchronous API; context manager."""

    def __init__(self, members: Sequence[FleetMember], *, backend: str = "loopback",
                 workers: int | None = None, address_base: str | None = None,
                 http_port: int | None = None, snmp_port: int | None = None,
                 discovery_port: int = wsd.PORT, reboot_seconds: float = 2.0,
                 share_transports: bool = True, call_timeout_s: float = 120.0,
                 switches: Sequence[SwitchSpec] = ()) -> None:
        if backend not in BACKENDS:
            raise FleetError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        ids = [m.spec.id for m in members]
        if len(set(ids)) != len(ids):
            raise FleetError("camera ids in a fleet must be unique")
        self.backend = backend
        self.state = FleetState.CREATED
        default_http, default_snmp = default_ports()
        self._http_port = default_http if http_port is None else http_port
        self._snmp_port = default_snmp if snmp_port is None else snmp_port
        self.discovery_port = discovery_port
        self._members = list(members)
        self._address_base = address_base
        self._reboot_seconds = reboot_seconds
        #: Off only to measure the alternative: private HTTP/discovery sockets per camera.
        self._share = share_transports
        self._timeout = call_timeout_s
        wanted = workers or max(1, min(os.cpu_count() or 1,
                                       -(-len(members) // CAMERAS_PER_WORKER)))
        self._worker_count = max(1, min(wanted, len(members) or 1))
        if backend == "docker":  # one container, so one worker, per camera
            self._worker_count = len(members)
        #: ``subprocess.Popen``, or a docker ``ContainerWorker`` with the same methods.
        self._processes: list[Any] = []
        self._conns: list[Connection] = []
        self._locks: list[threading.Lock] = []
        self._where: dict[str, int] = {}
        self._launched: dict[str, CameraSpec] = {}
        self._ports: dict[str, dict[str, Any]] = {}
        self._netns_of: dict[str, str] = {}
        self._container_of: dict[str, str] = {}
        #: Faults in force per camera, as the supervisor last set them (the manifest lists them).
        self._faults: dict[str, list[dict[str, Any]]] = {
            m.spec.id: [fault_to_json(f) for f in m.faults if f.kind not in ACTIONS]
            for m in members}
        if any(m.attachment is not None for m in members) and not switches:
            raise FleetError("cameras are attached to switches but the fleet has none")
        #: The access switches and where each camera is plugged in (None: no switches).
        self.switches = FleetSwitches(switches, {m.spec.id: m.attachment for m in members}) \
            if switches else None
        self._switch_addresses: list[str] = []
        self._network: Any = None
        self._block: LoopbackBlock | None = None  # the loopback /16 claimed for this fleet
        self.manager_address = "127.0.0.1"
        self.control: ControlServer | None = None
        self.started_at = ""
        self.start_seconds = 0.0

    @classmethod
    def generated(cls, count: int, seed: int = 0, **options: Any) -> Fleet:
        return cls([FleetMember(spec) for spec in generate_fleet(count, seed)], **options)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, control_port: int | None = 0) -> None:
        """Start every camera; ``control_port`` None runs no HTTP control endpoint."""
        if self.state is not FleetState.CREATED:
            raise FleetError(f"the fleet cannot start: it is {self.state.value}")
        began = time.monotonic()
        try:
            launches = self._plan()
            self._spawn_workers()
            shards: list[list[CameraLaunch]] = [[] for _ in range(self._worker_count)]
            for index, launch in enumerate(launches):
                worker = index % self._worker_count
                shards[worker].append(launch)
                self._where[launch.spec.id] = worker
            for worker, shard in enumerate(shards):
                self._conns[worker].send(("start", shard))
            for worker in range(self._worker_count):
                for info in self._receive(worker, "start"):
                    self._ports[info["id"]] = info
            self._start_switches()
            if control_port is not None:
                self.control = ControlServer(self, port=control_port)
                self.control.start()
        except BaseException:
            self._teardown()
            self.state = FleetState.STOPPED
            raise
        self.state = FleetState.RUNNING
        self.start_seconds = time.monotonic() - began
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")

    def _plan(self) -> list[CameraLaunch]:
        """Give every camera its address and ports (and, on netns, its namespace)."""
        count = len(self._members)
        namespaces: list[str | None] = [None] * count
        if self.backend == "loopback":
            extra = len(self.switches.specs) if self.switches is not None else 0
            self._block = claim_loopback_block(count + extra, self._address_base,
                                               self._http_port)
            addresses = self._block.addresses
            addresses, self._switch_addresses = addresses[:count], addresses[count:]
        elif self.backend == "netns":
            from simulators.fleet import netns  # noqa: PLC0415

            reason = netns.netns_unavailable_reason()
            if reason:
                raise FleetError(f"the netns backend is unavailable: {reason}")
            network = netns.NetnsNetwork(count=count,
                                         macs=[m.spec.identity.mac for m in self._members])
            network.create()
            self._network = network
            self.manager_address = network.manager_address
            addresses = [host.address for host in network.hosts]
            namespaces = [host.name for host in network.hosts]
        else:
            from simulators.fleet.docker_backend import (  # noqa: PLC0415
                DockerBackendError,
                DockerCameraNetwork,
            )

            docker = DockerCameraNetwork([(m.spec.id, m.spec.identity.mac)
                                          for m in self._members])
            self._network = docker  # destroyed by _teardown, however far create() got
            try:
                docker.create()
            except DockerBackendError as exc:
                raise FleetError(str(exc)) from exc
            self.manager_address = docker.manager_address
            addresses = docker.addresses
        launches = []
        for member, address, namespace in zip(self._members, addresses, namespaces,
                                              strict=True):
            spec = member.spec.with_network(address=address, http_port=self._http_port,
                                            discovery_port=self.discovery_port,
                                            rtsp_port=self._rtsp_port(member.spec))
            spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(
                update={"port": self._snmp_port})})
            self._launched[spec.id] = spec
            if namespace is not None:  # a camera filed as re-addressed starts there
                self._netns_of[spec.id] = namespace
                self._move_namespace(spec.id, self._faults[spec.id])
            launches.append(CameraLaunch(spec, [fault_to_json(f) for f in member.faults],
                                         namespace))
        return launches

    def _start_switches(self) -> None:
        """Serve the switches (loopback: an address each; else on the manager's side) and plug
        every camera in where its faults say."""
        if self.switches is not None:
            self.switches.start(self._switch_addresses, self._snmp_port, self.manager_address)
            self.switches.on_power = self._power_changed
            for camera_id in self._launched:
                self._place(camera_id)

    def _move_namespace(self, camera_id: str, faults: list[dict[str, Any]],
                        step: Callable[[], object] = lambda: None) -> None:
        """Take ``step`` (the worker applying faults); on netns, with the camera's interface
        moved to the address the faults put it on."""
        namespace = self._netns_of.get(camera_id)
        if namespace is None:
            step()
            return
        address = effective_spec(self._launched[camera_id],
                                 [parse_fault(f) for f in faults]).network.address
        try:
            self._network.move_address(namespace, address, step)
        except NetnsError as exc:
            raise FleetError(f"{camera_id} cannot be readdressed to {address}: {exc}") from exc

    def spare_address(self, index: int, *, other_subnet: bool = False) -> str:
        """A free address to re-address a camera to (a ``readdressed`` fault): the
        ``index``-th of the fleet's subnet, or with ``other_subnet`` of another /24."""
        addresses = self._block or self._network  # a LoopbackBlock or a NetnsNetwork
        if self.backend == "docker" or addresses is None:
            raise FleetError(f"a {self.backend} fleet here cannot re-address its cameras")
        spare: str = addresses.spare_address(index, other_subnet=other_subnet)
        return spare

    def _set_link(self, camera_id: str) -> None:
        """netns: a removed or unpowered camera's bridge port goes down (ARP dies with it)."""
        namespace = self._netns_of.get(camera_id)
        if namespace is not None and self._network is not None:
            gone = any(f["kind"] == "removed" for f in self._faults[camera_id]) or (
                self.switches is not None and camera_id in self.switches.unpowered)
            self._network.set_link(namespace, up=not gone)

    def _place(self, camera_id: str) -> None:
        self._set_link(camera_id)
        if self.switches is None:
            return
        faults = self._faults[camera_id]
        spec = effective_spec(self._launched[camera_id], [parse_fault(f) for f in faults])
        self.switches.place(camera_id, spec.identity.mac, spec.hostname or camera_id, faults)

    def _worker_faults(self, camera_id: str, faults: list[dict[str, Any]]) -> list[Any]:
        return self.switches.worker_faults(camera_id, faults) if self.switches else faults

    def _power_changed(self, camera_id: str, powered: bool) -> None:
        """A manager switched the camera's PoE port (on the switches' thread: hand it over)."""
        def apply() -> None:
            with contextlib.suppress(FleetError):  # the fleet is stopping
                self._call(camera_id, "faults", camera_id,
                           self._worker_faults(camera_id, self._faults[camera_id]))
                self._set_link(camera_id)
        threading.Thread(target=apply, name=f"poe-{camera_id}", daemon=True).start()

    def _rtsp_port(self, spec: CameraSpec) -> int:
        if spec.network.rtsp_port is not None:
            return spec.network.rtsp_port
        return 0 if self._http_port == 0 else default_rtsp_port()

    def _spawn_workers(self) -> None:
        """Start workers as ``python -m simulators.fleet.worker`` with a socket pair each.

        Not ``multiprocessing`` spawn: that re-imports the caller's ``__main__``, which breaks
        scripts without a main guard; a plain child process imports only what it needs.
        """
        options = WorkerOptions(reboot_seconds=self._reboot_seconds,
                                share_transports=self._share and self.backend == "loopback",
                                share_snmp=self._share,
                                discovery_port=self.discovery_port,
                                own_namespace=self.backend == "docker")
        if self.backend == "docker":
            try:
                spawned: list[tuple[Any, Connection]] = self._network.start_workers()
            except Exception as exc:  # DockerBackendError, or the daemon failing midway
                raise FleetError(f"the docker fleet did not start: {exc}") from exc
            self._container_of = {camera.camera_id: worker.container_id for camera, (worker, _)
                                  in zip(self._network.cameras, spawned, strict=True)}
        else:
            spawned = [spawn_local_worker() for _ in range(self._worker_count)]
        for process, conn in spawned:
            conn.send(options)
            self._processes.append(process)
            self._conns.append(conn)
            self._locks.append(threading.Lock())

    def _receive(self, worker: int, what: str) -> Any:
        conn = self._conns[worker]
        if not conn.poll(self._timeout):
            raise FleetError(f"worker {worker} did not answer {what!r} within {self._timeout} s")
        try:
            status, result = conn.recv()
        except EOFError:
            code = self._processes[worker].poll()
            raise FleetError(f"worker {worker} died during {what!r} (exit code {code})") from None
        if status != "ok":
            raise FleetError(f"worker {worker}: {what} failed: {result}")
        return result

    def _call(self, camera_id: str, *command: Any) -> Any:
        if self.state is not FleetState.RUNNING:
            raise FleetError(f"the fleet is {self.state.value}")
        try:
            worker = self._where[camera_id]
        except KeyError:
            raise NoSuchCamera(f"no camera {camera_id!r} in this fleet") from None
        with self._locks[worker]:
            self._conns[worker].send(command)
            return self._receive(worker, command[0])

    def stop(self) -> None:
        """Every camera says Bye; workers, namespaces and the control endpoint go. Idempotent."""
        if self.state is FleetState.STOPPED:
            return
        self.state = FleetState.STOPPED
        self._teardown()

    def _teardown(self) -> None:
        if self.switches is not None:
            self.switches.stop()
        if self.control is not None:
            self.control.stop()
            self.control = None
        for worker, conn in enumerate(self._conns):
            try:
                with self._locks[worker]:
                    conn.send(("stop",))
                    if conn.poll(30):
                        conn.recv()
            except (OSError, EOFError):
                pass
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for conn in self._conns:
            conn.close()
        self._processes.clear()
        self._conns.clear()
        if self._network is not None:
            self._network.destroy()
            self._network = None
        if self._block is not None:
            self._block.release()
            self._block = None

    def __enter__(self) -> Fleet:
        if self.state is FleetState.CREATED:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------------
    @property
    def camera_ids(self) -> list[str]:
        return list(self._launched)

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    def set_faults(self, camera_id: str, faults: Sequence[Any]) -> list[dict[str, Any]]:
        """Put exactly these faults in force on one camera (validated here, by kind)."""
        try:
            parsed = [fault_to_json(parse_fault(f)) for f in faults]
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise FleetError(f"invalid fault for {camera_id}: {exc}") from exc
        self._move_namespace(camera_id, parsed, lambda: self._call(
            camera_id, "faults", camera_id, self._worker_faults(camera_id, parsed)))
        self._faults[camera_id] = [f for f in parsed if f["kind"] not in ACTIONS]
        self._place(camera_id)
        return self._faults[camera_id]

    def faults(self, camera_id: str) -> list[dict[str, Any]]:
        if camera_id not in self._faults:
            raise NoSuchCamera(f"no camera {camera_id!r} in this fleet")
        return list(self._faults[camera_id])

    def add_fault(self, camera_id: str, fault: Any) -> list[dict[str, Any]]:
        return self.set_faults(camera_id, [*self.faults(camera_id), fault])

    def clear_faults(self, camera_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        if kind is not None and kind not in FAULT_KINDS:
            raise FleetError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        keep = [f for f in self.faults(camera_id) if kind is not None and f["kind"] != kind]
        return self.set_faults(camera_id, keep)

    def reboot(self, camera_id: str) -> None:
        self._call(camera_id, "reboot", camera_id)

    def set_world(self, camera_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a camera's living world (``LivingWorld`` fields: clock, weather, traffic);
        its clock starts again at ``start_hour``. Returns the world now in force."""
        try:
            LivingWorld.model_validate(changes)
        except ValueError as exc:
            raise FleetError(f"invalid world for {camera_id}: {exc}") from exc
        result: dict[str, Any] = self._call(camera_id, "world", camera_id, dict(changes))
        return result

    def truth(self, camera_id: str) -> dict[str, Any]:
        """What the camera really is: effective spec, faults, PTZ, mount, boots ..."""
        result: dict[str, Any] = self._call(camera_id, "truth", camera_id)
        return result

    def stats(self) -> dict[str, Any]:
        totals: dict[str, Any] = {"cameras": 0, "requests_served": 0, "workers": []}
        for worker in range(len(self._conns)):
            with self._locks[worker]:
                self._conns[worker].send(("stats",))
                stats = self._receive(worker, "stats")
            totals["cameras"] += stats["cameras"]
            totals["requests_served"] += stats["requests_served"]
            totals["workers"].append(stats)
        return totals

    # -- manifest ------------------------------------------------------------------------------
    def manifest(self) -> TargetsFile:
        """The fleet as a targets file: what the manager and the acceptance suite consume."""
        targets = []
        members: dict[str, FleetCamera] = {}
        for camera_id, spec in self._launched.items():
            ports = self._ports.get(camera_id, {})
            http_port = ports.get("http_port", spec.network.http_port)
            v3 = spec.snmp.v3_users[0] if spec.snmp.v3_users else None
            admin = next((u for u in spec.users if u.level == "Administrator"), spec.users[0])
            targets.append(Target(
                id=camera_id, address=spec.network.address, http_port=http_port,
                device_service=f"http://{spec.network.address}:{http_port}/onvif/device_service",
                snapshot_url=f"http://{spec.network.address}:{http_port}/onvif/snapshot"
                             "?profile=Profile_1",
                onvif=OnvifCredentials(username=admin.username, password=admin.password),
                snmp=SnmpCredentials(
                    port=ports.get("snmp_port") or spec.snmp.port,
                    community=spec.snmp.community,
                    v3=SnmpV3Credentials(user=v3.name, auth_protocol=v3.auth_protocol,
                                         auth_key=v3.auth_key, priv_protocol=v3.priv_protocol,
                                         priv_key=v3.priv_key) if v3 else None),
                serial=spec.identity.serial, mac=spec.identity.mac))
            member = FleetCamera(faults=tuple(self._faults.get(camera_id, [])),
                                 netns=self._netns_of.get(camera_id),
                                 container=self._container_of.get(camera_id),
                                 attachment=self.switches.attachment(camera_id)
                                 if self.switches is not None else None)
            if member != FleetCamera():
                members[camera_id] = member
        info = FleetInfo(backend=self.backend,  # type: ignore[arg-type]
                         control_url=self.control.url if self.control else "",
                         pid=os.getpid(), started_at=self.started_at,
                         manager_address=self.manager_address,
                         discovery_port=self.discovery_port, members=members)
        return TargetsFile(targets=tuple(targets), fleet=info,
                           switches=self.switches.targets() if self.switches else ())
