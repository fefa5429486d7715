"""PTZ waiting against a camera that is slow to start: IDLE at the old position must not be
taken for arrival."""

from __future__ import annotations

import time
from typing import Any

from lxml import etree

from devmgr.model import PtzVector
from devmgr.onvif import actions

STATUS = """<GetStatusResponse xmlns="http://www.onvif.org/ver20/ptz/wsdl"
  xmlns:tt="http://www.onvif.org/ver10/schema"><PTZStatus><tt:Position>
  <tt:PanTilt x="{x}" y="0.0"/><tt:Zoom x="0.0"/></tt:Position>
  <tt:MoveStatus><tt:PanTilt>{state}</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom></tt:MoveStatus>
  </PTZStatus></GetStatusResponse>"""


class LazyHead:
    """Says IDLE at the start position for 0.3 s after a command, then moves for 0.2 s."""

    def __init__(self) -> None:
        self.commanded = time.monotonic()

    async def call(self, service: str, operation: str, params: Any = None) -> Any:
        elapsed = time.monotonic() - self.commanded
        if elapsed < 0.3:
            x, state = 0.0, "IDLE"
        elif elapsed < 0.5:
            x, state = (elapsed - 0.3) / 0.2 * 0.5, "MOVING"
        else:
            x, state = 0.5, "IDLE"
        return etree.fromstring(STATUS.format(x=x, state=state).encode())


async def test_without_a_target_the_minimum_settle_time_is_waited() -> None:
    head = LazyHead()
    status = await actions.wait_settled(head, "P", began=head.commanded,  # type: ignore[arg-type]
                                        interval_s=0.02)
    assert status.position == PtzVector(pan=0.5, tilt=0.0, zoom=0.0)


class StillHead:
    async def call(self, service: str, operation: str, params: Any = None) -> Any:
        return etree.fromstring(STATUS.format(x=0.5, state="IDLE").encode())


async def test_a_head_already_at_its_target_is_not_kept_waiting() -> None:
    began = time.monotonic()
    status = await actions.wait_settled(StillHead(), "P",  # type: ignore[arg-type]
                                        target=PtzVector(pan=0.5), interval_s=0.02)
    assert status.position == PtzVector(pan=0.5, tilt=0.0, zoom=0.0)
    assert time.monotonic() - began < actions.MIN_SETTLE_S
