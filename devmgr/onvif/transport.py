"""The transport seam under devmgr's ONVIF client: one method, ``send(request) -> response``.

Modelled on HTTPX's transports: a session builds an :class:`~camfleet.http.HttpRequest`, the
transport performs the exchange and returns an :class:`~camfleet.http.HttpResponse` of any
status, or raises :class:`~camfleet.http.TransportError` when there was no reply. The values
are plain data from ``camfleet``, so a transport outside devmgr satisfies
:class:`HttpTransport` structurally (``simulators.soap.inprocess`` answers from simulated
cameras in the same process, without sockets).

:class:`AiohttpTransport` is the real one, and the only place where aiohttp's exceptions are
translated into classified errors:

    ============================================  ==============
    aiohttp                                       ErrorKind
    ============================================  ==============
    TimeoutError, ServerTimeoutError              TIMEOUT
    ClientConnectorError (refused, no route)      UNREACHABLE
    ServerDisconnectedError, reset, broken pipe   DISCONNECTED
    any other ClientError                         PROTOCOL
    ============================================  ==============
"""

from __future__ import annotations

from typing import Protocol

import aiohttp
import yarl

from camfleet.errors import ErrorKind
from camfleet.http import HttpRequest, HttpResponse, TransportError

__all__ = ["AiohttpTransport", "HttpTransport", "read_limited"]

_HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}
#: Parsed URLs kept (one per camera service); beyond this the cache starts over.
_URL_CACHE_SIZE = 65536


class HttpTransport(Protocol):
    """Performs one HTTP exchange. Contract: a reply of any status is returned, never raised;
    the body is read up to ``request.limit`` and one chunk; no reply at all raises
    :class:`~camfleet.http.TransportError`. ``aclose`` releases everything and may be
    called twice."""

    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """One aiohttp session: keep-alive connections for many cameras, ``limit`` at most.

    Time limits per exchange: ``connect_s`` to connect, ``read_s`` (or the request's own)
    between two pieces of the reply, and the request's ``deadline_s`` in all if it has one
    (snapshots do). SOAP calls have none of their own: a total per call failed honest replies
    of a 200-camera sweep on a saturated client, so the commands bound each camera instead
    (``Timeouts.camera``), which ends a reply trickled a byte a second as well.

    Redirects are not followed: a camera that answers with one is answering wrongly, and its
    target (another address, 169.254.169.254) must not become the camera's answer.
    """

    def __init__(self, *, limit: int = 256, connect_s: float = 3.0, read_s: float = 5.0) -> None:
        self.connect_s = connect_s
        self.read_s = read_s
        # The callers' own semaphores enforce the limits (``OnvifPool.slot``), so aiohttp's
        # pool never queues: its fairness shuffle over waiting hosts cost ~15 % of a
        # 200-camera sweep.
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, ttl_dns_cache=300,
                                         enable_cleanup_closed=True)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_s, sock_read=read_s)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout,
                                              headers=_HEADERS,
                                              skip_auto_headers=("User-Agent",))
        self._urls: dict[str, yarl.URL] = {}
        #: HTTP Digest state per origin and credentials: the challenge is answered once, then
        #: reused (what a camera that insists on Digest costs is one extra round trip).
        self._digests: dict[tuple[str | None, int | None, str, str],
                            aiohttp.DigestAuthMiddleware] = {}
        self._timeouts: dict[tuple[float, float | None], aiohttp.ClientTimeout] = {}

    async def aclose(self) -> None:
        await self._session.close()

    def _url(self, text: str) -> yarl.URL:
        # Parsed once per service: yarl's parsing is ~5 % of a request's client CPU.
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[text] = yarl.URL(text)
        return url

    def _digest(self, url: yarl.URL, username: str,
                password: str) -> aiohttp.DigestAuthMiddleware:
        key = (url.host, url.port, username, password)
        found = self._digests.get(key)
        if found is None:
            found = self._digests[key] = aiohttp.DigestAuthMiddleware(username, password)
        return found

    def _timeout(self, read_s: float, total_s: float | None) -> aiohttp.ClientTimeout:
        found = self._timeouts.get((read_s, total_s))
        if found is None:
            found = self._timeouts[(read_s, total_s)] = aiohttp.ClientTimeout(
                total=total_s, sock_connect=self.connect_s, sock_read=read_s)
        return found

    async def send(self, request: HttpRequest) -> HttpResponse:
        url = self._url(request.url)
        auth = request.auth
        digest = (self._digest(url, auth.username, auth.password),) if (
            auth is not None and auth.scheme == "digest") else ()
        basic = aiohttp.BasicAuth(auth.username, auth.password) if (
            auth is not None and auth.scheme == "basic") else None
        wait = request.read_timeout_s or self.read_s
        total = request.deadline_s
        timeout = self._timeout(wait, total)
        try:
            async with self._session.request(
                    request.method, url, data=request.body or None, middlewares=digest,
                    auth=basic, timeout=timeout, allow_redirects=False) as reply:
                body = await read_limited(reply, request.limit)
                return HttpResponse(reply.status, body, reply.reason or "",
                                    reply.headers.get("Content-Type", ""),
                                    tuple(reply.headers.getall("WWW-Authenticate", ())),
                                    reply.headers.get("Location", ""))
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            limits = f"{wait:g} s per read" + (f", {total:g} s in all" if total else "")
            raise TransportError(ErrorKind.TIMEOUT, f"no complete answer from {_hostport(url)} "
                                                    f"within {limits}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(ErrorKind.UNREACHABLE, f"cannot connect to {_hostport(url)}: "
                                                        f"{exc.os_error}") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise TransportError(ErrorKind.DISCONNECTED, f"{_hostport(url)} closed the "
                                                         "connection without a reply") from exc
        except (aiohttp.ClientConnectionResetError, aiohttp.ClientOSError) as exc:
            raise TransportError(ErrorKind.DISCONNECTED, f"{_hostport(url)} reset the "
                                                         f"connection: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise TransportError(ErrorKind.PROTOCOL, f"HTTP exchange with {_hostport(url)} "
                                                     f"failed: {exc}") from exc


async def read_limited(reply: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, but no more than ``limit`` and one chunk (the caller judges the excess).

    (``content.read(n)`` returns what has arrived so far, up to n: a body that comes in
    several chunks would be cut short.)
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _hostport(url: yarl.URL) -> str:
    return f"{url.host}:{url.port}"
