"""One simulated camera: ONVIF over HTTP, WS-Discovery, SNMP and snapshots on one address.

    >>> import asyncio
    >>> from simulators.camera import SimulatedCamera
    >>> from simulators.spec import CameraSpec
    >>> async def main():
    ...     spec = CameraSpec.example().with_network(http_port=0, discovery_port=0)
    ...     async with SimulatedCamera(spec) as camera:
    ...         return camera.device_url.startswith("http://127.0.0.1:")
    >>> asyncio.run(main())
    True

Lifecycle: ``CREATED -> RUNNING -> STOPPED``; ``stop()`` is idempotent and always releases the
sockets, and a reboot passes through ``REBOOTING`` (silent on every protocol, as a real unit is)
back to ``RUNNING``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from enum import Enum
from types import TracebackType
from typing import Any

from simulators.discovery import DiscoveryResponder
from simulators.scene import snapshot_jpeg
from simulators.snmp_agent import SnmpAgent
from simulators.soap.server import HttpFrontend
from simulators.spec import CameraSpec
from simulators.state import CameraState

log = logging.getLogger(__name__)


class CameraStatus(Enum):
    CREATED = "created"
    RUNNING = "running"
    REBOOTING = "rebooting"
    STOPPED = "stopped"


class CameraStateError(RuntimeError):
    """The camera is not in a state that allows the call; the message names the state."""


class SimulatedCamera:
    """A camera built from a ``CameraSpec``. Async context manager; owned by one event loop."""

    def __init__(self, spec: CameraSpec, *, reboot_seconds: float = 1.0,
                 rng: random.Random | None = None) -> None:
        self.spec = spec
        self.state = CameraState(spec)
        self.status = CameraStatus.CREATED
        self.reboot_seconds = reboot_seconds
        self._rng = rng or random.Random(spec.identity.serial)
        self.http = HttpFrontend(self.state, spec.network.address, spec.network.http_port,
                                 control=self, render=self._render)
        self.discovery = DiscoveryResponder(self.state, spec.network.address,
                                            xaddrs=lambda: [self.device_url], rng=self._rng)
        self.snmp: SnmpAgent | None = None
        if spec.snmp.enabled:
            self.snmp = SnmpAgent(self.state, spec.network.address, spec.snmp.port)
        self._background: set[asyncio.Task[None]] = set()

    # -- addresses -----------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self.spec.network.address

    @property
    def device_url(self) -> str:
        return f"{self.http.base_url}/onvif/device_service"

    @property
    def snapshot_url(self) -> str:
        return f"{self.http.base_url}/onvif/snapshot?profile=Profile_1"

    @property
    def http_port(self) -> int:
        return self.http.port

    @property
    def snmp_port(self) -> int | None:
        return self.snmp.port if self.snmp is not None else None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self.status is not CameraStatus.CREATED:
            raise CameraStateError(f"camera {self.spec.id} cannot start: it is {self.status.value}")
        try:
            await self._start_services()
        except BaseException:
            await self._stop_services(say_bye=False)
            self.status = CameraStatus.STOPPED
            raise
        self.status = CameraStatus.RUNNING

    async def _start_services(self) -> None:
        await self.http.start()
        if self.snmp is not None:
            await self.snmp.start()
        # Discovery last: Hello announces XAddrs, which must already answer.
        await self.discovery.start()

    async def _stop_services(self, say_bye: bool = True) -> None:
        if say_bye:
            await self.discovery.stop()
        else:
            await self.discovery.stop_silently()
        if self.snmp is not None:
            await self.snmp.stop()
        await self.http.stop()

    async def stop(self) -> None:
        """Say Bye, close every socket. Safe to call twice, or on a camera that never started."""
        if self.status is CameraStatus.STOPPED:
            return
        for task in list(self._background):
            task.cancel()
        was_running = self.status is CameraStatus.RUNNING
        self.status = CameraStatus.STOPPED
        await self._stop_services(say_bye=was_running)

    async def reboot(self) -> None:
        """What SystemReboot does: Bye, silence for ``reboot_seconds``, then Hello again."""
        if self.status is not CameraStatus.RUNNING:
            raise CameraStateError(f"camera {self.spec.id} cannot reboot: it is "
                                   f"{self.status.value}")
        self.status = CameraStatus.REBOOTING
        await self._stop_services()
        await asyncio.sleep(self.reboot_seconds)
        self.state.reboot()
        self.http.port = self.http.port  # keep the address the clients know
        await self._start_services()
        self.status = CameraStatus.RUNNING

    # -- CameraControl: what SOAP handlers ask for beyond the state ---------------------------
    def request_reboot(self) -> None:
        async def later() -> None:
            await asyncio.sleep(0.2)  # let the SystemReboot response go out first
            await self.reboot()

        self._in_background(later())

    def request_discovery_mode(self, discoverable: bool) -> None:
        self._in_background(self.discovery.set_discoverable(discoverable))

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _render(self, state: CameraState, width: int, height: int) -> bytes:
        # Rendering is CPU-bound numpy/OpenCV work that releases the GIL: keep it off the loop.
        return await asyncio.to_thread(snapshot_jpeg, state, size=(width, height))

    async def __aenter__(self) -> SimulatedCamera:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
