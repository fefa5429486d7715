"""Districts for real: each district's cameras on a bridge of their own, its collector in a
namespace of its own that reaches them, the broker and the registry, and nothing else
(``simulators.fleet.districts``). The coordinator runs here, in the root namespace.

Two districts of two cameras; RabbitMQ and PostgreSQL as in ``test_collectors``. Needs root
(network namespaces): elsewhere it skips, saying why.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from camfleet.targets import TargetsFile
from devmgr.registry import Registry, SweepStatus
from simulators.fleet.districts import District
from simulators.fleet.generate import FleetMember, generate_fleet
from tests import postgres, rabbitmq
from tests.conftest import free_udp_port
from tests.devmgr.city.test_collectors import ENV, coordinator, devmgr, results_per_camera, stop
from tests.simulators.fleet.backends import require

pytestmark = pytest.mark.timeout(180)
DISTRICTS, CAMERAS_EACH = 2, 2


@dataclass
class City:
    districts: list[District]
    targets: Path
    registry: str
    logs: dict[str, Path]


def service(url: str, default_port: int) -> tuple[str, int]:
    """Where ``url``'s server listens, as the root namespace sees it."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    return parts.hostname, parts.port or default_port


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    require("netns")  # skips, saying why: districts are network namespaces
    rabbitmq.require()
    postgres.require()
    tmp = tmp_path_factory.mktemp("districts")
    prefix = rabbitmq.queue_prefix()
    members = [FleetMember(s) for s in generate_fleet(DISTRICTS * CAMERAS_EACH, seed=13)]
    services = {"broker": service(rabbitmq.BROKER_URL, 5672),
                "registry": service(postgres.ADMIN_URL, 5432)}
    with contextlib.ExitStack() as stack:  # torn down in reverse, whatever failed
        districts = [stack.enter_context(District(
            f"{prefix}-d{n}", members[n::DISTRICTS], services=services,
            discovery_port=free_udp_port())) for n in range(DISTRICTS)]
        targets = tmp / "city.json"
        TargetsFile(targets=tuple(t for d in districts for t in d.targets().targets)).save(
            targets)
        url = stack.enter_context(postgres.fresh_schema())
        logs = {d.name: tmp / f"{d.name}.log" for d in districts}
        for district in districts:
            collector = district.collector
            with logs[district.name].open("ab") as sink:
                process = collector.popen(
                    [sys.executable, "-m", "devmgr.cli", "collector", "--queue", district.name,
                     "--targets", str(targets), "--concurrency", "2",
                     "--registry", collector.url("registry", url),
                     "--broker", collector.url("broker", rabbitmq.BROKER_URL)],
                    stdout=sink, stderr=sink, env=ENV)
            stack.callback(stop, process)  # gracefully, before its namespace goes
        with Registry.open(url) as registry:
            ready = coordinator(registry)
            queues = [d.name for d in districts]
            for _ in range(600):
                if all(ready.collectors(queues).values()):
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"collectors did not come up in 60 s; see {tmp}")
        yield City(districts, targets, url, logs)


def test_a_collector_reaches_its_own_districts_cameras_and_no_other(city: City) -> None:
    for source in city.districts:
        for district in city.districts:
            for target in district.targets().targets:
                began = time.monotonic()
                reached = source.collector.reaches(target.address, target.http_port)
                assert reached == (district is source), (
                    f"{source.name}'s collector {'reached' if reached else 'did not reach'} "
                    f"{target.id} of {district.name} at {target.address}:{target.http_port}"
                    + (" (iptables FORWARD dropping bridged frames?)" if not reached else ""))
                assert time.monotonic() - began < 1.0  # no route: refused at once


def test_the_city_audit_covers_every_camera_once_each_by_its_districts_collector(
        city: City) -> None:
    spread = devmgr("audit", "--distributed", "--targets", str(city.targets), "--no-move",
                    "--clock-tolerance", "60", "--call-timeout", "20", "--json",
                    registry=city.registry)
    assert spread.returncode in (0, 3), spread.stderr
    for district in city.districts:
        assert f"{district.name}: {CAMERAS_EACH}/{CAMERAS_EACH} (done)" in spread.stderr
    report = json.loads(spread.stdout)
    district_of = {t.address: d.name for d in city.districts for t in d.targets().targets}
    cameras = {c["camera"]: district_of[c["address"]] for c in report["cameras"]}
    assert sorted(district_of.values()) == sorted(cameras.values())  # every camera, once
    assert results_per_camera(city.registry, report["sweep_id"]) == dict.fromkeys(cameras, 1)
    for name, log in city.logs.items():  # each recorded by its own district's collector
        recorded = set(re.findall(rf"camera (\S+) of sweep {report['sweep_id']}: recorded",
                                  log.read_text(errors="replace")))
        assert recorded == {c for c, d in cameras.items() if d == name}, name
    with Registry.open(city.registry) as registry:
        assert registry.get_sweep(report["sweep_id"]).status == SweepStatus.COMPLETE
        assert registry.verify_audit_log().ok
