"""Docker fleet backend: one container per simulated camera, through testcontainers.

Sketch, untested end to end where no Docker daemon runs (the tests skip with the reason)::

    from pathlib import Path
    from simulators.fleet.docker_backend import DockerCameraRunner, docker_unavailable_reason

    if (reason := docker_unavailable_reason()) is not None:
        raise SystemExit(reason)      # "no Docker daemon answers at unix:///var/run/docker.sock
                                      #  (...): the docker backend needs one; use --backend
                                      #  loopback or netns"
    with DockerCameraRunner("camfleet-sim:latest") as runner:
        cam = runner.start(Path("simulators/specs/dome.yaml").read_text())
        print(cam.address, cam.http_port, cam.snmp_port, cam.device_service)
        # 10.214.0.2 8080 1161 http://10.214.0.2:8080/onvif/device_service
    # containers and their network removed

Build the image first (it is never pulled; see below)::

    docker build -f simulators/fleet/Dockerfile -t camfleet-sim .

Each camera runs ``python -m simulators camera --spec /etc/camfleet/camera.yaml --address
<ip>`` in its own container; the spec text is copied in as that file and ``--address`` pins the
camera to the static address the runner gave the container, so the camera binds and announces
the address it is reached at. The camera prints one JSON line with its endpoints; the runner
waits for it and returns it as a :class:`DockerCamera`.

Where traffic goes, and why:

* only a *local* daemon is contacted: a Unix socket, or TCP on 127.0.0.0/8 / localhost. A
  ``DOCKER_HOST`` (or docker context, or ``tc.host``) elsewhere is refused, not contacted;
* images are never pulled: a missing image is an error that says how to build it (testcontainers
  would otherwise pull it, and its Ryuk reaper image, from a registry). Ryuk is therefore off
  unless ``reaper=True``; containers and the network carry the label ``camfleet.runner`` so
  leftovers are easy to find (``docker rm -f $(docker ps -aq -f label=camfleet.runner)``);
* the containers sit on an *internal* bridge network the runner creates (no gateway to the
  outside, no masquerading), on a subnet of ``10.214.0.0/16`` that overlaps no route of this
  machine; before any container starts, the runner checks that the subnet is reached directly
  through a local bridge (``ip route get``), or refuses.

The manager side reaches cameras at their container addresses; for WS-Discovery multicast it
must send with ``IP_MULTICAST_IF`` set to the network's gateway address
(:attr:`DockerCameraRunner.gateway`), exactly as for the netns backend.

testcontainers is imported inside functions only: it imports docker, requests and more, and
reads configuration files, none of which ``import simulators.fleet.docker_backend`` should do.
"""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import itertools
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.spec import CameraSpec

__all__ = [
    "DEFAULT_IMAGE",
    "DOCKERFILE",
    "DockerBackendError",
    "DockerCamera",
    "DockerCameraRunner",
    "docker_unavailable_reason",
]

#: Tag the runner uses unless told otherwise (built from :data:`DOCKERFILE`).
DEFAULT_IMAGE = "camfleet-sim:latest"
#: The image recipe, next to this module (build context: the repository root).
DOCKERFILE = Path(__file__).with_name("Dockerfile")
#: Where the spec is copied to in each container.
SPEC_PATH = "/etc/camfleet/camera.yaml"
#: Subnets for runner networks: next to the netns pool (10.213/16), never overlapping it.
DEFAULT_POOL = ipaddress.IPv4Network("10.214.0.0/16")
#: RFC 1918: the only ranges a runner network may use.
_PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                     "192.168.0.0/16"))
_LABEL = "camfleet.runner"
_DEFAULT_HOST = "unix:///var/run/docker.sock"
_HOW_TO_PROCEED = "the docker backend needs one; use --backend loopback or netns"
_counter = itertools.count()


class DockerBackendError(RuntimeError):
    """The docker backend cannot do what was asked; the message says why."""


@dataclass(frozen=True)
class DockerCamera:
    """One running camera container and where the camera listens."""

    camera_id: str
    container_id: str
    address: str
    http_port: int
    snmp_port: int
    discovery_port: int
    device_service: str


# -- is there a (local) daemon? --------------------------------------------------------------

def _docker_host() -> str:
    """The daemon testcontainers would use (tc.host, DOCKER_HOST, docker context) or the default."""
    from testcontainers.core.docker_client import get_docker_host  # noqa: PLC0415 (heavy)

    return get_docker_host() or _DEFAULT_HOST


