"""Docker fleet backend: one container per simulated camera, on an internal network here.

    from simulators.fleet.fleet import Fleet

    with Fleet.generated(count=4, backend="docker") as fleet:
        fleet.manifest().save("fleet.json")   # cameras at 10.214.x.y, manager at 10.214.x.1

Without a daemon the fleet stops with a message saying so: "no Docker daemon answers at
unix:///var/run/docker.sock (...): the docker backend needs one (start it: dockerd &); use
--backend loopback or netns".

The image (``camfleet-sim:latest``, or ``$CAMFLEET_DOCKER_IMAGE``) is built here, never pulled:
``python -m simulators.fleet.docker_image`` (see there). A missing image, or one built from
other sources than this checkout's, is refused with that command.

Each container is a fleet worker (``simulators.fleet.worker``) hosting one camera: the
container has the camera's address and MAC on the network, so the camera binds, announces
and answers exactly there. The worker dials back to the supervisor at the network's gateway
and proves it holds the key the supervisor gave it (``simulators.fleet.link``); from then on
the fleet drives it as it drives a local worker (faults, reboot, truth, stop with Bye).

Where traffic goes, and why:

* only a *local* daemon is contacted: a Unix socket, or TCP on 127.0.0.0/8 / localhost. A
  ``DOCKER_HOST`` (or docker context, or testcontainers' ``tc.host``) elsewhere is refused,
  not contacted;
* images are never pulled: containers are created, not run, so docker-py cannot pull either
  (nor testcontainers' Ryuk reaper: it is not used). Containers and the network carry the
  label ``camfleet.runner``, so leftovers are easy to find
  (``docker rm -f $(docker ps -aq -f label=camfleet.runner)``);
* the containers sit on an *internal* bridge network (no masquerading), on a ``/24`` of
  ``10.214.0.0/16`` that overlaps no route of this machine; before any container starts, the
  subnet must be reached directly through the network's own bridge (``ip route get``), or
  nothing starts; and this machine forwards nothing that arrives on that bridge, so nothing
  a container sends gets beyond the segment;
* containers drop every capability and run unprivileged; only
  ``net.ipv4.ip_unprivileged_port_start=0`` (a per-namespace sysctl) lets them bind 80 and 161.

The manager side reaches cameras at their container addresses; for WS-Discovery multicast it
sends with ``IP_MULTICAST_IF`` set to the gateway (the fleet's ``manager_address``), exactly
as for the netns backend.

docker-py is imported inside functions only: ``import simulators.fleet.docker_backend``
imports neither docker nor testcontainers.
"""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import itertools
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from simulators.fleet import link
from simulators.fleet.docker_daemon import DockerBackendError, connect, local_client
from simulators.fleet.docker_image import INPUTS_LABEL, image_name, inputs_hash, source_root
from simulators.fleet.netns import PRIVATE_RANGES, networks_in_use

__all__ = [
    "DockerBackendError",
    "DockerCameraNetwork",
    "docker_unavailable_reason",
    "image_problem",
]

BUILD_COMMAND = "python -m simulators.fleet.docker_image"
#: Subnets for fleet networks: next to the netns pool (10.213/16), never overlapping it.
DEFAULT_POOL = ipaddress.IPv4Network("10.214.0.0/16")
LABEL = "camfleet.runner"
_counter = itertools.count()


def image_problem(client: Any, image: str) -> str | None:
    """Why ``image`` cannot run this checkout's cameras (missing, or stale), or None."""
    docker_errors = importlib.import_module("docker.errors")
    try:
        labels = client.images.get(image).labels or {}
    except docker_errors.ImageNotFound:
        return (f"image {image} is not on this machine (it is never pulled); build it: "
                f"{BUILD_COMMAND}")
    root = source_root()
    built_from = labels.get(INPUTS_LABEL)
    # An image without the label was built some other way: its owner vouches for it.
    if root is not None and built_from is not None and built_from != inputs_hash(root):
        return (f"image {image} was built from other sources than {root} (inputs "
                f"{built_from[:12]}); rebuild it: {BUILD_COMMAND}")
    return None


def docker_unavailable_reason(timeout: float = 3.0, *, image: str | None = None) -> str | None:
    """None if a local Docker daemon answers a ping (and, given ``image``, has it fresh);
    else a message saying what to do instead."""
    client, reason = connect(timeout)
    if client is None:
        return reason
    try:
        return image_problem(client, image) if image is not None else None
    finally:
        client.close()


# -- the network -----------------------------------------------------------------------------

def _route_is_local_bridge(address: str, bridge: str) -> str | None:
    """Why ``address`` is not reached directly through ``bridge``, or None if it is."""
    try:
        out = subprocess.run(["ip", "-j", "route", "get", address], capture_output=True,
                             text=True, check=True).stdout
        route = (json.loads(out) or [{}])[0]
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        return f"cannot check the route to {address}: {exc}"
    if ("gateway" in route or route.get("type", "unicast") != "unicast"
            or route.get("dev") != bridge):
        return f"{address} is routed {route}, not directly through the network's bridge {bridge}"
    return None


