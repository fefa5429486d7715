"""The city for real: collectors are Celery workers in subprocesses on the local RabbitMQ, the
registry is PostgreSQL, the coordinator is ``devmgr ... --distributed`` as an operator runs it.

Small fleets (4 cameras, 2 districts); each test has queues of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from camfleet.targets import load_targets
from devmgr.city.coordinator import Coordinator
from devmgr.compliance.model import CameraAudit
from devmgr.registry import Registry, SweepStatus
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests import postgres, rabbitmq
from tests.conftest import free_udp_port

pytestmark = pytest.mark.timeout(300)  # worker start-ups on a loaded 2-core machine
CAMERAS = 4  # in 2 districts
ENV = {"CAMFLEET_OPERATOR": "tester", "PATH": os.environ.get("PATH", "/usr/bin"),
       "CAMFLEET_BROKER": rabbitmq.BROKER_URL}


def devmgr(*args: str, registry: str, timeout: float = 90.0,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devmgr.cli", *args, "--registry", registry],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=ENV)


def start_collector(queue: str, registry: str, targets: Path, *, concurrency: int = 2,
                    log: Path, also: tuple[str, ...] = (), env: dict[str, str] | None = None,
                    ) -> subprocess.Popen[bytes]:
    """A collector, its spool in ``log``'s directory."""
    extra = [arg for q in also for arg in ("--queue", q)]
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "devmgr.cli", "collector", "--queue", queue, *extra,
             "--registry", registry, "--targets", str(targets),
             "--concurrency", str(concurrency), "--spool", str(log.parent / "spool")],
            stdout=sink, stderr=subprocess.STDOUT, env={**ENV, **(env or {})})


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def results_per_camera(url: str, sweep_id: int) -> dict[str, int]:
    rows = postgres.query(url, "SELECT camera, count(*) FROM audit_results "
                               f"WHERE sweep_id = {int(sweep_id)} GROUP BY camera")
    return {str(camera): int(n) for camera, n in rows}


