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
sockets. A reboot passes through ``REBOOTING`` back to ``RUNNING``; the ``removed`` fault
holds the camera in ``REMOVED`` (silent on every protocol, no Bye) until it is cleared.

Faults are data (``simulators.faults``): ``set_faults()`` replaces the set in force, and the
camera reconciles itself: unit faults are folded into an effective spec, wire faults act in
the HTTP endpoint, image faults in the renderer. A ``readdressed`` fault moves every socket
to the new address (Bye from the old one, Hello from the new); :attr:`SimulatedCamera.address`
is where the camera answers now, ``base_spec.network.address`` where it was built to be.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any

from camfleet.model import Preset
from simulators.discovery import DiscoveryResponder, ResponderState, SharedGroupSocket
from simulators.events import BLURRY, MOTION, SCENE_CHANGE
from simulators.faults import (
    ACTIONS,
    Blurred,
    Fault,
    MountShifted,
    Obstructed,
    QuirkAnswersAnyProbe,
    QuirkNoAnnouncements,
    Removed,
    ServicesDown,
    clock_offset,
    effective_spec,
    has,
    mount_with_shifts,
    preset_offsets,
)
from simulators.scene import ImageEffect, snapshot_jpeg
from simulators.scene.living import Conditions, conditions_at, living_effects, pose_of
from simulators.snmp_agent import HostedAgent, SnmpAgent, SnmpAgentHost
from simulators.soap.http import CameraEndpoint, HttpServer
from simulators.spec import CameraSpec, LivingWorld
from simulators.state import CameraState
from simulators.streaming import CameraStreams

log = logging.getLogger(__name__)

#: How long tns1:VideoSource/MotionAlarm stays true after the view came to rest.
MOTION_HOLD_S = 1.0


class CameraStatus(Enum):
    CREATED = "created"
    RUNNING = "running"
    REBOOTING = "rebooting"
    REMOVED = "removed"
    STOPPED = "stopped"


class CameraStateError(RuntimeError):
    """The camera is not in a state that allows the call; the message names the state."""


class FaultRefusedError(RuntimeError):
    """The camera cannot take these faults where it runs (an address it cannot bind, a
    namespace whose address the fleet owns); nothing was changed. The message says why."""


SocketPlacement = Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _here() -> AsyncIterator[None]:
    yield


@dataclass
class SharedTransports:
    """Sockets and servers that many cameras of one event loop share (a fleet worker).

    A lone camera gets private ones. ``group`` is the WS-Discovery multicast socket; sharing it
    turns the N² Hello/Bye deliveries of N cameras into N. ``placement`` is entered whenever
    the camera opens sockets (start, reboot, a replaced unit coming up): on the netns backend
    it switches into the camera's network namespace, so sockets land there every time. A
    ``readdressed`` camera there moves to an address its namespace's interface holds: the
    fleet gives it one first (``NetnsNetwork.add_address``).
    """

    http: HttpServer = field(default_factory=HttpServer)
    group: SharedGroupSocket | None = None
    #: One pysnmp engine for all the loop's cameras (~60 KiB per camera instead of ~700).
    snmp: SnmpAgentHost | None = None
    placement: SocketPlacement = _here