def _forward_nothing_from(bridge: str) -> None:
    """Route nothing that arrives on ``bridge`` any further than this machine.

    Docker gives containers on an internal network a default route via the gateway (this
    machine) and keeps them in only with iptables rules, which ``dockerd --iptables=false``
    does not write. IPv4 forwarding off on the bridge alone (root only; the bridge is ours)
    holds either way; without root, Docker's rules are what remains.
    """
    with contextlib.suppress(PermissionError):
        Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").write_text("0", encoding="ascii")


@dataclass(frozen=True)
class _Camera:
    camera_id: str
    mac: str
    address: str


class ContainerWorker:
    """A worker's container, with the part of ``subprocess.Popen`` the fleet uses."""

    def __init__(self, container: Any) -> None:
        self._container = container
        self.container_id: str = container.id
        #: The worker's process id on this machine (the container's init).
        self.pid: int = int(container.attrs["State"]["Pid"])

    def poll(self) -> int | None:
        """The exit code, or None while the worker runs."""
        docker_errors = importlib.import_module("docker.errors")
        try:
            self._container.reload()
        except docker_errors.NotFound:
            return -1
        state = self._container.attrs["State"]
        return None if state["Running"] else int(state["ExitCode"])

    def wait(self, timeout: float) -> int:
        requests_exceptions = importlib.import_module("requests.exceptions")
        docker_errors = importlib.import_module("docker.errors")
        try:
            return int(self._container.wait(timeout=timeout)["StatusCode"])
        except docker_errors.NotFound:
            return -1
        except requests_exceptions.RequestException as exc:  # the read timed out
            raise subprocess.TimeoutExpired(f"container {self._container.short_id}",
                                            timeout) from exc

    def kill(self) -> None:
        docker_errors = importlib.import_module("docker.errors")
        with contextlib.suppress(docker_errors.APIError):  # already gone or stopped
            self._container.kill()


