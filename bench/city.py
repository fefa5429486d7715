"""The city measured: inventory and ``--no-move`` audit by collectors per district (Celery on
RabbitMQ, registry on PostgreSQL), against today's single-process run on the same fleet.

    python bench/city.py                       # 1000 cameras in 4 districts (long)
    python bench/city.py --count 200
    python bench/city.py --count 200 --backend netns   # districts in namespaces (root)
    python bench/city.py --count 200 --broker redis://127.0.0.1:6379/13 --visibility-timeout 60

One loopback fleet, split into districts by target (``district``); or, with ``--backend
netns``, one netns fleet per district on a bridge of its own, each district's collector in a
namespace that reaches only its cameras, the broker and the registry
(``simulators.fleet.districts``). The single process and the 1-collector run stay in the root
namespace, which reaches every district (a city without segments). In one run:

* single process: ``recorded_inventory`` and ``audit`` as ``devmgr inventory|audit`` run them;
* 1 collector consuming every district queue, then 1 collector per district (``devmgr
  collector`` subprocesses, 8 threads each), the coordinator in this process;
* a collector SIGKILLed mid-audit (1 per district; a fresh one takes its queue over).

Printed: wall times and their ratio against the single process, cameras/s per collector,
collector peak memory (VmHWM), task messages per camera, PostgreSQL rows and bytes per camera
per audit, and, for each fault, cameras lost and recorded twice (both must be 0), results
spooled by the collectors, and the time from the fault to the sweep's end with the longest
wait between two results after it (after a SIGKILL: how long the dead collectors' cameras
took to come back; on Redis, the visibility timeout).

``--broker`` (RabbitMQ ``amqp://`` or Redis ``redis://``, Celery's transports) serves the
coordinator and collectors alike; ``--batch`` the cameras per task (default: the
coordinator's, per kind); ``--no-faults`` skips the faults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from camfleet.targets import TargetsFile
from devmgr.city.app import app
from devmgr.city.coordinator import CityRun, Coordinator
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.inventory.recorded import recorded_inventory
from devmgr.registry import Registry
from simulators.fleet.districts import District
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.relay import TcpRelay as Proxy

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def schema() -> Iterator[tuple[str, str]]:
    name = f"bench_city_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield (f"postgresql+psycopg://postgres@127.0.0.1:5432/test"
               f"?options=-csearch_path%3D{name}"), name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def db_size(name: str) -> tuple[int, int]:
    """(rows, bytes) of every table of the schema."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (name,))]
        rows = sum(int((conn.execute(f'SELECT count(*) FROM "{name}"."{t}"').fetchone()
                        or (0,))[0]) for t in tables)
        size = sum(int((conn.execute("SELECT pg_total_relation_size(%s)",
                                     (f'"{name}"."{t}"',)).fetchone() or (0,))[0])
                   for t in tables)
    return rows, size


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Collectors:
    """Collector processes; one of a single district's queue runs in that district's
    namespace when there are districts (``--backend netns``)."""

    def __init__(self, queues: list[list[str]], registry: str, targets: Path,
                 log: Path, broker: str | None = None, *,
                 districts: dict[str, District] | None = None) -> None:
        self.registry, self.targets, self.log, self.broker = registry, targets, log, broker
        self.districts = districts or {}
        self.processes = [self.start(q) for q in queues]

    def start(self, queues: list[str]) -> subprocess.Popen[bytes]:
        registry, broker = self.registry, self.broker or app.conf.broker_url
        district = self.districts.get(queues[0]) if len(queues) == 1 else None
        if district is not None:
            registry = district.collector.url("registry", registry)
            broker = district.collector.url("broker", broker)
        args = [sys.executable, "-m", "devmgr.cli", "collector", "--registry", registry,
                "--targets", str(self.targets), "--concurrency", "8",
                "--spool", str(self.log.parent / "spool"), "--broker", broker]
        for queue in queues:
            args += ["--queue", queue]
        with self.log.open("ab") as sink:
            if district is not None:
                return district.collector.popen(args, stdout=sink, stderr=subprocess.STDOUT)
            return subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)

    def wait_ready(self, coordinator: Coordinator, queues: set[str]) -> None:
        for _ in range(120):
            if queues <= set(coordinator.collectors()):
                return
            time.sleep(0.5)
        raise SystemExit(f"collectors did not come up; see {self.log}")

    def stop(self) -> list[float]:
        peaks = [peak_rss_mb(p.pid) for p in self.processes if p.poll() is None]
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:  # still finishing a task: not measured here
                p.kill()
                p.wait()
        return peaks


