"""Run simulated cameras on a background event loop and drive them from synchronous code.

Tests, scripts and the CLI often want a camera "over there" while they act as a client in the
foreground: ``CameraHost`` owns an event loop in a daemon thread, and ``CameraHandle`` marshals
each call onto it.

    >>> from simulators.host import CameraHost
    >>> from simulators.spec import CameraSpec
    >>> with CameraHost() as host:
    ...     cam = host.start(CameraSpec.example().with_network(http_port=0, discovery_port=0))
    ...     cam.ptz_position().pan
    0.0
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from camfleet.model import MoveStatus, PtzVector
from simulators.camera import CameraStatus, SimulatedCamera
from simulators.spec import CameraSpec

T = TypeVar("T")


class CameraHost:
    """An event loop in a thread, hosting any number of cameras."""

    def __init__(self, call_timeout_s: float = 30.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="camera-host",
                                        daemon=True)
        self._thread.start()
        self._timeout = call_timeout_s
        self.cameras: list[CameraHandle] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the host loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(self._timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the host loop's thread (state is owned by that thread)."""
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def start(self, spec: CameraSpec, **options: Any) -> CameraHandle:
        async def create() -> SimulatedCamera:
            camera = SimulatedCamera(spec, **options)
            await camera.start()
            return camera

        handle = CameraHandle(self, self.run(create()))
        self.cameras.append(handle)
        return handle

    def close(self) -> None:
        """Stop every camera (each says Bye), then the loop. Idempotent."""
        if not self._loop.is_running():
            return
        for handle in self.cameras:
            handle.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> CameraHost:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class CameraHandle:
    """Synchronous access to one camera on a ``CameraHost``: query it, change it, stop it."""

    def __init__(self, host: CameraHost, camera: SimulatedCamera) -> None:
        self._host = host
        self.camera = camera

    # -- where it is ---------------------------------------------------------------------------
    @property
    def spec(self) -> CameraSpec:
        return self.camera.spec

    @property
    def address(self) -> str:
        return self.camera.address

    @property
    def http_port(self) -> int:
        return self.camera.http_port

    @property
    def device_url(self) -> str:
        return self.camera.device_url

    @property
    def snapshot_url(self) -> str:
        return self.camera.snapshot_url

    @property
    def snmp_port(self) -> int | None:
        return self.camera.snmp_port

    @property
    def status(self) -> CameraStatus:
        return self.camera.status

    # -- what it really is (the truth tests compare against) ----------------------------------
    def ptz_position(self) -> PtzVector:
        return self._host.call(self.camera.state.ptz.position)

    def move_status(self) -> tuple[MoveStatus, MoveStatus]:
        return self._host.call(self.camera.state.ptz.status)

    def snapshot(self) -> bytes:
        """The JPEG the camera would serve now, rendered without going through HTTP."""
        state = self.camera.state
        optics = state.spec.optics
        return self._host.run(self.camera._render(state, optics.width, optics.height))

    # -- changing it ---------------------------------------------------------------------------
    def jump_to(self, position: PtzVector) -> None:
        self._host.call(lambda: self.camera.state.ptz.jump_to(position))

    def set_clock_offset(self, seconds: float) -> None:
        def apply() -> None:
            self.camera.state.clock_offset_s = seconds

        self._host.call(apply)

    def reboot(self) -> None:
        self._host.run(self.camera.reboot())

    def stop(self) -> None:
        self._host.run(self.camera.stop())
