"""Reboots and discovery-mode rounds for the acceptance suite: one reboot observed once
(HTTP down and up, Bye and Hello) and shared by the cases that need one; the
NonDiscoverable window of DISCOVERY-1-1-9, started early and collected last."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from camfleet.protocols import wsdiscovery as wsd
from devmgr.onvif.errors import OnvifError
from hil import streams
from hil.camera import Camera
from hil.discovery import (
    DISCOVERY_TIMEOUT_S,
    Announcements,
    ProbeResult,
    _Listener,
    probe,
    probe_later,
)


@dataclass
class Reboot:
    """What one SystemReboot looked like from outside."""

    announcements: Announcements
    #: The camera stopped answering HTTP after the reboot request, and answered again.
    went_down: bool
    came_back: bool
    seconds: float
    #: From SystemReboot until it answered ONVIF again (``boot_time``; None: it did not).
    answered_after_s: float | None = None
    #: A unicast Probe once it was back (DEVICE-3-1-8), if asked for.
    probe: ProbeResult | None = None


#: Poll interval while waiting for a rebooting camera to go down and come back.
_POLL_S = 0.05
#: After a camera that must not say Hello answers HTTP again, how long to listen on for one.
BOOT_GRACE_S = 1.0


def reboot(camera: Camera, *, probe_after: bool = False, expect_hello: bool = True) -> Reboot:
    """SystemReboot while listening on the camera's segment: Bye, down, up, Hello.

    Waits (each up to ``--hil-reboot-timeout``) for the camera to stop answering HTTP and to
    answer again; then for its Hello (``expect_hello``: until it comes, within the same
    timeout) or, where none is expected, ``BOOT_GRACE_S`` for a Hello it should not send.
    ``probe_after``: then a unicast Probe, as DEVICE-3-1-8 asks."""
    streams.settle(camera)  # a stream sample under way is not cut by the suite's own reboot
    timeout = camera.settings.reboot_timeout_s
    listener = _Listener(camera)
    announced = camera.harness.run(listener.__aenter__())
    began = time.monotonic()
    try:
        camera.must_call("device", "SystemReboot")
        # Down: HTTP stops answering, or the camera already says Bye or Hello (a reboot
        # quicker than the polls).
        went_down = _wait_http(camera, up=False, timeout_s=timeout,
                               evidence=lambda: bool(announced.found.bye or announced.found.hello))
        came_back = _wait_http(camera, up=True, timeout_s=timeout) if went_down else True
        answered_after_s = time.monotonic() - began if came_back else None
        wait_s = max(0.0, timeout - (time.monotonic() - began)) if expect_hello else BOOT_GRACE_S

        async def hello() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(announced.hello.wait(), wait_s)

        camera.harness.run(hello(), wait_s + 30)
    finally:
        camera.harness.run(listener.__aexit__())
    result = Reboot(announced.found, went_down, came_back, time.monotonic() - began,
                    answered_after_s)
    if probe_after and came_back:
        result.probe = probe(camera, types=[wsd.TYPE_NVT])
    return result


def _wait_http(camera: Camera, *, up: bool, timeout_s: float,
               evidence: Callable[[], bool] = lambda: False) -> bool:
    """Poll GetSystemDateAndTime until the camera does (``up``) or does not answer, or
    ``evidence`` says it happened anyway."""
    deadline = time.monotonic() + timeout_s

    async def answers() -> bool:
        try:
            await asyncio.wait_for(camera.session.sync_clock(), 2.0)
        except (OnvifError, TimeoutError):
            return False
        return True

    while time.monotonic() < deadline:
        if camera.harness.run(answers(), 30.0) == up or evidence():
            return True
        time.sleep(_POLL_S)
    return False


_REBOOTS: dict[str, Reboot] = {}


def shared_reboot(camera: Camera) -> Reboot:
    """One reboot per camera and process for the cases that only watch it: DISCOVERY-1-1-2
    (Hello), 1-1-8 (Bye) and DEVICE-3-1-8 (Hello, then a unicast ProbeMatch)."""
    if camera.id not in _REBOOTS:
        _REBOOTS[camera.id] = reboot(camera, probe_after=True)
    return _REBOOTS[camera.id]



@dataclass
class ModeRound:
    """DISCOVERY-1-1-9 up to its silence: the mode before, SetDiscoveryMode NonDiscoverable,
    the mode after, and a multicast Probe without Types whose DISCOVERY_TIMEOUT runs on."""

    before: str
    after: str = ""
    silence: Future[ProbeResult] | None = None

    def silent(self) -> ProbeResult | None:
        """What the camera answered within the window (waits for its end)."""
        return self.silence.result(DISCOVERY_TIMEOUT_S + 30) if self.silence else None

    def cancel(self) -> None:
        """Stop listening (a test that failed before the silence was judged)."""
        if self.silence is not None:
            self.silence.cancel()


_MODE_ROUNDS: dict[str, tuple[Camera, ModeRound]] = {}


def _discovery_mode(camera: Camera) -> str:
    body = camera.must_call("device", "GetDiscoveryMode")
    return (body.findtext("{*}DiscoveryMode") or "").strip()


def start_mode_round(camera: Camera) -> ModeRound:
    """Steps 4 to 9 of DISCOVERY-1-1-9 now; the rest is for its test (:func:`take_mode_round`).
    A camera that is not Discoverable to begin with is left alone (step 4 fails)."""
    found = ModeRound(_discovery_mode(camera))
    _MODE_ROUNDS[camera.id] = (camera, found)
    if found.before == "Discoverable":
        camera.call("device", "SetDiscoveryMode", {"DiscoveryMode": "NonDiscoverable"})
        found.after = _discovery_mode(camera)
        found.silence = probe_later(camera, multicast=True, until_first=False)
    return found


def take_mode_round(camera: Camera) -> ModeRound:
    """The round started for this camera (taken: its test restores the mode), or one started
    now."""
    started = _MODE_ROUNDS.pop(camera.id, None)
    return started[1] if started is not None else start_mode_round(camera)


def pending_mode_rounds() -> list[Camera]:
    """Cameras switched NonDiscoverable by a round whose test never took it (the run ended
    early): the caller switches them back."""
    cameras = []
    for camera, started in _MODE_ROUNDS.values():
        started.cancel()
        cameras.append(camera)
    _MODE_ROUNDS.clear()
    return cameras