def one_district(targets: Path, queue: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """The city's targets, all in the district of ``queue``: the file and the target ids."""
    data = json.loads(targets.read_text())
    for target in data["targets"]:
        target["district"] = queue
    mine = tmp_path / "city.json"
    mine.write_text(json.dumps(data))
    return mine, [t["id"] for t in data["targets"]]


def until(done: Callable[[], object], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:g} s"
        time.sleep(0.05)


def coordinator(registry: Registry, **options: Any) -> Coordinator:
    from devmgr.city.app import app  # noqa: PLC0415

    app.conf.broker_url = rabbitmq.BROKER_URL
    return Coordinator(app, registry, **options)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    rabbitmq.require()
    postgres.require()
    members = [FleetMember(s) for s in generate_fleet(CAMERAS, seed=13)]
    with Fleet(members, discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def city(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory,
         ) -> Iterator[tuple[str, Path, list[str]]]:
    """The registry URL, a targets file of two districts, and their queues, each with a
    collector running (the first also consumes ``<prefix>-coordinator``, as for beat)."""
    tmp = tmp_path_factory.mktemp("city")
    prefix = rabbitmq.queue_prefix()
    queues = [f"{prefix}-east", f"{prefix}-west"]
    manifest = fleet.manifest()
    targets = tmp / "city.json"
    manifest.model_copy(update={"targets": tuple(
        t.model_copy(update={"district": queues[n % 2]})
        for n, t in enumerate(manifest.targets))}).save(targets)
    with postgres.fresh_schema() as url:
        collectors = [start_collector(q, url, targets, log=tmp / f"{q}.log",
                                      also=(f"{prefix}-coordinator",) if n == 0 else ())
                      for n, q in enumerate(queues)]
        try:
            with Registry.open(url) as registry:  # consuming: later waits are about the tests
                ready = coordinator(registry)
                for _ in range(600):
                    if all(ready.collectors(queues).values()):
                        break
                    time.sleep(0.1)
            yield url, targets, queues
        finally:
            for process in collectors:
                stop(process)


def test_distributed_audit_prints_the_single_machine_report_one_result_per_camera(
        city: tuple[str, Path, list[str]]) -> None:
    url, targets, queues = city
    # Generous clock tolerance and call timeout: on a loaded machine a reply takes seconds.
    alone = devmgr("audit", "--targets", str(targets), "--no-move", "--no-discover",
                   "--clock-tolerance", "60", "--call-timeout", "20", "--json", registry=url)
    assert alone.returncode in (0, 3), alone.stderr
    spread = devmgr("audit", "--distributed", "--targets", str(targets), "--no-move",
                    "--clock-tolerance", "60", "--call-timeout", "20", "--json", registry=url)
    assert spread.returncode in (0, 3), spread.stderr
    for queue in queues:  # progress per district, to the end
        assert f"{queue}: 2/2 (done)" in spread.stderr
    expected, got = json.loads(alone.stdout), json.loads(spread.stdout)

    def verdicts(report: dict[str, Any]) -> list[tuple[object, ...]]:
        return [(c["camera"], c["status"], c["address"],
                 sorted(str(f["rule"]) for f in c["findings"])) for c in report["cameras"]]

    assert len(got["cameras"]) == CAMERAS
    assert verdicts(got) == verdicts(expected)
    assert results_per_camera(url, got["sweep_id"]) == {c["camera"]: 1 for c in got["cameras"]}
    with Registry.open(url) as registry:
        assert registry.get_sweep(got["sweep_id"]).status == SweepStatus.COMPLETE
        assert registry.verify_audit_log().ok


def test_distributed_inventory_records_every_camera_once(
        city: tuple[str, Path, list[str]]) -> None:
    url, targets, queues = city
    with Registry.open(url) as registry:
        run = coordinator(registry, poll_s=0.1).inventory(load_targets(targets))
        assert run.status == SweepStatus.COMPLETE
        assert sorted(inv.target_id for inv in run.inventories) == sorted(
            t.id for t in load_targets(targets).targets)
        assert all(inv.device is not None and inv.device.serial for inv in run.inventories)
        assert registry.get_sweep(run.sweep_id).observation_count == CAMERAS  # none twice
    assert {q: len(d.done) for q, d in run.districts.items()} == {q: CAMERAS // 2 for q in queues}


def test_a_district_without_a_collector_is_reported_after_the_wait_not_waited_for(
        city: tuple[str, Path, list[str]]) -> None:
    url, targets, queues = city
    lonely = f"{queues[0]}-nobody"
    city_file = load_targets(targets)
    moved = city_file.model_copy(update={"targets": (
        city_file.targets[0].model_copy(update={"district": lonely}), *city_file.targets[1:])})
    said: list[str] = []
    with Registry.open(url) as registry:
        run = coordinator(registry, poll_s=0.1, collector_wait_s=2.0, look_every_s=0.5,
                          progress=said.append).audit(moved, move=False)
        assert registry.get_sweep(run.sweep_id).status == SweepStatus.ABORTED
    assert run.missing_districts == [lonely]
    assert run.undone == [run.districts[lonely].cameras.copy().pop()]
    assert any(f"district {lonely}: no collector consumes its queue" in line for line in said)
    assert run.report is not None
    assert len(run.report.cameras) == CAMERAS - 1  # the other districts are reported


def test_a_collector_killed_mid_run_loses_no_camera_and_records_none_twice(
        city: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, targets, queues = city
    queue = f"{queues[0]}-kill"
    mine, _ = one_district(targets, queue, tmp_path)
    first = start_collector(queue, url, mine, concurrency=1, log=tmp_path / "first.log")
    coordinator = subprocess.Popen(
        # Batches of 2, one at a time: the second is untouched when the first is killed.
        [sys.executable, "-m", "devmgr.cli", "audit", "--distributed", "--targets", str(mine),
         "--no-move", "--json", "--batch", "2", "--registry", url], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=ENV)
    second: subprocess.Popen[bytes] | None = None
    try:
        with Registry.open(url) as registry:
            for _ in range(600):  # the first result recorded: the collector is mid-run
                sweeps = registry.sweeps("audit", status="running", limit=1)
                if sweeps and registry.audited_cameras(sweeps[0].id):
                    break
                time.sleep(0.05)
            sweep = sweeps[0]
            first.send_signal(signal.SIGKILL)
            first.wait()
            left = CAMERAS - len(registry.audited_cameras(sweep.id))
        assert left > 0, "the collector finished before it was killed: nothing tested"
        second = start_collector(queue, url, mine, concurrency=2, log=tmp_path / "second.log")
        out, err = coordinator.communicate(timeout=90)
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
        if coordinator.poll() is None:
            coordinator.kill()
    assert coordinator.returncode in (0, 3), err
    report = json.loads(out)
    assert report["sweep_id"] == sweep.id
    assert results_per_camera(url, sweep.id) == {c["camera"]: 1 for c in report["cameras"]}
    assert len(report["cameras"]) == CAMERAS
    with Registry.open(url) as registry:
        assert registry.get_sweep(sweep.id).status == SweepStatus.COMPLETE
        assert {c.camera for c in registry.audit_results(sweep.id, CameraAudit).values()} \
            == {c["camera"] for c in report["cameras"]}
        assert registry.verify_audit_log().ok


def test_a_scheduled_audit_runs_the_coordinator_on_a_collector(
        city: tuple[str, Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """What Celery beat sends on schedule is run by a collector, to the end."""
    from devmgr.city import app as module  # noqa: PLC0415

    url, targets, queues = city
    monkeypatch.setenv("CAMFLEET_BEAT_TARGETS", str(targets))
    monkeypatch.setenv("CAMFLEET_BEAT_EVERY_S", "3600")
    entry = module._beat_schedule()["city-audit"]
    assert (entry["task"], entry["schedule"], entry["options"]["queue"]) == (
        "camfleet.scheduled_audit", 3600.0, "coordinator")
    module.app.conf.broker_url = rabbitmq.BROKER_URL
    # The test's own coordinator queue instead of "coordinator": runs side by side.
    module.app.send_task(entry["task"], args=[*entry["args"], False],
                         queue=queues[0].rsplit("-", 1)[0] + "-coordinator")
    with Registry.open(url) as registry:
        for _ in range(1200):
            done = [s for s in registry.sweeps("audit", status="complete")
                    if s.parameters.get("beat")]
            if done:
                break
            time.sleep(0.1)
        assert done, "the scheduled audit did not complete within 120 s"
        assert len(registry.audited_cameras(done[0].id)) == CAMERAS


def test_a_registry_away_beyond_the_retries_loses_no_result_and_polls_no_camera_twice(
        city: tuple[str, Path, list[str]], fleet: Fleet, tmp_path: Path) -> None:
    """The registry goes away while a collector polls a camera, and stays away while the
    collector's other cameras wait (their retries, 1 s apart here, outlast any fixed count):
    the polled camera's result is spooled, shipped when the registry is back, and the camera
    is not polled again; the sweep ends with every camera recorded once."""
    from sqlalchemy import make_url  # noqa: PLC0415

    from devmgr.city.spool import Spool  # noqa: PLC0415
    from simulators.fleet.relay import TcpRelay  # noqa: PLC0415

    url, targets, queues = city
    queue = f"{queues[0]}-away"
    mine, ids = one_district(targets, queue, tmp_path)
    slow = ids[0]
    # Its inventory takes 4 s after the first replies: time to take the registry away.
    fleet.add_fault(slow, {"kind": "latency", "ms": 4000, "ops": ["GetProfiles"]})
    port = make_url(url).port or 5432
    spool = Spool(tmp_path / "spool" / f"{queue}.sqlite")

    def spooled() -> set[str]:
        return {result.camera for result in spool.results()}

    said: list[str] = []
    outcome: list[Any] = []
    try:
        with TcpRelay(port) as link, Registry.open(url) as registry:
            collector = start_collector(
                queue, url.replace(f":{port}/", f":{link.port}/"), mine, concurrency=1,
                log=tmp_path / "collector.log",
                env={"CAMFLEET_RETRY_MAX_S": "1", "CAMFLEET_SPOOL_SHIP_EVERY_S": "0.5"})
            try:
                follow = coordinator(registry)
                until(lambda: follow.collectors([queue]).get(queue), "the collector consumes")
                before = fleet.truth(slow)["requests_served"]

                def sweep() -> None:
                    with Registry.open(url) as own:
                        outcome.append(coordinator(own, poll_s=0.2, deadline_s=240,
                                                   progress=said.append).inventory(
                            load_targets(mine)))

                thread = threading.Thread(target=sweep, daemon=True)
                thread.start()
                # The collector polls it: its registry reads are done.
                until(lambda: fleet.truth(slow)["requests_served"] > before, "polled")
                link.down()
                until(lambda: slow in spooled(), "the polled camera's result spooled")
                polled = fleet.truth(slow)["requests_served"]
                time.sleep(8)  # away well beyond the retries of the cameras not yet polled
                assert slow in spooled()
                link.up()
                thread.join(timeout=180)
            finally:
                stop(collector)
    finally:
        fleet.clear_faults(slow, "latency")
    assert outcome, f"the coordinator did not finish: {said[-3:]}"
    (run,) = outcome
    assert run.status == SweepStatus.COMPLETE
    assert sorted(inv.target_id for inv in run.inventories) == sorted(ids)
    with Registry.open(url) as registry:
        assert registry.get_sweep(run.sweep_id).observation_count == CAMERAS  # none twice
    assert fleet.truth(slow)["requests_served"] == polled  # not polled again
    assert len(spool) == 0
    assert f"spooled camera {slow} of sweep {run.sweep_id} shipped: recorded" in (
        tmp_path / "collector.log").read_text(errors="replace")
