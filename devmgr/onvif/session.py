"""devmgr's ONVIF client: a lean path for the sweep's hot calls, zeep for the long tail.

Measured on a 2-core machine against 1000 loopback cameras (DESIGN.md, "Client cost"),
onvif-zeep-async spends ~44 ms of client CPU per camera even with its WSDLs loaded once, half
of it in zeep building response objects. So requests are zeep-generated templates filled per
call and replies are read with lxml (:mod:`devmgr.onvif.soap`); ``call_zeep`` takes zeep's
full path for everything else, on the same pool, clock offset and credentials.

All cameras of a sweep share one ``OnvifPool``: one transport (:mod:`devmgr.onvif.transport`,
aiohttp unless given another) and a global limit on requests in flight. Failures reach the
caller as :class:`~devmgr.onvif.errors.OnvifError` with a classified kind.

    async with OnvifPool(limit=256) as pool:
        session = OnvifSession(pool, target.device_url, "admin", password)
        await session.sync_clock()
        body = await session.call("device", "GetDeviceInformation")
        body.findtext("{*}SerialNumber")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from camfleet.errors import ErrorKind
from camfleet.http import HttpAuth, HttpRequest, TransportError
from camfleet.protocols.onvif_schema import onvif_schema
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.soap import (
    MAX_RESPONSE_BYTES,
    parse_body,
    prepare,
    security_header,
    strip_header,
)
from devmgr.onvif.transport import AiohttpTransport, HttpTransport
from devmgr.onvif.xml import BadValue, parse_onvif_datetime, shown

__all__ = ["DEFAULT_TIMEOUTS", "OnvifPool", "OnvifSession", "Timeouts"]

#: Half the resolution of ONVIF's tt:DateTime (whole seconds).
WHOLE_SECOND_MIDPOINT = timedelta(seconds=0.5)


@dataclass(frozen=True)
class Timeouts:
    """Named time limits, seconds. ``call`` bounds one request, ``camera`` one camera's whole
    collection, ``views`` one camera's views at a commission or audit (moves and snapshots,
    the head's return excepted), ``sweep`` the whole sweep (``None``: unbounded)."""

    connect: float = 3.0
    call: float = 5.0
    camera: float = 30.0
    views: float = 180.0
    sweep: float | None = None


DEFAULT_TIMEOUTS = Timeouts()


class OnvifPool:
    """One transport for a whole sweep (keep-alive), and a global limit on requests in flight.

    ``transport``: another implementation of the seam (a simulated camera in this process);
    the caller keeps it and closes it. Without one, the pool opens an aiohttp transport with
    ``limit`` connections and the ``connect``/``call`` timeouts, and closes it on exit.
    """

    def __init__(self, limit: int = 256, per_host: int = 2,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 transport: HttpTransport | None = None) -> None:
        self.limit = limit
        self.per_host = per_host
        self.timeouts = timeouts
        self._given = transport
        self._transport: HttpTransport | None = None
        self._global = asyncio.Semaphore(limit)

    @property
    def transport(self) -> HttpTransport:
        if self._transport is None:
            raise RuntimeError("OnvifPool is not open: use 'async with OnvifPool() as pool'")
        return self._transport

    async def __aenter__(self) -> OnvifPool:
        self._transport = self._given or AiohttpTransport(
            limit=self.limit, connect_s=self.timeouts.connect, read_s=self.timeouts.call)
        return self

    def slot(self) -> asyncio.Semaphore:
        """One of the pool's ``limit`` request slots."""
        return self._global

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        transport, self._transport = self._transport, None
        if transport is not None and transport is not self._given:
            await transport.aclose()