def counts(run: CityRun) -> tuple[int, int]:
    """(lost, duplicated) results of an audit run, from the registry's rows."""
    per_camera: dict[str, int] = {}
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for camera, n in conn.execute(
                f'SELECT camera, count(*) FROM "{SCHEMA}".audit_results WHERE sweep_id = %s '
                "GROUP BY camera", (run.sweep_id,)):
            per_camera[camera] = n
    expected = {c for d in run.districts.values() for c in d.cameras}
    return len(expected - set(per_camera)), sum(n - 1 for n in per_camera.values() if n > 1)


def deliveries(log: Path) -> int:
    """Task messages the collectors received (first deliveries, re-deliveries, retries;
    a message carries a batch of cameras)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines()
               if "camfleet.camera" in line and line.endswith("received"))


SCHEMA = ""


def main() -> None:  # noqa: PLR0915 (one measured run, read top to bottom)
    global SCHEMA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--districts", type=int, default=4)
    parser.add_argument("--backend", choices=("loopback", "netns"), default="loopback")
    parser.add_argument("--broker", default=app.conf.broker_url,
                        help="amqp://... (RabbitMQ) or redis://host:port/db")
    parser.add_argument("--batch", type=int, default=None, help="cameras per task")
    parser.add_argument("--visibility-timeout", type=float, default=None,
                        help="Redis: seconds before an unacknowledged task is delivered "
                             "again (default: the app's, 3600)")
    parser.add_argument("--faults", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--audit", action=argparse.BooleanOptionalAction, default=True,
                        help="--no-audit: the inventories only (and no faults)")
    parser.add_argument("--inventory-batch-vs", type=int, default=None, metavar="N",
                        help="also the distributed inventory with N cameras per task, on the "
                             "same collectors right after (batching against not batching)")
    args = parser.parse_args()
    app.conf.broker_url = args.broker
    if args.visibility_timeout is not None:  # the collectors read it from the environment
        os.environ["CAMFLEET_VISIBILITY_TIMEOUT_S"] = str(args.visibility_timeout)
        app.conf.broker_transport_options = {"visibility_timeout": args.visibility_timeout}
    prefix = f"b{uuid.uuid4().hex[:6]}"
    queues = [f"{prefix}-d{n}" for n in range(args.districts)]
    work = Path(tempfile.mkdtemp(prefix="bench-city-"))
    members = [FleetMember(s) for s in generate_fleet(args.count, seed=3)]
    print(f"city: {args.count} cameras in {args.districts} districts ({args.backend}); "
          f"broker {app.conf.broker_url}; logs in {work}")
    with built(args.backend, members, queues) as (city, districts), \
            schema() as (url, SCHEMA):
        targets = work / "city.json"
        city.save(targets)
        walls: dict[str, float] = {}
        with Registry.open(url) as registry:
            t0 = time.perf_counter()
            asyncio.run(recorded_inventory(list(city.targets), registry, processes=1))
            walls["inventory single"] = time.perf_counter() - t0
            if args.audit:
                t0 = time.perf_counter()
                asyncio.run(audit(city, registry, AuditOptions(move=False, discovery=None)))
                walls["audit single"] = time.perf_counter() - t0
            coordinator = Coordinator(app, registry, collector_wait_s=60, poll_s=0.5,
                                      batch=args.batch)
            results: dict[str, tuple[int, list[float]]] = {}
            for label, split in (("1 collector", [queues]),
                                 (f"{len(queues)} collectors", [[q] for q in queues])):
                collectors = Collectors(split, url, targets, work / "collectors.log",
                                        broker=args.broker, districts=districts)
                collectors.wait_ready(coordinator, set(queues))
                t0 = time.perf_counter()
                coordinator.inventory(city)
                walls[f"inventory {label}"] = time.perf_counter() - t0
                if args.inventory_batch_vs:
                    t0 = time.perf_counter()
                    Coordinator(app, registry, poll_s=0.5,
                                batch=args.inventory_batch_vs).inventory(city)
                    walls[f"inventory batch {args.inventory_batch_vs}, {label}"] = (
                        time.perf_counter() - t0)
                if not args.audit:
                    results[label] = (len(split), collectors.stop())
                    continue
                before, received = db_size(SCHEMA), deliveries(work / "collectors.log")
                t0 = time.perf_counter()
                run = coordinator.audit(city, move=False)
                walls[f"audit {label}"] = time.perf_counter() - t0
                after = db_size(SCHEMA)
                messages = deliveries(work / "collectors.log") - received
                results[label] = (len(split), collectors.stop())
                assert run.report is not None
                assert len(run.report.cameras) == args.count
            faults = run_faults(args.count, city, queues, url, targets=targets, work=work,
                                coordinator=coordinator, districts=districts,
                                ) if args.faults and args.audit else {}
            verified = registry.verify_audit_log().ok
    single_inv, single_audit = walls["inventory single"], walls.get("audit single", 0.0)
    print(f"\n{'run':<34}{'wall s':>9}{'vs single':>11}{'cam/s/collector':>17}")
    for name, wall in walls.items():
        n = 1
        for label, (collectors_n, _) in results.items():
            if name.endswith(label):
                n = collectors_n
        base = single_inv if name.startswith("inventory") else single_audit
        print(f"{name:<34}{wall:>9.1f}{base / wall:>10.2f}x{args.count / wall / n:>17.1f}")
    for label, (_, peaks) in results.items():
        print(f"memory per collector ({label}): peak RSS "
              f"{', '.join(f'{p:.0f}' for p in peaks)} MB")
    if not args.audit:
        return
    rows, size = after[0] - before[0], after[1] - before[1]
    print(f"broker {args.broker}: {messages / args.count:.2f} task messages delivered per "
          "camera per audit "
          "(collector logs; plus a broadcast every 3 s while the coordinator looks for "
          "collectors)")
    print(f"PostgreSQL per camera per audit: {rows / args.count:.1f} rows, "
          f"{size / args.count / 1024:.1f} KiB (tables and indexes)")
    for name, line in faults.items():
        print(f"fault: {name}: {line}")
    print(f"audit log hash chain verifies after all runs: {verified}")


@contextmanager
def built(backend: str, members: list[FleetMember], queues: list[str],
          ) -> Iterator[tuple[TargetsFile, dict[str, District]]]:
    """The city's targets (each in its district: its queue), and its districts on netns."""
    if backend == "loopback":
        with Fleet(members) as fleet:
            yield TargetsFile(targets=tuple(
                t.model_copy(update={"district": queues[n % len(queues)]})
                for n, t in enumerate(fleet.manifest().targets))), {}
        return
    services = {"broker": ("127.0.0.1", urlsplit(app.conf.broker_url).port or 5672),
                "registry": ("127.0.0.1", 5432)}
    with contextlib.ExitStack() as stack:
        districts = {q: stack.enter_context(District(q, members[n::len(queues)],
                                                     services=services))
                     for n, q in enumerate(queues)}
        yield TargetsFile(targets=tuple(t for d in districts.values()
                                        for t in d.targets().targets)), districts


