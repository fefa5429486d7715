"""A simulated camera's RTSP face: its profiles' streams of the rendered view, live.

:class:`CameraStreams` runs one :class:`~simulators.rtsp.RtspServer` on the camera's address
with a stream per media profile, encoded at the profile's encoder configuration
(``CameraState.encoders``) and guarded by HTTP Digest with the camera's own users. Nothing is
rendered or encoded while nobody plays.

Each stream's pictures come from a :class:`ViewSource`: the view rendered at the stream's
size, rendered again only when the view changes (a PTZ move, a fault, and once a second in a
living world: its light, weather and traffic as the snapshots show them), with an on-screen
clock as real cameras burn in. The clock is what makes a live picture change every second
when nothing in view moves, and what a ``frozen`` stream stops.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import cv2
import numpy as np

from simulators.fault_base import FaultBase
from simulators.rtsp import RtspServer
from simulators.rtsp.session import Placement, here
from simulators.scene import ImageEffect, render_state
from simulators.state import CameraState

__all__ = ["CameraStreams", "ViewSource"]

#: The image faults in force, with a key that changes when they do.
EffectsNow = Callable[[], tuple[Hashable, Sequence[ImageEffect]]]


class ViewSource:
    """Pictures of one profile's stream (called on the stream's worker thread)."""

    def __init__(self, state: CameraState, token: str, effects: EffectsNow) -> None:
        self._state = state
        self._token = token
        self._effects = effects
        self._key: Hashable = None
        self._view: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        state = self._state
        config = state.encoders[self._token]
        size = (config.width, config.height)
        effects_key, effects = self._effects()
        key = (state.view_direction(), state.mount, state.spec.scene_seed, state.spec.optics,
               size, effects_key)
        if self._view is None or key != self._key:
            self._view = render_state(state, effects, size)
            self._key = key
        picture = self._view.copy()
        _burn_in_clock(picture, state.utc_now().strftime("%Y-%m-%d %H:%M:%S"))
        return picture


def _burn_in_clock(picture: np.ndarray, text: str) -> None:
    """White digits on a black box, as camera OSDs draw them: legible on any view, and a
    changed digit changes its pixels by most of the grey range (what liveness checks see)."""
    height, picture_width = picture.shape[:2]
    scale = max(0.8, height / 720)
    # Small pictures (QCIF) get a smaller clock rather than one cut off at the right edge.
    natural = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)[0][0]
    scale = min(scale, scale * (picture_width - 24) / natural)
    origin = (int(12 * scale), int(34 * scale))
    # Bold enough to stay legible in a sub-stream scaled down from it.
    thickness = max(1, round(3 * scale))
    (width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                                     thickness)
    pad = int(6 * scale)
    cv2.rectangle(picture, (origin[0] - pad, origin[1] - text_height - pad),
                  (origin[0] + width + pad, origin[1] + baseline + pad), (0, 0, 0), cv2.FILLED)
    cv2.putText(picture, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                thickness, cv2.LINE_AA)


class CameraStreams:
    """The RTSP server of one camera, following its state, faults and power.

    Lifecycle: :meth:`power_on` (binds the port: ``CameraState.rtsp_port`` becomes the real
    one), then :meth:`set_powered`, :meth:`set_faults`, :meth:`reconfigure` and
    :meth:`readdress` as the camera goes through them, then :meth:`aclose` (idempotent).
    """

    def __init__(self, state: CameraState, address: str, effects: EffectsNow, *,
                 placement: Placement = here) -> None:
        self._state = state
        self._started = False

        def credentials() -> dict[str, str]:
            return {user.username: user.password for user in state.spec.users}

        self.server = RtspServer(address, state.spec.network.effective_rtsp_port,
                                 credentials=credentials,
                                 realm=f"{state.spec.identity.manufacturer} camera",
                                 placement=placement)
        for token, config in state.encoders.items():
            self.server.add_stream(config, ViewSource(state, token, effects))

    @property
    def port(self) -> int:
        return self.server.port

    async def power_on(self) -> None:
        """Open the port: the first time binds it (``CameraState.rtsp_port`` becomes the real
        one), later times open the same port again (after a reboot)."""
        if not self._started:
            self._started = True
            await self.server.start()
        else:
            await self.server.set_powered(True)
        self._state.rtsp_port = self.server.port

    async def set_powered(self, powered: bool) -> None:
        if self._started:
            await self.server.set_powered(powered)

    async def set_faults(self, faults: Sequence[FaultBase]) -> None:
        await self.server.set_faults(faults)

    def reconfigure(self, token: str) -> None:
        """The profile's encoder configuration changed: its stream follows."""
        self.server.reconfigure(self._state.encoders[token])

    def readdress(self, address: str) -> None:
        self.server.readdress(address)

    async def aclose(self) -> None:
        await self.server.aclose()