def _remote_host_problem(host: str) -> str | None:
    """Why ``host`` is not a daemon on this machine, or None if it is."""
    url = urllib.parse.urlparse(host)
    if url.scheme in ("unix", "npipe"):
        return None
    if url.scheme in ("tcp", "http", "https"):
        name = url.hostname or ""
        if name == "localhost":
            return None
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(name).is_loopback:
                return None
    return (f"the Docker daemon {host} is not on this machine, and this backend only talks to a "
            "local one (a Unix socket or TCP on 127.0.0.0/8)")


def docker_unavailable_reason(timeout: float = 3.0) -> str | None:
    """None if a local Docker daemon answers a ping, else a message saying what to do instead."""
    try:
        host = _docker_host()
        docker = importlib.import_module("docker")
    except ImportError as exc:
        return (f"the docker backend needs testcontainers ({exc}): pip install "
                "'camfleet[docker]', or use --backend loopback or netns")
    if (problem := _remote_host_problem(host)) is not None:
        return f"{problem}; start a local daemon, or use --backend loopback or netns"
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return f"no Docker daemon answers at {host} (no such socket): {_HOW_TO_PROCEED}"
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # docker raises DockerException, requests and OS errors alike
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return f"no Docker daemon answers at {host} ({detail}): {_HOW_TO_PROCEED}"
    return None


# -- running cameras -------------------------------------------------------------------------

def _check_spec(spec_yaml: str) -> CameraSpec:
    """Validate the spec here, with the simulator's own loader, before any container starts."""
    from simulators.spec import SpecError, load_spec  # noqa: PLC0415

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8") as tmp:
        tmp.write(spec_yaml)
        tmp.flush()
        try:
            return load_spec(tmp.name)
        except SpecError as exc:  # the temporary file's name would only confuse
            raise SpecError(str(exc).replace(tmp.name, "camera spec")) from None


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