class Links:
    """The collectors' links to the broker and the registry, to cut: relays of ours on
    loopback, the districts' own relays on netns (all cut at once)."""

    def __init__(self, url: str, districts: dict[str, District]) -> None:
        self.relays: dict[str, list[Proxy]] = {
            name: [d.collector.relay(name) for d in districts.values()]
            for name in ("registry", "broker")}
        self.registry, self.broker = url, app.conf.broker_url
        self.own = not districts
        if self.own:
            broker = urlsplit(app.conf.broker_url)
            self.relays = {"registry": [Proxy(5432)], "broker": [Proxy(broker.port or 5672)]}
            self.registry = url.replace(":5432/", f":{self.relays['registry'][0].port}/")
            self.broker = urlunsplit(broker._replace(netloc=broker.netloc.replace(
                f":{broker.port}", f":{self.relays['broker'][0].port}")))

    def cut(self, name: str, seconds: float) -> None:
        threads = [threading.Thread(target=relay.cut, args=(seconds,))
                   for relay in self.relays[name]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def close(self) -> None:
        if self.own:
            for relay in (r for relays in self.relays.values() for r in relays):
                relay.close()


def run_faults(count: int, city: TargetsFile, queues: list[str], url: str, *, targets: Path,
               work: Path, coordinator: Coordinator,
               districts: dict[str, District]) -> dict[str, str]:
    """Each fault once a quarter of the city is audited; what it cost, per fault."""
    faults: dict[str, str] = {}
    for name in ("every collector SIGKILLed mid-audit (a fresh one takes over)",
                 "broker link cut for 10 s (connections dropped, then refused)",
                 "registry away for 30 s (connections dropped, then refused)"):
        links = Links(url, districts)
        log = work / "collectors.log"
        spooled = log.read_text(errors="replace").count("spooled camera ") if log.exists() else 0
        collectors = Collectors([[q] for q in queues], links.registry, targets, log,
                                broker=links.broker, districts=districts)
        collectors.wait_ready(coordinator, set(queues))
        watch = _Watch(url)
        struck: list[float] = []

        def strike(*, name: str = name, collectors: Collectors = collectors,
                   links: Links = links, watch: _Watch = watch,
                   struck: list[float] = struck) -> None:
            while len(watch.audited()) < count // 4:
                time.sleep(0.2)
            struck.append(time.time())
            if name.startswith("every collector"):
                for n, process in enumerate(list(collectors.processes)):
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    collectors.processes[n] = collectors.start([queues[n]])
            elif name.startswith("broker"):
                links.cut("broker", 10)
            else:
                links.cut("registry", 30)

        thread = threading.Thread(target=strike, daemon=True)
        thread.start()
        run = coordinator.audit(city, move=False)
        thread.join(timeout=60)
        collectors.stop()
        links.close()
        lost, duplicated = counts(run)
        end, gap = after_fault(run, struck[0] if struck else time.time())
        spooled = log.read_text(errors="replace").count("spooled camera ") - spooled
        faults[name] = (f"lost {lost}, duplicated {duplicated}; {spooled} results spooled "
                        "and shipped later; "
                        f"sweep ended {end:.0f} s after the fault, longest wait between two "
                        f"results after it {gap:.0f} s")
        print(f"fault: {name}: {faults[name]}", flush=True)
    return faults


def after_fault(run: CityRun, struck: float) -> tuple[float, float]:
    """(seconds from the fault to the last result, the longest wait between two results
    after the fault), from the registry's recording times."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        times = sorted(float(t) for (t,) in conn.execute(
            f'SELECT extract(epoch FROM recorded_at) FROM "{SCHEMA}".audit_results '
            "WHERE sweep_id = %s", (run.sweep_id,)))
    later = [struck] + [t for t in times if t > struck]
    return later[-1] - struck, max((b - a for a, b in itertools.pairwise(later)), default=0.0)


class _Watch:
    def __init__(self, url: str) -> None:
        self.registry = Registry.open(url)

    def audited(self) -> set[str]:
        sweeps = self.registry.sweeps("audit", status="running", limit=1)
        return self.registry.audited_cameras(sweeps[0].id) if sweeps else set()


if __name__ == "__main__":
    os.environ.setdefault("CAMFLEET_OPERATOR", "bench")
    main()
