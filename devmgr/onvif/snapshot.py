"""Snapshots: an authenticated GET of a camera's snapshot URI, judged or taken as it came.

HTTP Digest first (what most cameras and Profile T want); Basic only if the camera challenges
with Basic, and the URI is HTTPS or the target opted in (``onvif.allow_basic``): over plain
HTTP, Basic is the password in cleartext, to whatever answers at that address. The GET goes
through the pool's transport like every SOAP call, on the host we reached the camera at, and
a redirect is never followed.

    jpeg, how = await fetch_snapshot(session, profile.snapshot_uri)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from camfleet.errors import ErrorKind
from camfleet.http import HttpAuth, HttpRequest, TransportError
from camfleet.protocols.jpeg_header import MAX_PIXELS, jpeg_dimensions
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import OnvifSession

__all__ = ["MAX_SNAPSHOT_BYTES", "HttpReply", "fetch_snapshot", "get_authenticated",
           "on_reached_host"]

#: A snapshot larger than this is refused (a 4K JPEG is ~2 MB).
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024
#: Snapshots take longer than SOAP calls: an encoder busy with streams, a first frame.
SNAPSHOT_TIMEOUT_S = 30.0
#: The whole snapshot, however it trickles in (at 1 byte/s it would take hours).
SNAPSHOT_DEADLINE_S = 45.0


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
    #: The ``WWW-Authenticate`` challenges of a 401.
    challenges: tuple[str, ...] = ()


async def get_authenticated(session: OnvifSession, uri: str, *,
                            limit: int = MAX_SNAPSHOT_BYTES) -> HttpReply:
    """GET a camera URI (snapshot) with the session's credentials, on the reached host.

    HTTP statuses come back as they are; only no answer at all is an :class:`OnvifError`
    (timeout, unreachable, a broken exchange).
    """
    url = on_reached_host(session, uri)
    password = session.password or ""
    attempts = (("http-digest", HttpAuth("digest", session.username, password)),
                ("http-basic", HttpAuth("basic", session.username, password)))
    began = time.monotonic()
    for how, auth in attempts:
        try:
            reply = await session.pool.transport.send(HttpRequest(
                "GET", url, auth=auth, read_timeout_s=SNAPSHOT_TIMEOUT_S,
                deadline_s=SNAPSHOT_DEADLINE_S, limit=limit))
        except TransportError as exc:
            raise OnvifError.from_transport("Snapshot", exc) from exc
        if (reply.status == 401 and how == "http-digest"
                and any(c.lower().startswith("basic") for c in reply.challenges)
                and (session.allow_basic or url.lower().startswith("https:"))):
            continue
        return HttpReply(url, reply.status, reply.content_type, reply.body, how,
                         time.monotonic() - began, reply.challenges)
    raise AssertionError("unreachable: the Basic attempt always returns")


async def fetch_snapshot(session: OnvifSession, uri: str) -> tuple[bytes, str]:
    """A snapshot's JPEG and the authentication used; anything else is an OnvifError."""
    reply = await get_authenticated(session, uri)
    if reply.status == 401 and reply.how == "http-digest" and not any(
            c.lower().startswith("digest") for c in reply.challenges):
        raise OnvifError(ErrorKind.AUTH, "Snapshot",
                         "HTTP 401: the snapshot URI offers no HTTP Digest, only Basic "
                         "(the password in cleartext): not sent; a target may allow it "
                         "(onvif.allow_basic)")
    if reply.status in (401, 403):
        raise OnvifError(ErrorKind.AUTH, "Snapshot",
                         f"HTTP {reply.status}: snapshot credentials refused")
    if 300 <= reply.status < 400:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"HTTP {reply.status} redirect from the snapshot URI (not followed)")
    if reply.status != 200:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"HTTP {reply.status} from the snapshot URI")
    if len(reply.body) > MAX_SNAPSHOT_BYTES:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"snapshot larger than {MAX_SNAPSHOT_BYTES} bytes")
    size = jpeg_dimensions(reply.body)
    if size is None:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot", "the snapshot URI did not return a JPEG "
                                                        "(no JPEG frame header)")
    if size[0] * size[1] > MAX_PIXELS:
        raise OnvifError(ErrorKind.PROTOCOL, "Snapshot",
                         f"the snapshot claims {size[0]} x {size[1]} pixels, more than "
                         f"{MAX_PIXELS} (not decoded, not stored)")
    return reply.body, reply.how
