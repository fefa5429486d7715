"""xdist scheduling that keeps every test of one camera on one worker.

A camera's tests share a session, a latch and the PTZ position they restore; two workers
driving one dome at once would measure each other. xdist's ``--dist loadgroup`` was meant for
this, but with pytest 9.2 the ``@group`` suffix it puts on node ids is lost and the tests are
spread one by one (pytest-xdist issue #1386); its other modes group by module or class.

So the plugin hands xdist its own scheduler through the documented hook
``pytest_xdist_make_scheduler``: :class:`CameraScheduling` implements xdist's scheduler
interface (``xdist.scheduler.Scheduling``) from scratch, without subclassing xdist's classes.
A unit of work is one camera: every test whose parameters name that camera (the controller
knows the ids from the targets file or fleet spec). A unit goes whole to one worker; a worker
gets its next camera when it is nearly through the last one. Tests of no camera are a unit
each. Only when a worker dies do its remaining tests move: back to the front of the queue, one
unit per camera, for the next worker with room (xdist starts a replacement).

Nothing here imports xdist: a worker is anything with ``send_runtest_some``, ``shutdown`` and
``shutting_down`` (xdist's ``WorkerController``), so the scheduler is tested without xdist.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

__all__ = ["CameraScheduling", "Worker", "camera_of_nodeid"]

#: A worker runs a test only once it knows the next one (or that there is none): refill it
#: while it still holds this many, so it never waits.
LOW_WATER = 2


class Worker(Protocol):
    """What the scheduler uses of xdist's ``WorkerController``."""

    @property
    def shutting_down(self) -> bool: ...

    def send_runtest_some(self, indices: Sequence[int]) -> None: ...

    def shutdown(self) -> None: ...


def camera_of_nodeid(nodeid: str, camera_ids: Iterable[str]) -> str | None:
    """The camera a node id is parametrised with: ``test_x[cam-0001]`` -> ``cam-0001``.

    Parameter ids are joined with ``-``, and camera ids may contain ``-`` too, so the longest
    id that fills whole ``-``-separated positions of the parameter part wins.
    """
    open_at, close_at = nodeid.rfind("["), nodeid.rfind("]")
    if open_at < 0 or close_at < open_at:
        return None
    params = f"-{nodeid[open_at + 1:close_at]}-"
    found = [cid for cid in camera_ids if f"-{cid}-" in params]
    return max(found, key=len) if found else None


class CameraScheduling:
    """xdist's scheduler interface, one camera per unit of work (see the module docstring).

    ``workers``: how many workers the run starts (scheduling begins once they all collected);
    ``log``: xdist's log producer or any callable; ``mismatch``: called with a message when
    workers collected different tests (nothing is scheduled then).
    """

    def __init__(self, camera_ids: Iterable[str], workers: int,
                 log: Callable[..., object] | None = None,
                 mismatch: Callable[[str], object] | None = None) -> None:
        self.camera_ids = tuple(camera_ids)
        self.workers = max(workers, 1)
        self._log = log or (lambda *_args: None)
        self._mismatch = mismatch or (lambda _message: None)
        self._collections: dict[Worker, list[str]] = {}
        self._collection: list[str] | None = None
        #: Tests sent to each worker and not yet complete, in the order it runs them.
        self._pending: dict[Worker, list[int]] = {}
        #: Units not yet sent: each a list of indices into the collection.
        self._queue: deque[list[int]] = deque()

    def unit_of(self, nodeid: str) -> str:
        """The unit a test belongs to: its camera, else an xdist group, else itself."""
        camera = camera_of_nodeid(nodeid, self.camera_ids)
        if camera is not None:
            return f"camera:{camera}"
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return "group:" + nodeid.rsplit("@", maxsplit=1)[-1]
        return nodeid

    # -- xdist's Scheduling interface ------------------------------------------------------------
    @property
    def nodes(self) -> list[Worker]:
        return list(self._pending)

    @property
    def collection_is_completed(self) -> bool:
        return len(self._collections) >= self.workers

    @property
    def tests_finished(self) -> bool:
        return (self.collection_is_completed and not self._queue
                and all(len(p) < LOW_WATER for p in self._pending.values()))

    @property
    def has_pending(self) -> bool:
        return bool(self._queue) or any(self._pending.values())

    def add_node(self, node: Worker) -> None:
        self._pending[node] = []

    def add_node_collection(self, node: Worker, collection: Sequence[str]) -> None:
        if self._collection is not None and list(collection) != self._collection:
            self._log(f"replacement worker {node} collected different tests; not used")
            return
        self._collections[node] = list(collection)

    def mark_test_complete(self, node: Worker, item_index: int, duration: float = 0) -> None:
        self._pending[node].remove(item_index)
        self._refill(node)

    def mark_test_pending(self, item: str) -> None:
        raise NotImplementedError("camera scheduling does not move single tests")

    def remove_pending_tests_from_node(self, node: Worker, indices: Sequence[int]) -> None:
        raise NotImplementedError("camera scheduling does not steal work")

    def remove_node(self, node: Worker) -> str | None:
        """A worker is done, or died: returns the test it died in, and queues the rest of its
        tests again, one unit per camera, first in line."""
        pending = self._pending.pop(node, [])
        if not pending:
            return None
        assert self._collection is not None
        crashed, rest = self._collection[pending[0]], pending[1:]
        self._queue.extendleft(reversed(self._units(rest)))
        for other in self.nodes:
            self._refill(other)
        return crashed

    def schedule(self) -> None:
        """First call (all workers collected): split into units and start every worker; later
        calls (a replacement worker joined): hand out what is queued."""
        assert self.collection_is_completed
        if self._collection is not None:
            for node in self.nodes:
                self._refill(node)
            return
        collections = list(self._collections.values())
        if any(c != collections[0] for c in collections[1:]):
            self._collection = []
            self._mismatch("workers collected different tests: run them without -n to see "
                           "why the collection is not stable")
            return
        self._collection = collections[0]
        self._queue.extend(self._units(range(len(self._collection))))
        for idle in self.nodes[len(self._queue):]:  # more workers than cameras
            del self._pending[idle]
            idle.shutdown()
        for node in self.nodes:
            self._send_unit(node)
        for node in self.nodes:
            self._refill(node)

    # -- internals -------------------------------------------------------------------------------
    def _units(self, indices: Iterable[int]) -> list[list[int]]:
        assert self._collection is not None
        units: dict[str, list[int]] = {}
        for index in indices:
            units.setdefault(self.unit_of(self._collection[index]), []).append(index)
        return list(units.values())

    def _send_unit(self, node: Worker) -> None:
        if self._queue:
            unit = self._queue.popleft()
            self._pending[node].extend(unit)
            node.send_runtest_some(unit)

    def _refill(self, node: Worker) -> None:
        if node.shutting_down:
            return
        if not self._queue:
            node.shutdown()
        elif len(self._pending[node]) <= LOW_WATER:
            self._send_unit(node)
