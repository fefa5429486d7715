"""What devmgr does *to* a camera beyond reading its configuration: fetch a snapshot, move
the PTZ head to home or a preset and wait until it has settled, put it back.

Each function takes an :class:`~devmgr.onvif.session.OnvifSession` (clock offset and digest
fallback already handled there) and raises :class:`~devmgr.onvif.session.OnvifError` with a
classified kind, like every call of the client layer.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from devmgr.inventory.collect import parse_ptz_vector
from devmgr.inventory.model import ErrorKind
from devmgr.model import PtzVector
from devmgr.onvif.session import OnvifError, OnvifSession, read_limited

#: A snapshot larger than this is refused (a 4K JPEG is ~2 MB).
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024
#: Snapshots take longer than SOAP calls: an encoder busy with streams, a first frame.
SNAPSHOT_TIMEOUT_S = 30.0
#: Without a known target, a move is not taken as finished before this (seconds).
MIN_SETTLE_S = 0.5
#: How long a move may take before we stop waiting for MoveStatus IDLE.
DEFAULT_SETTLE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class PtzStatus:
    position: PtzVector | None
    moving: bool


async def ptz_status(session: OnvifSession, profile: str) -> PtzStatus:
    body = await session.call("ptz", "GetStatus", {"ProfileToken": profile})
    vector = parse_ptz_vector(body.find(".//{*}Position"))
    states = [(e.text or "").strip().upper() for e in body.iterfind(".//{*}MoveStatus/*")]
    return PtzStatus(position=vector, moving="MOVING" in states)


async def wait_settled(session: OnvifSession, profile: str, *,
                       target: PtzVector | None = None, began: float | None = None,
                       timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S,
                       interval_s: float = 0.1) -> PtzStatus:
    """Poll GetStatus until the head reports IDLE at the same position twice, and has either
    reached ``target`` or had :data:`MIN_SETTLE_S` since ``began`` (when the command was
    sent; default now) to start: some firmware still says IDLE for a moment after accepting
    a move, which must not pass for having arrived."""
    began = time.monotonic() if began is None else began
    deadline = began + timeout_s
    previous: PtzVector | None = None
    while True:
        status = await ptz_status(session, profile)
        here = status.position
        arrived = (here is None or time.monotonic() - began >= MIN_SETTLE_S
                   or (target is not None and _near(here, target)))
        if not status.moving and here == previous and arrived:
            return status
        if time.monotonic() > deadline:
            raise OnvifError(ErrorKind.TIMEOUT, "GetStatus",
                             f"PTZ still moving after {timeout_s:g} s")
        previous = here
        await asyncio.sleep(interval_s)


def _near(a: PtzVector, b: PtzVector, tolerance: float = 1e-3) -> bool:
    return max(abs(a.pan - b.pan), abs(a.tilt - b.tilt), abs(a.zoom - b.zoom)) <= tolerance


async def goto_home(session: OnvifSession, profile: str) -> PtzStatus:
    began = time.monotonic()
    await session.call("ptz", "GotoHomePosition", {"ProfileToken": profile})
    return await wait_settled(session, profile, began=began)


async def goto_preset(session: OnvifSession, profile: str, preset: str,
                      position: PtzVector | None = None) -> PtzStatus:
    """GotoPreset and wait; ``position``: where the preset is (GetPresets), if known."""
    began = time.monotonic()
    await session.call("ptz", "GotoPreset", {"ProfileToken": profile, "PresetToken": preset})
    return await wait_settled(session, profile, target=position, began=began)


async def absolute_move(session: OnvifSession, profile: str, position: PtzVector) -> PtzStatus:
    """Move to ``position`` in the generic spaces (pan/tilt -1..1, zoom 0..1)."""
    began = time.monotonic()
    await session.call("ptz", "AbsoluteMove", {
        "ProfileToken": profile,
        "Position": {"PanTilt": {"x": position.pan, "y": position.tilt},
                     "Zoom": {"x": position.zoom}}})
    return await wait_settled(session, profile, target=position, began=began)


def on_reached_host(session: OnvifSession, uri: str) -> str:
    """The camera's URI with the host we reached the camera at (NAT, stale configuration)."""
    ours, theirs = urlsplit(session.device_url), urlsplit(uri)
    return urlunsplit((theirs.scheme or ours.scheme, ours.netloc, theirs.path,
                       theirs.query, ""))


@dataclass(frozen=True)
class HttpReply:
    """An authenticated GET as it came back (the acceptance suite judges each part)."""

    url: str
    status: int
    content_type: str
    body: bytes
    #: ``http-digest`` or ``http-basic``: what the camera accepted (or was last offered).
    how: str
    elapsed_s: float


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def get_authenticated(session: OnvifSession, uri: str, *,
                            limit: int = MAX_SNAPSHOT_BYTES) -> HttpReply:
    """GET a camera URI (snapshot) with the session's credentials, on the reached host.

    HTTP Digest first (what most cameras and Profile T want); Basic only if the camera
    challenges with Basic. HTTP statuses come back as they are; only no answer at all is an
    :class:`OnvifError` (timeout, unreachable, a broken exchange).
    """
    url = on_reached_host(session, uri)
    http = session.pool.session
    password = session.password or ""
    attempts: list[tuple[str, dict[str, object]]] = [
        ("http-digest", {"middlewares": (aiohttp.DigestAuthMiddleware(session.username,
                                                                      password),)}),
        ("http-basic", {"headers": {"Authorization": _basic(session.username, password)}})]
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=session.pool.timeouts.connect,
                                    sock_read=SNAPSHOT_TIMEOUT_S)
    began = time.monotonic()
    try:
        for how, options in attempts:
            async with http.get(url, timeout=timeout, **options) as reply:  # type: ignore[arg-type]
                challenges = reply.headers.getall("WWW-Authenticate", [])
                if (reply.status == 401 and how == "http-digest"
                        and any(c.lower().startswith("basic") for c in challenges)):
                    continue
                return HttpReply(url, reply.status, reply.headers.get("Content-Type", ""),
                                 await read_limited(reply, limit), how,
                                 time.monotonic() - began)
    except TimeoutError as exc:
        raise OnvifError(ErrorKind.TIMEOUT, "Snapshot", f"no answer from {url}") from exc
    except aiohttp.ClientConnectorError as exc:
        raise OnvifError(ErrorKind.UNREACHABLE, "Snapshot",
                         f"cannot connect to {url}: {exc.os_error}") from exc
    except aiohttp.ClientError as exc:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot", f"GET {url} failed: {exc}") from exc
    raise AssertionError("unreachable: the Basic attempt always returns")


async def fetch_snapshot(session: OnvifSession, uri: str) -> tuple[bytes, str]:
    """A snapshot's JPEG and the authentication used; anything else is an OnvifError."""
    reply = await get_authenticated(session, uri)
    if reply.status == 401:
        raise OnvifError(ErrorKind.AUTH, "Snapshot", "HTTP 401: snapshot credentials refused")
    if reply.status != 200:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"HTTP {reply.status} from the snapshot URI")
    if len(reply.body) > MAX_SNAPSHOT_BYTES:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"snapshot larger than {MAX_SNAPSHOT_BYTES} bytes")
    if not reply.body.startswith(b"\xff\xd8"):
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot", "the snapshot URI did not return a JPEG")
    return reply.body, reply.how
