"""xdist scheduling that keeps every test of one camera on one worker.

A camera's tests share a session, a latch and the PTZ position they restore; two workers
driving one dome at once would measure each other. xdist's ``--dist loadgroup`` is meant for
this: it groups tests by their ``xdist_group`` mark, which the plugin sets per camera. But the
mark reaches the scheduler only as an ``@group`` suffix that workers append to node ids, and
with pytest 9.2's structured node ids that suffix is silently lost (pytest-xdist issue #1386:
tests are then spread one by one). So the scheduler here groups by the suffix when there is one
and otherwise by the camera id in the test's parameters, which the controller knows from the
targets file. Imported only when xdist runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

__all__ = ["CameraScheduling", "camera_of_nodeid"]


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


class CameraScheduling(LoadGroupScheduling):  # type: ignore[misc]
    """``loadgroup`` whose groups are cameras (see the module docstring)."""

    def __init__(self, config: Any, log: Any, camera_ids: Iterable[str]) -> None:
        super().__init__(config, log)
        self.camera_ids = tuple(camera_ids)

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return nodeid.rsplit("@", maxsplit=1)[-1]
        camera = camera_of_nodeid(nodeid, self.camera_ids)
        return f"camera:{camera}" if camera is not None else nodeid
