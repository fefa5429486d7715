"""HTTP exchanges as plain data: what crosses devmgr's transport seam, in either direction.

devmgr's ONVIF client talks to cameras through a transport with one method,
``send(HttpRequest) -> HttpResponse`` (see ``devmgr.onvif.transport``). The request and the
reply are plain values, so anything can be a transport: aiohttp over sockets, or a simulated
camera answering in the same process. A transport that could not complete the exchange raises
:class:`TransportError` with a classified kind; an answer of any status is a reply, never an
error.

    >>> HttpRequest("GET", "http://192.0.2.7/snapshot", auth=HttpAuth("digest", "u", "p")).method
    'GET'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from camfleet.errors import ErrorKind

__all__ = ["DEFAULT_BODY_LIMIT", "HttpAuth", "HttpRequest", "HttpResponse", "TransportError"]

#: A camera's largest honest SOAP answer (GetProfiles of a 16-channel NVR) is well under this.
DEFAULT_BODY_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpAuth:
    """HTTP authentication for a transport to perform: ``digest`` answers the challenge of a
    401 (RFC 7616) and keeps using it; ``basic`` sends the credentials up front."""

    scheme: Literal["digest", "basic"]
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: Literal["GET", "POST"]
    url: str
    body: bytes = b""
    auth: HttpAuth | None = None
    #: Seconds to wait for the reply (``None``: the transport's own limit for one call).
    read_timeout_s: float | None = None
    #: Seconds for the whole exchange, however the reply trickles in (``None``: the
    #: transport's own, a few read limits).
    deadline_s: float | None = None
    #: Read no more of the body than this and one chunk: the caller judges the excess.
    limit: int = DEFAULT_BODY_LIMIT


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A reply as it came (bounded by the request's ``limit``); any status."""

    status: int
    body: bytes
    reason: str = ""
    content_type: str = ""
    #: Every ``WWW-Authenticate`` value, in order.
    challenges: tuple[str, ...] = ()
    #: The ``Location`` of a redirect (never followed: a camera answers for itself).
    location: str = ""


class TransportError(Exception):
    """No reply: the exchange itself failed. ``kind`` is ``UNREACHABLE`` (no connection),
    ``TIMEOUT`` (no reply in time), ``DISCONNECTED`` (dropped or reset without a reply) or
    ``PROTOCOL`` (a reply HTTP cannot parse)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