class SimulatedCamera:
    """A camera built from a ``CameraSpec``. Async context manager; owned by one event loop."""

    def __init__(self, spec: CameraSpec, *, reboot_seconds: float = 1.0,
                 faults: Sequence[Fault] = (), shared: SharedTransports | None = None,
                 rng: random.Random | None = None) -> None:
        self.base_spec = spec
        self.state = CameraState(spec)
        #: The living world around the camera (``simulators.scene.living``), and when its
        #: clock was set.
        self.world, self._world_since = spec.world, time.monotonic()
        self.status = CameraStatus.CREATED
        self.reboot_seconds = reboot_seconds
        self.faults: list[Fault] = []
        self._rng = rng or random.Random(spec.identity.serial)
        self._own_http = shared is None
        self._shared = shared or SharedTransports()
        self.http = CameraEndpoint(self.state, spec.network.address, spec.network.http_port,
                                   control=self, render=self._render,
                                   faults=lambda: self.faults, rng=self._rng)
        self.discovery = DiscoveryResponder(self.state, spec.network.address,
                                            xaddrs=lambda: [self.device_url], rng=self._rng,
                                            group=self._shared.group)
        #: RTSP, on the port GetStreamUri names; encodes only while someone plays.
        self.streams = CameraStreams(self.state, spec.network.address, self._effects_now,
                                     placement=self._shared.placement)
        self._effects: tuple[Hashable, list[ImageEffect]] = ((), [])
        # Motion is sensed only while someone subscribes to events.
        self._last_view = self.state.view_direction()
        self._last_motion = self._last_sensed = -math.inf
        self.state.events.poll = self._sense_motion
        self._sense_motion()
        self._raise_tamper_events()
        self.snmp: HostedAgent | None = None
        if spec.snmp.enabled:
            host = self._shared.snmp
            self.snmp = (host.agent(self.state, spec.network.address, spec.snmp.port)
                         if host is not None
                         else SnmpAgent(self.state, spec.network.address, spec.snmp.port))
        self._background: set[asyncio.Task[None]] = set()
        self._initial_faults = list(faults)
        self._base_presets: dict[str, Preset] = {}

    # -- addresses -----------------------------------------------------------------------------
    @property
    def spec(self) -> CameraSpec:
        """The camera as it is now: the base spec with the unit faults in force."""
        return self.state.spec

    @property
    def address(self) -> str:
        """Where the camera answers now (a ``readdressed`` fault moves it)."""
        return self.http.address

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
            raise CameraStateError(f"camera {self.base_spec.id} cannot start: it is "
                                   f"{self.status.value}")
        try:
            await self._start_services()
        except BaseException:
            await self._stop_services(say_bye=False)
            if self._own_http:
                await self._shared.http.close()
            self.status = CameraStatus.STOPPED
            raise
        self.status = CameraStatus.RUNNING
        if self._initial_faults:
            await self.set_faults(self._initial_faults)

    async def _start_services(self) -> None:
        async with self._shared.placement():
            await self._shared.http.listen(self.http)
            await self.streams.power_on()
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
        await self.streams.set_powered(False)
        await self._shared.http.unlisten(self.http)

    async def stop(self) -> None:
        """Say Bye, close every socket. Safe to call twice, or on a camera that never started."""
        if self.status is CameraStatus.STOPPED:
            return
        for task in list(self._background):
            task.cancel()
        say_bye = self.status is CameraStatus.RUNNING
        self.status = CameraStatus.STOPPED
        await self._stop_services(say_bye=say_bye)
        await self.streams.aclose()
        self.state.events.close()
        if self._own_http:
            await self._shared.http.close()

    async def reboot(self) -> None:
        """What SystemReboot does: Bye, silence for ``reboot_seconds``, then Hello again."""
        if self.status is not CameraStatus.RUNNING:
            raise CameraStateError(f"camera {self.base_spec.id} cannot reboot: it is "
                                   f"{self.status.value}")
        self.status = CameraStatus.REBOOTING
        await self._stop_services()
        await asyncio.sleep(self.reboot_seconds)
        self.state.reboot()
        if self.status is not CameraStatus.REBOOTING:
            return  # stopped or removed while it was down
        await self._start_services()
        self.status = CameraStatus.RUNNING

    # -- faults --------------------------------------------------------------------------------
    async def set_faults(self, faults: Sequence[Fault]) -> None:
        """Put exactly these faults in force (an empty list clears them all).

        Actions (``reboot``) run once and are not kept.
        """
        if self.status in (CameraStatus.CREATED, CameraStatus.STOPPED):
            raise CameraStateError(f"camera {self.base_spec.id} cannot take faults: it is "
                                   f"{self.status.value}")
        lasting: list[Fault] = [f for f in faults if f.kind not in ACTIONS]
        actions = [f for f in faults if f.kind in ACTIONS]
        new_address = effective_spec(self.base_spec, lasting).network.address
        if new_address != self.address:
            async with self._shared.placement():
                self._check_readdressable(new_address)
        was_removed = self.status is CameraStatus.REMOVED
        # Taken away, or hung: silent either way (the switch tells them apart).
        removed = any(isinstance(f, Removed | ServicesDown) for f in lasting)
        if removed and not was_removed:
            if self.status is CameraStatus.RUNNING:
                await self._stop_services(say_bye=False)
            self.status = CameraStatus.REMOVED
        self.faults = lasting
        await self._reconcile(announce=self.status is CameraStatus.RUNNING)
        await self.streams.set_faults(self.faults)
        self._raise_tamper_events()
        if was_removed and not removed:
            self.status = CameraStatus.REBOOTING  # powered up again: it boots, which takes
            self.state.reboot()                   # the time a reboot takes
            await asyncio.sleep(self.reboot_seconds)
            await self._start_services()
            self.status = CameraStatus.RUNNING
        for _action in actions:
            if self.status is CameraStatus.RUNNING:
                await self.reboot()

    def _check_readdressable(self, address: str) -> None:
        """Refuse a move the camera could not complete, before anything changes (called where
        its sockets are placed: in its network namespace, if it has one)."""
        wanted = [(socket.SOCK_STREAM, self.http.port, "HTTP"),
                  (socket.SOCK_STREAM, self.streams.port, "RTSP")]
        if self.snmp is not None:
            wanted.append((socket.SOCK_DGRAM, self.snmp.port, "SNMP"))
        wanted.append((socket.SOCK_DGRAM, self.discovery.port, "WS-Discovery"))
        for kind, port, what in wanted:
            with socket.socket(socket.AF_INET, kind) as probe:
                if kind == socket.SOCK_STREAM:
                    # As aiohttp binds: connections left in TIME_WAIT by an earlier stay
                    # at this address must not block a move back.
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((address, port))
                except OSError as exc:
                    raise FaultRefusedError(
                        f"camera {self.base_spec.id} cannot be readdressed to {address}: "
                        f"binding its {what} port {port} there fails ({exc.strerror}); on the "
                        "loopback any free 127.0.0.0/8 address works, in a network namespace "
                        "one its interface holds (a netns fleet adds it)") from exc

    async def _readdress(self, address: str) -> None:
        """Point every protocol at ``address``; sockets still open on the old one are closed
        first (without Bye: a caller that announces has said it already)."""
        await self._shared.http.unlisten(self.http)
        self.http.readdress(address)
        await self.streams.set_powered(False)
        self.streams.readdress(address)
        if self.snmp is not None:
            await self.snmp.stop()
            self.snmp.readdress(address)
        if self.discovery.lifecycle is ResponderState.RUNNING:
            await self.discovery.stop_silently()
        self.discovery.readdress(address)

    async def _reconcile(self, announce: bool) -> None:
        """Fold the unit faults into the state; announce identity and address changes."""
        new_spec = effective_spec(self.base_spec, self.faults)
        old_spec = self.state.spec
        identity_changed = new_spec.identity != old_spec.identity
        address = new_spec.network.address
        readdressed = address != self.address
        rejoin = announce and (identity_changed or readdressed)
        if rejoin:
            # Another unit on the same address, or the same unit on another: the old endpoint
            # says Bye from where it was (with the old EndpointReference), then rejoins.
            await self.discovery.stop()
            if self.snmp is not None:
                await self.snmp.stop()
        self.state.apply_spec(new_spec)
        self.state.mount = mount_with_shifts(new_spec.mount, self.faults)
        self.state.clock_offset_s = clock_offset(self.faults)
        self.discovery.answer_any = has(self.faults, QuirkAnswersAnyProbe)
        self.discovery.silent = has(self.faults, QuirkNoAnnouncements)
        self._apply_preset_offsets()
        if readdressed:
            await self._readdress(address)
        if rejoin:
            async with self._shared.placement():
                if readdressed:
                    await self._shared.http.listen(self.http)
                    await self.streams.set_powered(True)
                if self.snmp is not None:
                    await self.snmp.start()
                # Hello last, with the XAddrs of wherever HTTP now answers.
                await self.discovery.start()
        elif self.snmp is not None and self.snmp.running:
            self.snmp.refresh()
        # Only a change of the non_discoverable fault touches the mode, so a SetDiscoveryMode
        # from a client survives unrelated fault changes.
        if new_spec.network.discoverable != old_spec.network.discoverable:
            if announce:
                await self.discovery.set_discoverable(new_spec.network.discoverable)
            else:
                self.state.discoverable = new_spec.network.discoverable

    def _apply_preset_offsets(self) -> None:
        """Presets re-stored elsewhere by ``preset_moved``; clearing puts them back."""
        offsets = preset_offsets(self.faults)
        for token, base in list(self._base_presets.items()):
            if token not in offsets:
                self.state.presets[token] = base
                del self._base_presets[token]
        for token, delta in offsets.items():
            found = self._base_presets.get(token) or self.state.presets.get(token)
            if found is None:
                continue
            base = self._base_presets[token] = found
            moved = base.position.model_copy(update={"pan": base.position.pan + delta.pan,
                                                     "tilt": base.position.tilt + delta.tilt})
            self.state.presets[token] = base.model_copy(update={"position": moved})

    def _effects_now(self) -> tuple[Hashable, list[ImageEffect]]:
        """The image effects in force and a key that changes with them (built once per
        change: the streams ask at every picture). A living world changes the key every
        second: its traffic, weather and light move in the stream once a second, as a whole
        picture drawn again (one per picture would cost a render each)."""
        key: tuple[Hashable, ...] = tuple(f.model_dump_json() for f in self.faults
                                          if isinstance(f, (Obstructed, Blurred)))
        now = self.world_now()
        if now is not None:
            key += (self._world_since, int(time.monotonic()), self.state.view_direction())
        if key != self._effects[0]:
            self._effects = (key, self._effects_in(now, self.state))
        return self._effects

    def _effects_in(self, now: Conditions | None, state: CameraState) -> list[ImageEffect]:
        """The world's conditions ``now`` first (none: the frozen world), then the faults in
        front of it."""
        effects = self.image_effects()
        return effects if now is None else living_effects(now, pose_of(state)) + effects

    # -- events --------------------------------------------------------------------------------
    def _raise_tamper_events(self) -> None:
        """Tamper detection, as camera analytics report it: the scene changed (a shifted
        mount, an obstruction) or the picture is out of focus."""
        events = self.state.events
        events.set_property(SCENE_CHANGE, any(isinstance(f, (MountShifted, Obstructed))
                                              for f in self.faults))
        events.set_property(BLURRY, has(self.faults, Blurred))

    def _sense_motion(self) -> None:
        # The only thing that moves in a static scene's view is the view itself. A move shorter
        # than a poll is still motion (the view differs from the last poll's), and the alarm
        # holds MOTION_HOLD_S after the view comes to rest, as cameras' motion detection does.
        # The first poll after a pause (nobody subscribed) only takes the view as it is.
        view = self.state.view_direction()
        now = time.monotonic()
        resumed = now - self._last_sensed > 3 * self.state.events.poll_interval_s
        if ((view != self._last_view and not resumed)
                or any(status.value != "IDLE" for status in self.state.ptz.status())):
            self._last_motion = now
        self._last_view, self._last_sensed = view, now
        self.state.events.set_property(MOTION, now - self._last_motion < MOTION_HOLD_S)

    def image_effects(self) -> list[ImageEffect]:
        image_faults = [f for f in self.faults if isinstance(f, (Obstructed, Blurred))]
        if not image_faults:
            return []
        from simulators import effects  # noqa: PLC0415 (only a spoilt picture needs it)

        result: list[ImageEffect] = []
        for fault in image_faults:
            if isinstance(fault, Obstructed):
                result.append(effects.obstruction(fault.region, fault.texture,
                                                  seed=self.state.spec.scene_seed))
            elif isinstance(fault, Blurred):
                result.append(effects.blur(fault.sigma_px))
        return result

    # -- CameraControl: what SOAP handlers ask for beyond the state ---------------------------
    def request_reboot(self) -> None:
        async def later() -> None:
            await asyncio.sleep(0.2)  # let the SystemReboot response go out first
            await self.reboot()

        self._in_background(later())

    def request_discovery_mode(self, discoverable: bool) -> None:
        self._in_background(self.discovery.set_discoverable(discoverable))

    def encoder_configured(self, profile: str) -> None:
        self.streams.reconfigure(profile)

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def set_world(self, world: LivingWorld) -> None:
        """Put the world in these conditions; its clock starts again at ``start_hour``."""
        self.world, self._world_since = world, time.monotonic()

    def world_now(self) -> Conditions | None:
        """The living world's conditions right now (None: the frozen world)."""
        if not self.world.enabled:
            return None
        return conditions_at(self.world, time.monotonic() - self._world_since,
                             seed=self.state.spec.scene_seed)

    async def _render(self, state: CameraState, width: int, height: int) -> bytes:
        now = self.world_now()
        effects = self._effects_in(now, state)
        quality = 85 if now is None else now.jpeg_quality
        # Rendering is CPU-bound numpy/OpenCV work that releases the GIL: keep it off the loop.
        return await asyncio.to_thread(snapshot_jpeg, state, quality=quality, effects=effects,
                                       size=(width, height))

    async def __aenter__(self) -> SimulatedCamera:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

