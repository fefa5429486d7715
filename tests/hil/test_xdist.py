"""Scheduling by camera, driven the way xdist's controller drives a scheduler: every test of a
camera runs on one worker, every test runs once, a dead worker's tests go to its replacement."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from hil.hooks import schedules_by_camera
from hil.xdist import CameraScheduling

CAMERAS = [f"cam-{i:04d}" for i in range(5)] + ["gate-north", "gate-north-2"]
TESTS = ["test_ptz.py::test_move", "test_device.py::test_clock", "test_device.py::test_ntp"]
COLLECTION = [f"{t}[{c}]" for t in TESTS for c in CAMERAS] + ["test_plain.py::test_alone",
                                                              "test_plain.py::test_other"]


@dataclass(eq=False)
class FakeWorker:
    """An xdist worker as the scheduler sees it: a queue it runs once it knows the next test."""

    name: str
    queue: list[int] = field(default_factory=list)
    ran: list[int] = field(default_factory=list)
    shutting_down: bool = False

    def send_runtest_some(self, indices: Sequence[int]) -> None:
        assert not self.shutting_down
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def can_run(self) -> bool:
        return len(self.queue) >= 2 or (self.shutting_down and bool(self.queue))


def start(workers: int, collections: list[list[str]] | None = None,
          ) -> tuple[CameraScheduling, list[FakeWorker], list[str]]:
    mismatches: list[str] = []
    sched = CameraScheduling(CAMERAS, workers, mismatch=mismatches.append)
    nodes = [FakeWorker(f"gw{i}") for i in range(workers)]
    for node, collection in zip(nodes, collections or [COLLECTION] * workers, strict=True):
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    assert sched.collection_is_completed
    sched.schedule()
    return sched, nodes, mismatches


def run_all(sched: CameraScheduling, nodes: list[FakeWorker], seed: int = 0) -> None:
    """Workers finish tests in a random interleaving until the scheduler says it is done."""
    rng = random.Random(seed)
    while not sched.tests_finished:
        node = rng.choice([n for n in nodes if n.can_run()])
        index = node.queue.pop(0)
        node.ran.append(index)
        sched.mark_test_complete(node, index)
    for node in nodes:  # the controller tells everyone to stop; each finishes its queue
        node.shutdown()
        while node.queue:
            index = node.queue.pop(0)
            node.ran.append(index)
            sched.mark_test_complete(node, index)


def cameras_per_worker(nodes: list[FakeWorker]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node in nodes:
        for index in node.ran:
            nodeid = COLLECTION[index]
            camera = nodeid[nodeid.index("[") + 1:-1] if "[" in nodeid else nodeid
            found.setdefault(camera, set()).add(node.name)
    return found


@pytest.mark.parametrize("seed", range(5))
def test_each_camera_runs_on_one_worker_and_every_test_once(seed: int) -> None:
    sched, nodes, mismatches = start(3)
    run_all(sched, nodes, seed)
    assert sorted(i for n in nodes for i in n.ran) == list(range(len(COLLECTION)))
    workers = cameras_per_worker(nodes)
    assert set(workers) >= set(CAMERAS)
    assert all(len(w) == 1 for w in workers.values()), workers
    assert all(n.ran for n in nodes)  # all three busy
    assert not sched.has_pending
    assert not mismatches


def test_camera_ids_that_prefix_each_other_are_not_mixed_up() -> None:
    sched = CameraScheduling(CAMERAS, 1)
    assert sched.unit_of("t.py::test_x[gate-north-2]") == "camera:gate-north-2"
    assert sched.unit_of("t.py::test_x[gate-north]") == "camera:gate-north"
    assert sched.unit_of("t.py::test_x[gate-north]@lab") == "camera:gate-north"
    assert sched.unit_of("t.py::test_y@lab") == "group:lab"
    assert sched.unit_of("t.py::test_z[1]") == "t.py::test_z[1]"


def test_more_workers_than_cameras_stop_the_idle_ones() -> None:
    collection = [f"t.py::test_a[{c}]" for c in CAMERAS[:2]]
    sched = CameraScheduling(CAMERAS, 4)
    nodes = [FakeWorker(f"gw{i}") for i in range(4)]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    assert [n.queue for n in nodes] == [[0], [1], [], []]
    assert all(n.shutting_down for n in nodes)
    assert sched.nodes == nodes[:2]


def test_a_dead_workers_tests_go_to_its_replacement_as_one_unit_per_camera() -> None:
    sched, nodes, _ = start(2)
    victim = nodes[0]
    running = COLLECTION[victim.queue[0]]
    left = victim.queue[1:]
    assert sched.remove_node(victim) == running  # xdist reports this one as crashed
    replacement = FakeWorker("gw2")
    sched.add_node(replacement)
    sched.add_node_collection(replacement, COLLECTION)
    sched.schedule()
    assert replacement.queue[:len(left)] == left
    nodes = [nodes[1], replacement]
    run_all(sched, nodes)
    ran = sorted(i for n in nodes for i in n.ran)
    assert ran == sorted(set(range(len(COLLECTION))) - {COLLECTION.index(running)})
    assert all(len(w) == 1 for w in cameras_per_worker(nodes).values())


def test_workers_that_collected_different_tests_get_nothing() -> None:
    sched, nodes, mismatches = start(2, [COLLECTION, COLLECTION[:-1]])
    assert mismatches
    assert "collected different tests" in mismatches[0]
    assert not any(n.queue for n in nodes)
    assert sched.tests_finished


def test_a_finished_worker_leaves_without_a_crash() -> None:
    sched, nodes, _ = start(2)
    run_all(sched, nodes)
    assert [sched.remove_node(n) for n in nodes] == [None, None]
    assert sched.nodes == []


def test_schedules_by_camera_unless_another_mode_was_asked_for() -> None:
    assert schedules_by_camera("load", ["-n", "2"])  # xdist's default for -n
    assert schedules_by_camera("loadgroup", ["--dist", "loadgroup"])
    assert not schedules_by_camera("load", ["--dist=load"])
    assert not schedules_by_camera("load", ["-d"])
    assert not schedules_by_camera("loadscope", ["--dist", "loadscope"])
    assert not schedules_by_camera("no", [])
