"""The docker backend's own promises: local daemon only, never pull, internal network, no
privileges, a link only its own workers can use, an image that knows what it was built from.

The fleet checks every backend passes run on docker in ``test_fleet_loopback.py`` and
``test_fleet_netns.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest

from simulators.fleet import link
from simulators.fleet.docker_backend import (
    DockerCameraNetwork,
    docker_unavailable_reason,
    image_problem,
)
from simulators.fleet.docker_image import INPUTS_LABEL, debian_mirror, inputs_hash, source_root
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.simulators.fleet.backends import container_pid, ip_inside, require

REPO = Path(__file__).resolve().parents[3]


def test_import_has_no_heavy_side_effects() -> None:
    # docker_backend is imported by the fleet supervisor for every backend.
    code = ("import sys, simulators.fleet.docker_backend, simulators.fleet.docker_image; "
            "sys.exit(int('testcontainers' in sys.modules or 'docker' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


# -- which daemon ----------------------------------------------------------------------------------

def no_tc_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TC_HOST", raising=False)
    monkeypatch.delenv("TESTCONTAINERS_HOST_OVERRIDE", raising=False)
    import testcontainers.core.config as tc_config  # noqa: PLC0415

    monkeypatch.setattr(tc_config.testcontainers_config, "tc_properties", {})


def test_without_a_daemon_the_reason_says_how_to_start_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_tc_properties(monkeypatch)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    reason = docker_unavailable_reason()
    assert reason is not None
    assert "no Docker daemon answers" in reason
    assert "dockerd" in reason
    assert "--backend loopback or netns" in reason
    with pytest.raises(FleetError, match="no Docker daemon answers"):
        Fleet(generate_fleet_members(1), backend="docker").start(control_port=None)


def test_remote_daemons_are_refused_without_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    # 192.0.2.1 is TEST-NET-1; the check refuses it before any connection is attempted.
    no_tc_properties(monkeypatch)
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")
    began = time.monotonic()
    reason = docker_unavailable_reason()
    assert reason is not None
    assert "not on this machine" in reason
    assert time.monotonic() - began < 1.0


# -- the image ------------------------------------------------------------------------------------

class FakeImages:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.labels = labels

    def get(self, name: str) -> Any:
        if self.labels is None:
            raise docker.errors.ImageNotFound(name)
        return SimpleNamespace(labels=self.labels)


def test_a_missing_or_stale_image_is_refused_with_the_build_command() -> None:
    root = source_root()
    assert root == REPO  # the tests run from the checkout (editable install)
    fresh = SimpleNamespace(images=FakeImages({INPUTS_LABEL: inputs_hash(root)}))
    stale = SimpleNamespace(images=FakeImages({INPUTS_LABEL: "0" * 64}))
    missing = SimpleNamespace(images=FakeImages(None))
    assert image_problem(fresh, "camfleet-sim:latest") is None
    assert "built from other sources" in str(image_problem(stale, "camfleet-sim:latest"))
    problem = str(image_problem(missing, "camfleet-sim:latest"))
    assert "never pulled" in problem
    assert "python -m simulators.fleet.docker_image" in problem
    unlabelled = SimpleNamespace(images=FakeImages({}))  # built some other way: trusted
    assert image_problem(unlabelled, "camfleet-sim:latest") is None


def write_checkout(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "camfleet"\nreadme = "README.md"\n'
        '[tool.setuptools.packages.find]\ninclude = ["pkg*"]\n', encoding="utf-8")
    (root / "README.md").write_text("readme\n", encoding="utf-8")
    (root / "pkg" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    (root / "tests" / "test_mod.py").write_text("def test(): pass\n", encoding="utf-8")


def test_the_image_hash_follows_what_pip_installs(tmp_path: Path) -> None:
    write_checkout(tmp_path)
    first = inputs_hash(tmp_path)
    (tmp_path / "tests" / "test_mod.py").write_text("def test(): assert 1\n", encoding="utf-8")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_hash(tmp_path) == first  # tests and bytecode are not in the image
    (tmp_path / "pkg" / "mod.py").write_text("X = 2\n", encoding="utf-8")
    assert inputs_hash(tmp_path) != first
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("readme, changed\n", encoding="utf-8")
    assert inputs_hash(tmp_path) != first


def test_the_debian_mirror_comes_from_the_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\n"
        "Components: main\nEnabled: no\n\n"
        "Types: deb-src\nURIs: http://source.example/debian\nSuites: bookworm\n"
        "Components: main\n\n"
        "Types: deb\n# http://snapshot.example/archive\nURIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n", encoding="utf-8")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://oneline.example/debian bookworm main\n",
        encoding="utf-8")
    assert debian_mirror(tmp_path) == "http://oneline.example/debian"
    with pytest.raises(RuntimeError, match="no apt source for Debian trixie"):
        debian_mirror(tmp_path, suite="trixie")


# -- the link --------------------------------------------------------------------------------------

def test_only_a_worker_holding_the_key_gets_a_link() -> None:
    key = link.new_key()
    listener = link.listen("127.0.0.1")
    address = listener.getsockname()
    accepted: list[tuple[str, Any]] = []
    acceptor = threading.Thread(target=lambda: accepted.append(
        link.accept(listener, key, time.monotonic() + 10)))
    acceptor.start()
    try:
        impostor = link.dial(address, link.new_key())  # answers with the wrong key
        assert impostor.poll(2.0)  # ...and is dropped: the link closes
        with pytest.raises(EOFError):
            impostor.recv()
        worker = link.dial(address, key)
        acceptor.join(10)
        (peer, supervisor), = accepted
        assert peer == "127.0.0.1"
        supervisor.send(("truth", "cam-1"))
        assert worker.recv() == ("truth", "cam-1")
        worker.send(("ok", {"id": "cam-1"}))
        assert supervisor.recv() == ("ok", {"id": "cam-1"})
    finally:
        listener.close()
        acceptor.join(10)
    with pytest.raises(link.LinkError):  # nobody dials: the supervisor stops waiting
        link.accept(link.listen("127.0.0.1"), key, time.monotonic() + 0.2)


# -- with a daemon --------------------------------------------------------------------------------

def generate_fleet_members(count: int, seed: int = 31) -> list[FleetMember]:
    return [FleetMember(spec) for spec in generate_fleet(count, seed=seed)]


def our_leftovers() -> set[str]:
    """Containers and networks of fleets this test process made that still exist."""
    prefix = f"camfleet.runner=camfleet-{os.getpid()}-"
    found = set()
    for kind in (["ps", "--all"], ["network", "ls"]):
        out = subprocess.run(["docker", *kind, "--format", "{{.ID}} {{.Labels}}"],
                             capture_output=True, text=True, check=True).stdout
        found |= {line.split()[0] for line in out.splitlines() if prefix in line}
    return found


def test_an_image_never_built_stops_the_fleet_and_nothing_is_pulled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    require("docker")
    before = our_leftovers()
    monkeypatch.setenv("CAMFLEET_DOCKER_IMAGE", "camfleet-sim:never-built")
    fleet = Fleet(generate_fleet_members(1), backend="docker")
    with pytest.raises(FleetError, match=r"camfleet-sim:never-built is not on this machine "
                                         r"\(it is never pulled\); build it: python -m "
                                         r"simulators.fleet.docker_image"):
        fleet.start(control_port=None)
    images = subprocess.run(["docker", "images", "--quiet", "camfleet-sim:never-built"],
                            capture_output=True, text=True, check=True).stdout
    assert images == ""
    assert our_leftovers() == before


@pytest.fixture(scope="module")
def small_fleet() -> Iterator[Fleet]:
    require("docker")
    with Fleet(generate_fleet_members(2), backend="docker") as running:
        yield running


def inspect(kind: str, name: str) -> Any:
    out = subprocess.run(["docker", kind, "inspect", name], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


def test_cameras_sit_on_an_internal_network_without_privileges(small_fleet: Fleet) -> None:
    info = small_fleet.manifest().fleet
    assert info is not None
    containers = [inspect("container", str(m.container)) for m in info.members.values()]
    (network_name,) = {name for c in containers for name in c["NetworkSettings"]["Networks"]}
    network = inspect("network", network_name)
    assert network["Internal"] is True
    (pool,) = network["IPAM"]["Config"]
    assert pool["Subnet"].startswith("10.214.")
    assert pool["Gateway"] == info.manager_address
    # Docker routes what containers send off the segment to the gateway, this machine...
    for container in containers:
        assert container["HostConfig"]["CapDrop"] == ["ALL"]
        assert container["Config"]["User"] == "camfleet"
        pid = container_pid(container["Id"])
        routes = subprocess.run([*ip_inside(None, pid), "-4", "route", "show"],
                                capture_output=True, text=True, check=True).stdout
        for route in routes.splitlines():
            assert route.startswith(pool["Subnet"]) or f"via {pool['Gateway']} " in route
    # ...which forwards nothing from the network's bridge.
    bridge = f"br-{network['Id'][:12]}"
    forwarding = Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").read_text().strip()
    assert forwarding == "0" or os.geteuid() != 0
    uid = subprocess.run(["ps", "-o", "uid=", "-p", str(small_fleet.worker_pids()[0])],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert uid == "10001"  # the camera runs unprivileged on this machine too


def test_the_network_refuses_a_subnet_that_is_not_private() -> None:
    require("docker")
    network = DockerCameraNetwork([("cam-1", "02:00:00:00:00:01")], subnet="192.0.2.0/24")
    with pytest.raises(RuntimeError, match="not RFC 1918"):
        network.create()
    network.destroy()
