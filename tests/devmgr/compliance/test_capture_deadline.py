"""One camera's views have a deadline of their own: a dome slow at every preset is cut off,
keeps the views it gave, and its head still goes back to where it was."""

from __future__ import annotations

import asyncio
import dataclasses

from camfleet.errors import ErrorKind
from camfleet.model import Preset, PtzVector
from devmgr.compliance.capture import capture_views, snapshot_profile
from devmgr.compliance.commission import open_session
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.onvif.ptz import absolute_move
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember
from tests.conftest import free_udp_port
from tests.devmgr.compliance.fleets import quick_dome

PRESETS = [Preset(token=str(i), name=f"view {i}",
                  position=PtzVector(pan=0.2 * i - 0.5, tilt=0.1, zoom=0.0)) for i in range(4)]
START = PtzVector(pan=0.7, tilt=-0.2, zoom=0.0)


def test_a_dome_slow_at_every_view_is_cut_off_and_its_head_goes_back() -> None:
    spec = quick_dome(1, "slow-dome", presets=PRESETS)
    with Fleet([FleetMember(spec)], discovery_port=free_udp_port()) as fleet:
        target = fleet.manifest().targets[0]
        # Each snapshot takes 1.5 s; five views (home and four presets) would take 7.5 s.
        fleet.set_faults(target.id, [{"kind": "latency", "ms": 1500, "ops": ["Snapshot"]}])
        timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, views=4.0)
        before: dict[str, float] = {}

        async def run() -> tuple[list[str], list[tuple[ErrorKind, str, str]]]:
            [inv] = await sweep_with_snmp([target], concurrency=1, timeouts=DEFAULT_TIMEOUTS,
                                          snmp=False, progress=None)
            async with OnvifPool(limit=4, timeouts=timeouts) as pool:
                session = await open_session(pool, target)
                profile = snapshot_profile(inv)
                assert profile is not None
                await absolute_move(session, profile.token, START)
                await asyncio.sleep(0.5)  # arrived (720 deg/s)
                before.update(fleet.truth(target.id)["ptz"]["position"])
                began = asyncio.get_running_loop().time()
                capture = await capture_views(session, inv, move=True)
                took = asyncio.get_running_loop().time() - began
            assert took < 4.0 + 3.0  # the deadline, and the head's way back
            return ([v.name for v in capture.views],
                    [(e.kind, e.operation, e.message) for e in capture.errors])

        names, errors = asyncio.run(run())
        where = fleet.truth(target.id)["ptz"]["position"]
    assert 1 <= len(names) < 5, names  # some views, not all
    assert errors == [(ErrorKind.TIMEOUT, "views",
                       f"{len(names)} of 5 views taken within 4 s; the rest not")]
    assert abs(where["pan"] - before["pan"]) < 0.5  # degrees
    assert abs(where["tilt"] - before["tilt"]) < 0.5
