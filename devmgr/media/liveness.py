"""The audit's stream check: play a camera's main stream for a few seconds, bounded in time.

A camera that answers every SOAP call may still deliver no picture, a black one or a frozen
one. The audit plays the main stream (the first profile with a stream URI: the main stream by
every vendor's convention) with FFmpeg, as :mod:`devmgr.media.stream` does for the acceptance
suite, and keeps what was seen as :class:`~devmgr.media.model.StreamEvidence`; the rule
:mod:`devmgr.compliance.rules.stream` judges it.

The stream URI comes from the camera: it is played on the address the camera answered at
(its path and port kept), never on a host the camera names, and only as ``rtsp://``.

    evidence = await check_stream(inventory, target, StreamCheck(seconds=2.0))
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from camfleet.errors import ErrorKind
from camfleet.targets import Target
from devmgr.inventory.model import Inventory, MediaProfile
from devmgr.media.model import StreamEvidence
from devmgr.media.stream import LIVE_SPAN_S, StreamError, StreamSample, sample_stream

__all__ = ["StreamCheck", "check_stream", "main_profile", "on_camera_address"]


@dataclass(frozen=True)
class StreamCheck:
    """How streams are checked: ``seconds`` of play after the first picture (0: not at all),
    ``first_frame_s`` to get one, at most ``concurrency`` streams decoded at once (FFmpeg
    decoding costs CPU: a 2-core machine plays ~4 main streams without falling behind)."""

    seconds: float = 2.0
    first_frame_s: float = 5.0
    concurrency: int = 4
    _slots: dict[int, asyncio.Semaphore] = field(default_factory=dict, repr=False,
                                                 compare=False)

    def slot(self) -> asyncio.Semaphore:
        """The semaphore of the running event loop (one per loop: asyncio's are bound)."""
        key = id(asyncio.get_running_loop())
        found = self._slots.get(key)
        if found is None:
            found = self._slots[key] = asyncio.Semaphore(self.concurrency)
        return found


def main_profile(inventory: Inventory) -> MediaProfile | None:
    """The profile whose stream is the camera's main one: the first with a stream URI."""
    return next((p for p in inventory.profiles if p.stream_uri), None)


def on_camera_address(uri: str, address: str) -> str:
    """``uri``'s scheme, port and path on ``address``: a camera names hosts it cannot vouch
    for (NAT, a stale configuration, or on purpose), so we go where it answered."""
    parts = urlsplit(uri)
    host = f"[{address}]" if ":" in address else address
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


async def _play(uri: str, target: Target, check: StreamCheck, seconds: float) -> StreamSample:
    # FFmpeg's own timeout ends the play; this bound lets the audit move on even if a read
    # hangs past it (the thread finishes on its own).
    async with asyncio.timeout(seconds + 2 * check.first_frame_s + 2):
        return await asyncio.to_thread(
            sample_stream, uri, target.onvif.username, target.onvif_password() or "",
            seconds=seconds, timeout_s=check.first_frame_s)


async def check_stream(inventory: Inventory, target: Target,
                       check: StreamCheck) -> StreamEvidence | None:
    """Play the main stream; None when the camera has no stream URI to play (nothing to
    check: the inventory's errors say why)."""
    profile = main_profile(inventory)
    if profile is None or check.seconds <= 0:
        return None
    uri = on_camera_address(profile.stream_uri, target.address)
    evidence = StreamEvidence(profile=profile.token[:128], uri=uri[:512],
                              configured=profile.video_encoder)
    began = time.monotonic()
    async with check.slot():
        try:
            sample = await _play(uri, target, check, check.seconds)
            if not sample.changed and sample.span_s < LIVE_SPAN_S:
                # Too few pictures to tell a frozen stream from a slow one (a loaded camera
                # or network): once more, twice as long, before judging.
                sample = await _play(uri, target, check, 2 * check.seconds)
        except StreamError as exc:
            return evidence.model_copy(update={
                "error_kind": exc.kind.value, "error": str(exc)[:500],
                "played_s": time.monotonic() - began})
        except TimeoutError:
            return evidence.model_copy(update={
                "error_kind": ErrorKind.TIMEOUT.value,
                "error": f"no end to the play within {check.seconds + 2 * check.first_frame_s:g} s",
                "played_s": time.monotonic() - began})
    return evidence.model_copy(update={
        "codec": sample.codec, "width": sample.width, "height": sample.height,
        "first_frame_s": sample.first_frame_s, "frames": sample.frames, "span_s": sample.span_s,
        "fps": sample.fps if sample.fps == sample.fps else None, "changed": sample.changed,
        "mean_luma": sample.mean_luma, "played_s": time.monotonic() - began})
