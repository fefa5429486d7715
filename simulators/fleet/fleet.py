"""A fleet of simulated cameras, each at its own address, spread over worker processes.

    >>> from simulators.fleet import Fleet, generate_fleet     # doctest: +SKIP
    >>> with Fleet.generated(count=20, seed=1) as fleet:
    ...     fleet.add_fault("cam-0003", {"kind": "mount_shifted", "pan_deg": 4})
    ...     fleet.manifest().save("fleet.json")

Backends decide where a camera's address lives:

* ``loopback`` (default, no privileges): addresses in 127.0.0.0/8, which Linux routes to ``lo``
  in full, so every camera has its own IP and the standard ports when we may bind them;
* ``netns`` (root): one network namespace per camera on a bridge; the manager side has an
  address on the bridge, and discovery and SNMP cross a real L2 segment;
* ``docker``: one container per camera through testcontainers; without a Docker daemon it
  stops with a message saying so.

The supervisor owns workers (``simulators.fleet.worker``), the manifest and the control API;
``stop()`` makes every camera say Bye and leaves no process, namespace or address behind.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from devmgr.targets import (
    FleetInfo,
    OnvifCredentials,
    SnmpCredentials,
    SnmpV3Credentials,
    Target,
    TargetsFile,
)
from simulators.faults import ACTIONS, FAULT_KINDS, fault_to_json, parse_fault
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.worker import CameraLaunch, WorkerOptions
from simulators.spec import CameraSpec

BACKENDS = ("loopback", "netns", "docker")
#: Cameras per worker process below which one worker is enough.
CAMERAS_PER_WORKER = 64


class FleetError(RuntimeError):
    """The fleet could not do what was asked; the message says what and, where it can, why."""


class FleetState(Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"


def default_ports() -> tuple[int, int]:
    """HTTP and SNMP ports: the standard ones where we may bind them."""
    return (80, 161) if os.geteuid() == 0 else (8080, 1161)


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


class Fleet:
    """Start, control and stop a fleet. Synchronous API; context manager."""

    def __init__(self, members: Sequence[FleetMember], *, backend: str = "loopback",
                 workers: int | None = None, address_base: str | None = None,
                 http_port: int | None = None, snmp_port: int | None = None,
                 discovery_port: int = 3702, reboot_seconds: float = 2.0,
                 share_transports: bool = True, call_timeout_s: float = 120.0) -> None:
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
        self._processes: list[subprocess.Popen[bytes]] = []
        self._conns: list[Connection] = []
        self._locks: list[threading.Lock] = []
        self._where: dict[str, int] = {}
        self._launched: dict[str, CameraSpec] = {}
        self._ports: dict[str, dict[str, Any]] = {}
        self._netns_of: dict[str, str] = {}
        #: Faults in force per camera, as the supervisor last set them (the manifest lists them).
        self._faults: dict[str, list[dict[str, Any]]] = {
            m.spec.id: [fault_to_json(f) for f in m.faults if f.kind not in ACTIONS]
            for m in members}
        self._network: Any = None
        self.manager_address = "127.0.0.1"
        self.control: Any = None
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
            if control_port is not None:
                from simulators.fleet.control import ControlServer  # noqa: PLC0415

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
            addresses = loopback_addresses(count, self._address_base, self._http_port)
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
            from simulators.fleet.docker_backend import docker_unavailable_reason  # noqa: PLC0415

            reason = docker_unavailable_reason()
            raise FleetError(reason or "the docker backend cannot run fleets from this "
                             "supervisor yet; use --backend loopback or netns")
        launches = []
        for member, address, namespace in zip(self._members, addresses, namespaces,
                                              strict=True):
            spec = member.spec.with_network(address=address, http_port=self._http_port,
                                            discovery_port=self.discovery_port)
            spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(
                update={"port": self._snmp_port})})
            self._launched[spec.id] = spec
            if namespace is not None:
                self._netns_of[spec.id] = namespace
            launches.append(CameraLaunch(spec, [fault_to_json(f) for f in member.faults],
                                         namespace))
        return launches

    def _spawn_workers(self) -> None:
        """Start workers as ``python -m simulators.fleet.worker`` with a socket pair each.

        Not ``multiprocessing`` spawn: that re-imports the caller's ``__main__``, which breaks
        scripts without a main guard; a plain child process imports only what it needs.
        """
        options = WorkerOptions(reboot_seconds=self._reboot_seconds,
                                share_transports=self._share and self.backend == "loopback",
                                share_snmp=self._share,
                                discovery_port=self.discovery_port)
        for _ in range(self._worker_count):
            parent_sock, child_sock = socket.socketpair()
            process = subprocess.Popen(
                [sys.executable, "-m", "simulators.fleet.worker", str(child_sock.fileno())],
                pass_fds=[child_sock.fileno()], stdin=subprocess.DEVNULL)
            child_sock.close()
            conn = Connection(parent_sock.detach())
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
            raise FleetError(f"no camera {camera_id!r} in this fleet") from None
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
        self._call(camera_id, "faults", camera_id, parsed)
        self._faults[camera_id] = [f for f in parsed if f["kind"] not in ACTIONS]
        return self._faults[camera_id]

    def faults(self, camera_id: str) -> list[dict[str, Any]]:
        if camera_id not in self._faults:
            raise FleetError(f"no camera {camera_id!r} in this fleet")
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
                serial=spec.identity.serial, mac=spec.identity.mac,
                faults=tuple(self._faults.get(camera_id, [])),
                netns=self._netns_of.get(camera_id)))
        info = FleetInfo(backend=self.backend,  # type: ignore[arg-type]
                         control_url=self.control.url if self.control else "",
                         pid=os.getpid(), started_at=self.started_at,
                         manager_address=self.manager_address,
                         discovery_port=self.discovery_port)
        return TargetsFile(targets=tuple(targets), fleet=info)