class OnvifSession:
    """Talk to one camera: clock offset, credentials, service addresses, digest fallback."""

    def __init__(self, pool: OnvifPool, device_url: str, username: str,
                 password: str | None, *, allow_basic: bool = False) -> None:
        self.pool = pool
        #: Whether the target opted in to HTTP Basic over plain HTTP (snapshots).
        self.allow_basic = allow_basic
        self.device_url = device_url
        self.username = username
        self.password = password
        #: Camera clock minus ours; WS-Security Created is stamped in the camera's time.
        self.clock_offset = timedelta(0)
        self.xaddrs: dict[str, str] = {"device": device_url}
        #: Set when the camera refused WS-Security but offered HTTP Digest.
        self.digest: HttpAuth | None = None
        #: At most ``per_host`` requests in flight to this camera: cheap firmware chokes on more.
        self._per_camera = asyncio.Semaphore(pool.per_host)
        self.calls = 0

    # -- addresses -----------------------------------------------------------------------------
    def set_xaddr(self, service: str, xaddr: str) -> None:
        """Use the camera's advertised service path, on the address we reached it at: devices
        behind NAT or with a stale configuration advertise hosts we cannot reach."""
        self.xaddrs[service] = self.on_camera(xaddr)

    def on_camera(self, xaddr: str) -> str:
        """``xaddr``'s path and query on the address we reached the camera at (never a host
        the camera names: it may not be reachable, or not be a camera at all)."""
        ours, theirs = urlsplit(self.device_url), urlsplit(xaddr)
        return urlunsplit((ours.scheme, ours.netloc, theirs.path or "/", theirs.query, ""))

    def url(self, service: str) -> str:
        return self.xaddrs.get(service) or self.device_url

    # -- calls ---------------------------------------------------------------------------------
    async def sync_clock(self) -> etree._Element:
        """GetSystemDateAndTime (pre-auth) and the clock offset it implies."""
        sent = datetime.now(UTC)
        try:
            body = await self.call("device", "GetSystemDateAndTime", authenticate=False)
        except OnvifError as exc:
            if exc.kind is not ErrorKind.AUTH or self.password is None:
                raise
            # Some firmware wants credentials even for the clock: ours, then (HTTP Digest if
            # offered; WS-Security stamped in our time, which a close clock accepts).
            body = await self.call("device", "GetSystemDateAndTime")
        received = datetime.now(UTC)
        try:
            camera = parse_onvif_datetime(body.find(".//{*}UTCDateTime"))
        except BadValue as exc:
            # A clock in year 9999 would overflow every WS-Security stamp after it.
            raise OnvifError(ErrorKind.PROTOCOL, "GetSystemDateAndTime",
                             f"UTCDateTime: {exc}") from exc
        if camera is not None:
            midpoint = sent + (received - sent) / 2
            # tt:DateTime has whole seconds: the camera's clock read somewhere in [t, t + 1),
            # so t + 0.5 s is the unbiased estimate (t alone reads 0.5 s slow on average).
            self.clock_offset = camera + WHOLE_SECOND_MIDPOINT - midpoint
        return body

    def _security(self, authenticate: bool) -> bytes:
        if authenticate and self.password is not None and self.digest is None:
            return security_header(self.username, self.password,
                                   datetime.now(UTC) + self.clock_offset)
        return b""

    async def call(self, service: str, operation: str, params: dict[str, Any] | None = None,
                   *, authenticate: bool = True) -> etree._Element:
        """One request on the lean path; returns the response element of the Body."""
        params = params or {}
        data = prepare(service, operation, params).fill(self._security(authenticate), params)
        reply = await self._post(self.url(service), data, operation, authenticate)
        return parse_body(reply, operation)

    async def call_at(self, xaddr: str, service: str, operation: str,
                      params: dict[str, Any] | None = None, *,
                      header: bytes = b"") -> etree._Element:
        """One request to an address the camera handed out (a pull point), on the camera's
        own host (:meth:`on_camera`); ``header``: more SOAP header blocks (WS-Addressing)."""
        params = params or {}
        data = prepare(service, operation, params).fill(self._security(True) + header, params)
        reply = await self._post(self.on_camera(xaddr), data, operation, True)
        return parse_body(reply, operation)

    async def call_zeep(self, service: str, operation: str, **params: Any) -> Any:
        """Any operation of the WSDL set, through zeep (slower; for the long tail)."""
        op = onvif_schema().operation(service, operation)
        raw = etree.tostring(op.serialize_request(params), encoding="UTF-8")
        head, marker, body = raw.partition(b"<soap-env:Body>")
        data = (head + b"<soap-env:Header>" + self._security(True) + b"</soap-env:Header>"
                + marker + body)
        reply = await self._post(self.url(service), data, operation, True)
        first = parse_body(reply, operation)
        return op.deserialize_response(first.getparent())

    async def _post(self, url: str, data: bytes, operation: str, authenticate: bool) -> bytes:
        async with self._per_camera, self.pool.slot():
            try:
                return await self._exchange(url, data, operation, authenticate)
            except OnvifError as exc:
                # A kept-alive connection the camera had already closed: the request never
                # reached it. Once more on a fresh connection, for reads only (a command
                # might have been carried out before the close).
                if not (operation.startswith("Get") and exc.kind is ErrorKind.DISCONNECTED):
                    raise
                return await self._exchange(url, data, operation, authenticate)

    async def _exchange(self, url: str, data: bytes, operation: str,
                        authenticate: bool) -> bytes:
        self.calls += 1
        auth = self.digest if authenticate else None
        try:
            reply = await self.pool.transport.send(
                HttpRequest("POST", url, data, auth=auth, limit=MAX_RESPONSE_BYTES))
        except TransportError as exc:
            raise OnvifError.from_transport(operation, exc) from exc
        if reply.status == 401 and authenticate:
            if self.digest is None and self.password is not None and any(
                    c.lower().startswith("digest") for c in reply.challenges):
                # WS-Security refused, HTTP Digest offered: Profile T devices and some
                # firmware insist on it. Retry once that way, and stay with it.
                self.digest = HttpAuth("digest", self.username, self.password)
                return await self._exchange(url, strip_header(data), operation, authenticate)
            raise OnvifError(ErrorKind.AUTH, operation, "HTTP 401: credentials refused")
        if 300 <= reply.status < 400:
            raise OnvifError(ErrorKind.PROTOCOL, operation,
                             f"HTTP {reply.status} redirect to {shown(reply.location, 200)} "
                             "(not followed: a camera answers for itself)")
        if reply.status in (401, 403) and b"Fault" not in reply.body:
            raise OnvifError(ErrorKind.AUTH, operation,
                             f"HTTP {reply.status} {reply.reason}: access refused".strip())
        if reply.status >= 400 and b"Fault" not in reply.body:
            raise OnvifError(ErrorKind.PROTOCOL, operation,
                             f"HTTP {reply.status} {reply.reason}".strip())
        return reply.body