class DockerCameraNetwork:
    """An internal network and one worker container per camera, for :class:`Fleet`.

    ``cameras`` are (id, MAC) pairs; the i-th gets ``addresses[i]``. ``subnet`` (RFC 1918,
    overlapping no route here) defaults to a free ``/24`` of :data:`DEFAULT_POOL`.
    """

    def __init__(self, cameras: Sequence[tuple[str, str]], *, image: str | None = None,
                 subnet: str | None = None, start_timeout: float = 60.0) -> None:
        self.image = image or image_name()
        self.start_timeout = start_timeout
        #: Workers starting at once: half the CPUs (one on a 2-core machine).
        self.warming = max(1, (os.cpu_count() or 2) // 2)
        self._requested = ipaddress.IPv4Network(subnet) if subnet else None
        self._wanted = list(cameras)
        self.network_name = f"camfleet-{os.getpid()}-{next(_counter)}"
        self.subnet: ipaddress.IPv4Network | None = None
        self.cameras: list[_Camera] = []
        self._client: Any = None
        self._network: Any = None

    @property
    def manager_address(self) -> str:
        """This machine's address on the network (IP_MULTICAST_IF for discovery)."""
        if self.subnet is None:
            raise DockerBackendError("the network is not created")
        return str(self.subnet.network_address + 1)

    @property
    def addresses(self) -> list[str]:
        return [camera.address for camera in self.cameras]

    def create(self) -> None:
        """Check daemon and image, create the network; no container starts yet."""
        self._client = local_client()
        try:
            if (problem := image_problem(self._client, self.image)) is not None:
                raise DockerBackendError(problem)
            self._create_network()
        except BaseException:
            self.destroy()
            raise

    def _create_network(self) -> None:
        docker_types = importlib.import_module("docker.types")
        docker_errors = importlib.import_module("docker.errors")
        used = networks_in_use()
        if self._requested is not None:
            candidates = [self._requested]
        else:
            candidates = [block for block in DEFAULT_POOL.subnets(new_prefix=24)
                          if not any(block.overlaps(net) for net in used)]
        last_error: Exception | None = None
        for subnet in candidates[:16]:
            if not any(subnet.subnet_of(private) for private in PRIVATE_RANGES) or any(
                    subnet.overlaps(net) for net in used):
                raise DockerBackendError(f"subnet {subnet} is not RFC 1918 space or overlaps a "
                                         "route of this machine")
            if subnet.num_addresses - 3 < len(self._wanted):
                raise DockerBackendError(f"subnet {subnet} has no room for "
                                         f"{len(self._wanted)} cameras")
            gateway = str(subnet.network_address + 1)
            try:
                self._network = self._client.networks.create(
                    self.network_name, driver="bridge", internal=True,  # no route out, no NAT
                    ipam=docker_types.IPAMConfig(pool_configs=[
                        docker_types.IPAMPool(subnet=str(subnet), gateway=gateway)]),
                    options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                    labels={LABEL: self.network_name}, check_duplicate=True)
            except docker_errors.APIError as exc:  # the pool overlaps another network
                last_error = exc
                continue
            self.subnet = subnet
            hosts = itertools.islice(subnet.hosts(), 1, None)  # .1 is the gateway
            self.cameras = [_Camera(camera_id, mac, str(next(hosts)))
                            for camera_id, mac in self._wanted]
            # Docker names a user network's bridge br-<first 12 hex digits of its id>.
            bridge = f"br-{self._network.id[:12]}"
            if (problem := _route_is_local_bridge(str(subnet.network_address + 2),
                                                  bridge)) is not None:
                raise DockerBackendError(f"refusing to start cameras: {problem}")
            _forward_nothing_from(bridge)
            return
        raise DockerBackendError(f"could not create network {self.network_name}: {last_error}")

    def start_workers(self) -> list[tuple[ContainerWorker, Connection]]:
        """One container per camera, each a worker that dialled back; in camera order.

        A worker's start costs ~1.5 s of CPU (imports, the WSDLs); only :attr:`warming` start
        at once, so a fleet starting takes its share of the machine, not all of it.
        """
        if self._network is None:
            raise DockerBackendError("the network is not created")
        key = link.new_key()
        listener = link.listen(self.manager_address)
        index_of = {camera.address: i for i, camera in enumerate(self.cameras)}
        containers: dict[int, Any] = {}
        started_at: dict[int, float] = {}
        conns: dict[int, Connection] = {}
        try:
            port = listener.getsockname()[1]
            while len(conns) < len(self.cameras):
                while len(containers) < len(self.cameras) and (
                        len(containers) - len(conns) < self.warming):
                    index = len(containers)
                    containers[index] = self._start_container(self.cameras[index], port, key)
                    started_at[index] = time.monotonic()
                due = min(at for i, at in started_at.items() if i not in conns)
                due += self.start_timeout
                try:
                    peer, conn = link.accept(listener, key, min(due, time.monotonic() + 1))
                except link.LinkError:
                    self._raise_if_exited(containers)
                    if time.monotonic() >= due:
                        late = [self.cameras[i].camera_id for i in containers if i not in conns]
                        raise DockerBackendError(
                            f"the workers of {', '.join(late)} did not dial back within "
                            f"{self.start_timeout} s") from None
                    continue
                if (index := index_of.get(peer, -1)) not in containers or index in conns:
                    conn.close()  # holds the key, yet not one of ours: never trust it
                    continue
                conns[index] = conn
        finally:
            listener.close()
        return [(ContainerWorker(containers[i]), conns[i]) for i in range(len(self.cameras))]

    def _start_container(self, camera: _Camera, port: int, key: str) -> Any:
        docker_types = importlib.import_module("docker.types")
        api_version = self._client.api.api_version
        # Docker before API 1.44 ignores an endpoint's MAC; the container's own is the old way.
        per_endpoint = not importlib.import_module("docker.utils").version_lt(api_version,
                                                                               "1.44")
        endpoint = docker_types.EndpointConfig(
            api_version, ipv4_address=camera.address,
            mac_address=camera.mac if per_endpoint else None)
        container = self._client.containers.create(
            self.image, ["python", "-m", "simulators.fleet.worker", "--connect",
                         f"{self.manager_address}:{port}"],
            environment={link.KEY_ENV: key},
            network=self.network_name, networking_config={self.network_name: endpoint},
            mac_address=None if per_endpoint else camera.mac,
            labels={LABEL: self.network_name, "camfleet.camera": camera.camera_id},
            # Spec ports below 1024 (80, 161) without root or capabilities in the container.
            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
            cap_drop=["ALL"], security_opt=["no-new-privileges"])
        container.start()
        container.reload()
        return container

    def _raise_if_exited(self, containers: dict[int, Any]) -> None:
        for index, container in containers.items():
            camera = self.cameras[index]
            container.reload()
            if container.status in ("exited", "dead"):
                logs = container.logs(stdout=False, stderr=True).decode(errors="replace")
                raise DockerBackendError(f"the worker of camera {camera.camera_id} exited "
                                         f"({container.attrs['State']['ExitCode']}): "
                                         f"{logs[-2000:]}")

    def containers(self) -> list[str]:
        """Ids of this network's containers that exist now."""
        if self._client is None:
            return []
        return [c.id for c in self._client.containers.list(
            all=True, filters={"label": f"{LABEL}={self.network_name}"})]

    def destroy(self) -> None:
        """Remove every container and the network. Idempotent; gone pieces are fine."""
        client, self._client = self._client, None
        if client is None:
            return
        docker_errors = importlib.import_module("docker.errors")
        try:
            for container in client.containers.list(
                    all=True, filters={"label": f"{LABEL}={self.network_name}"}):
                with contextlib.suppress(docker_errors.NotFound):
                    container.remove(force=True)
            network, self._network = self._network, None
            if network is not None:
                with contextlib.suppress(docker_errors.NotFound):
                    network.remove()
        finally:
            client.close()