class DockerCameraRunner:
    """Starts camera containers on a private internal network; :meth:`stop` removes all.

    ``subnet`` (RFC 1918, overlapping no route here) defaults to a free ``/24`` of
    :data:`DEFAULT_POOL`. ``reaper=True`` lets testcontainers start Ryuk (needs its image
    locally), which removes containers if this process dies.
    """

    def __init__(self, image: str = DEFAULT_IMAGE, *, subnet: str | None = None,
                 start_timeout: float = 60.0, reaper: bool = False) -> None:
        self.image = image
        self.start_timeout = start_timeout
        self.reaper = reaper
        self._requested_subnet = ipaddress.IPv4Network(subnet) if subnet else None
        self.subnet: ipaddress.IPv4Network | None = None
        self.network_name = f"camfleet-{os.getpid()}-{next(_counter)}"
        self._network: Any = None
        self._containers: list[Any] = []
        self._addresses: Any = None
        self.cameras: list[DockerCamera] = []

    @property
    def gateway(self) -> str:
        """This machine's address on the runner network (IP_MULTICAST_IF for discovery)."""
        if self.subnet is None:
            raise DockerBackendError("no camera started yet")
        return str(self.subnet.network_address + 1)

    def start(self, spec_yaml: str, *, mac: str | None = None) -> DockerCamera:
        """Run one camera from ``spec_yaml``; return where it listens once it says so.

        ``mac`` (default: the spec's identity MAC) becomes the container interface's MAC.
        """
        spec = _check_spec(spec_yaml)
        if (reason := docker_unavailable_reason()) is not None:
            raise DockerBackendError(reason)
        from testcontainers.core.config import testcontainers_config  # noqa: PLC0415
        from testcontainers.core.container import DockerContainer  # noqa: PLC0415

        if not self.reaper:
            testcontainers_config.ryuk_disabled = True  # Ryuk's image would be pulled
        if self._network is None:
            self._create_network()
        address = str(next(self._addresses))
        docker_types = importlib.import_module("docker.types")
        endpoint = docker_types.EndpointConfig(
            "1.44", ipv4_address=address, mac_address=mac or spec.identity.mac)
        container = (
            DockerContainer(self.image)
            .with_command(["python", "-m", "simulators", "camera", "--spec", SPEC_PATH,
                           "--address", address])
            .with_copy_into_container(spec_yaml.encode(), SPEC_PATH)
            .with_kwargs(network=self.network_name,
                         networking_config={self.network_name: endpoint},
                         labels={_LABEL: self.network_name, "camfleet.camera": spec.id},
                         # Spec ports below 1024 (80, 161) without root in the container.
                         sysctls={"net.ipv4.ip_unprivileged_port_start": "0"})
        )
        images = container.get_docker_client().client.images
        try:
            images.get(self.image)
        except Exception as exc:
            raise DockerBackendError(
                f"image {self.image} is not available locally ({exc}); build it with: docker "
                f"build -f {DOCKERFILE.relative_to(DOCKERFILE.parents[2])} -t {self.image} ."
            ) from exc
        self._containers.append(container)
        container.start()
        endpoints = self._wait_for_endpoints(container, spec.id)
        camera = DockerCamera(
            camera_id=spec.id, container_id=container.get_container_id(),
            address=str(endpoints["address"]),
            http_port=urllib.parse.urlparse(str(endpoints["device_service"])).port or 80,
            snmp_port=int(endpoints["snmp_port"]),
            discovery_port=int(endpoints["discovery_port"]),
            device_service=str(endpoints["device_service"]))
        self.cameras.append(camera)
        return camera

    def _create_network(self) -> None:
        from testcontainers.core.network import Network  # noqa: PLC0415

        from simulators.fleet.netns import _networks_in_use  # noqa: PLC0415

        used = _networks_in_use()
        if self._requested_subnet is not None:
            candidates = [self._requested_subnet]
        else:
            candidates = [block for block in DEFAULT_POOL.subnets(new_prefix=24)
                          if not any(block.overlaps(net) for net in used)]
        docker_types = importlib.import_module("docker.types")
        last_error: Exception | None = None
        for subnet in candidates[:16]:
            if not any(subnet.subnet_of(private) for private in _PRIVATE) or any(
                    subnet.overlaps(net) for net in used):
                raise DockerBackendError(f"subnet {subnet} is not RFC 1918 space or overlaps a "
                                         "route of this machine")
            gateway = str(subnet.network_address + 1)
            network = Network(docker_network_kw={
                "driver": "bridge",
                "internal": True,  # no route out of the segment, no NAT
                "ipam": docker_types.IPAMConfig(pool_configs=[
                    docker_types.IPAMPool(subnet=str(subnet), gateway=gateway)]),
                "options": {"com.docker.network.bridge.enable_ip_masquerade": "false"},
                "labels": {_LABEL: self.network_name},
            })
            network.name = self.network_name
            try:
                network.create()
            except Exception as exc:  # docker.errors.APIError: the pool overlaps a network
                last_error = exc
                continue
            self._network, self.subnet = network, subnet
            self._addresses = itertools.islice(subnet.hosts(), 1, None)  # .1 is the gateway
            # Docker names a user network's bridge br-<first 12 hex digits of its id>.
            bridge = f"br-{(network.id or '')[:12]}"
            if (problem := _route_is_local_bridge(str(subnet.network_address + 2),
                                                  bridge)) is not None:
                self.stop()
                raise DockerBackendError(f"refusing to start cameras: {problem}")
            return
        raise DockerBackendError(f"could not create network {self.network_name}: {last_error}")

    def _wait_for_endpoints(self, container: Any, camera_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.start_timeout
        while True:
            stdout, stderr = container.get_logs()
            for line in stdout.decode(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    data = json.loads(line)
                    if isinstance(data, dict) and "device_service" in data:
                        return data
            container.reload()
            if container.status in ("exited", "dead"):
                raise DockerBackendError(f"camera {camera_id} exited: "
                                         f"{stderr.decode(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise DockerBackendError(f"camera {camera_id} printed no endpoints within "
                                         f"{self.start_timeout} s")
            time.sleep(0.2)

    def stop(self) -> None:
        """Remove every container and the network. Idempotent; gone pieces are fine."""
        containers, self._containers = self._containers, []
        for container in containers:
            # SIGTERM first so the camera says Bye; then remove (never started: nothing to do).
            with contextlib.suppress(Exception):
                container.get_wrapped_container().stop(timeout=5)
            with contextlib.suppress(Exception):
                container.stop()
        network, self._network = self._network, None
        if network is not None:
            with contextlib.suppress(Exception):
                network.remove()
        self.cameras = []

    def __enter__(self) -> DockerCameraRunner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
