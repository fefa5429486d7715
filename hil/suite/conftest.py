"""The suite's order on each camera, so that DISCOVERY-1-1-9's 5 s of silence cost no time.

DISCOVERY-1-1-9 switches a camera NonDiscoverable and waits DISCOVERY_TIMEOUT (5 s) for a
multicast Probe to go unanswered, on every camera; one after the other that is most of the
suite's time. So on each camera the tests that need it Discoverable (``hil_discovery``) run
first and DISCOVERY-1-1-9 last, and the case's first part (:func:`hil.discovery.
start_mode_round`: NonDiscoverable, the Probe) starts with the first test after the
Discoverable ones: the camera's other tests, which talk HTTP only, run during the wait, and
DISCOVERY-1-1-9 itself takes the result, reboots and switches the camera back. A round its test
never took (the run ended early) is switched back when the session ends.

The camera's streams are played from the same moment (:mod:`hil.streams`), another connection
beside the HTTP tests; the stream tests take the sample, and the reboot waits for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from hil.errors import HilError
from hil.state import run_of, target_id_of

MODE_CASE = "test_DISCOVERY_1_1_9_discovery_mode"


def _name(item: pytest.Item) -> str:
    return getattr(item, "originalname", item.name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Per camera: the ``hil_discovery`` tests, the others, DISCOVERY-1-1-9 (stable otherwise)."""
    def rank(item: pytest.Item) -> int:
        if _name(item) == MODE_CASE:
            return 2
        return 0 if item.get_closest_marker("hil_discovery") else 1

    cameras = [target_id_of(item) for item in items]
    first_at = {camera: cameras.index(camera) for camera in dict.fromkeys(cameras)}
    items[:] = [item for _key, item in sorted(
        enumerate(items), key=lambda pair: (first_at[cameras[pair[0]]],
                                            rank(pair[1]), pair[0]))]


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """After the guard admitted the camera's first test that needs no Discoverable camera:
    start playing its streams and its DISCOVERY-1-1-9 round, if their tests will run on it."""
    run, camera_id = run_of(item.config), target_id_of(item)
    if (run is None or camera_id is None or _name(item) == MODE_CASE
            or item.get_closest_marker("hil_discovery")):
        return
    camera = run.camera(camera_id)
    if camera_id in _STARTED:
        return
    _STARTED.add(camera_id)
    if (camera.latch is None and {"media", "stream"} <= camera.capabilities
            and _will_run(item, camera_id,
                          lambda other: other.path.name == "test_streams.py")):
        from hil import streams  # noqa: PLC0415

        with contextlib.suppress(HilError):  # the stream tests will meet it and report it
            streams.start(camera)
    if not _will_run(item, camera_id, lambda other: _name(other) == MODE_CASE):
        return
    settings = camera.settings
    facts = camera.facts
    if (settings.read_only or camera.latch is not None or camera.multicast_interface is None
            or "discovery_mode" not in camera.capabilities
            or (facts is not None and facts.discovery_mode == "NonDiscoverable")):
        return  # the case skips for the same reason
    from hil import reboots  # noqa: PLC0415

    with contextlib.suppress(HilError):  # the case itself will meet it again and report it
        reboots.start_mode_round(camera)


_STARTED: set[str] = set()


def _will_run(item: pytest.Item, camera_id: str, which: Callable[[pytest.Item], bool]) -> bool:
    """Is a test of this kind in the run for this camera?"""
    return any(target_id_of(other) == camera_id and which(other)
               for other in item.session.items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from hil import reboots  # noqa: PLC0415

    for camera in reboots.pending_mode_rounds():
        with contextlib.suppress(HilError):
            camera.call("device", "SetDiscoveryMode", {"DiscoveryMode": "Discoverable"})
