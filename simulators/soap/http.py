"""HTTP transport of simulated cameras: one aiohttp server per process, a listener per camera.

A fleet host runs hundreds of cameras on one event loop. Rather than an aiohttp application
per camera, ``HttpServer`` runs one application and opens a listening socket per camera
address; a request is routed to the ``CameraEndpoint`` that owns the local address it arrived
on, exactly as separate devices would receive it.

The endpoint is where wire faults act: latency, a reply that never comes, an injected SOAP fault
or HTTP 500, a truncated reply, vendor quirks. While a camera is down (removed, rebooting) its
listener is closed and requests on connections opened before are dropped without an answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from simulators.faults import (
    FaultBase,
    Http500,
    Latency,
    MalformedXml,
    NoResponse,
    QuirkDatetime,
    QuirkSnapshotDigest,
    SoapFaultInjection,
)
from simulators.soap.envelope import SoapFault, fault_envelope
from simulators.soap.registry import CameraControl
from simulators.soap.server import Reply, SoapDispatcher
from simulators.soap.services.media import PROFILES, profile_resolution
from simulators.spec import User
from simulators.state import CameraState

SnapshotRenderer = Callable[[CameraState, int, int], Awaitable[bytes]]
#: How long a request hit by ``no_response`` is held before its connection is dropped.
NO_RESPONSE_HOLD_S = 300.0


class CameraEndpoint:
    """The HTTP face of one camera: its SOAP dispatcher, snapshot URI and wire faults."""

    def __init__(self, state: CameraState, address: str, port: int, *,
                 control: CameraControl, render: SnapshotRenderer,
                 faults: Callable[[], Sequence[FaultBase]],
                 rng: random.Random | None = None) -> None:
        self.state = state
        self.address = address
        self.port = port
        self._render = render
        self._faults = faults
        self._rng = rng or random.Random(0)
        self.dispatcher = SoapDispatcher(state, self.base_url, control)
        self.site: web.BaseSite | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def listening(self) -> bool:
        return self.site is not None

    def readdress(self, address: str) -> None:
        """Serve from ``address`` from the next :meth:`HttpServer.listen` on (a ``readdressed``
        unit); the port stays. Only while not listening: the old listener must be closed."""
        if self.site is not None:
            raise RuntimeError(f"camera endpoint {self.base_url} is listening; unlisten it "
                               "before giving it another address")
        self.address = address
        self.dispatcher.base_url = self.base_url

    async def soap(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        reply = self.dispatcher.handle(body, request.headers.get("Authorization"),
                                       request.method)
        return await self._with_faults(request, reply)

    async def snapshot(self, request: web.Request) -> web.StreamResponse:
        user = self._snapshot_user(request.headers.get("Authorization", ""), request.method)
        if user is None:
            return respond(Reply(401, b"Unauthorized", content_type="text/plain",
                                 challenges=self.dispatcher.digest.challenges()))
        token = request.query.get("profile", "Profile_1")
        if token not in PROFILES:
            return respond(Reply(404, f"no profile {token}".encode(), content_type="text/plain"))
        width, height = profile_resolution(self.state, token)
        jpeg = await self._render(self.state, width, height)
        reply = Reply(200, jpeg, content_type="image/jpeg", operation="Snapshot")
        return await self._with_faults(request, reply)

    def _snapshot_user(self, authorization: str, method: str) -> User | None:
        users = self.dispatcher.users
        if authorization.lower().startswith("digest "):
            return self.dispatcher.digest.verify(authorization, method, users)
        if authorization.lower().startswith("basic ") and not any(
                isinstance(f, QuirkSnapshotDigest) for f in self._faults()):
            return basic_user(authorization, users)
        return None

    async def _with_faults(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        for fault in self._faults():
            if isinstance(fault, QuirkDatetime) and reply.status == 200:
                reply.body = quirky_datetimes(reply.body)
                continue
            if not isinstance(fault, (Latency, NoResponse, SoapFaultInjection, Http500,
                                      MalformedXml)):
                continue
            if not fault.fires(reply.operation, self._rng):
                continue
            if isinstance(fault, Latency):
                await asyncio.sleep(fault.ms / 1000.0)
            elif isinstance(fault, NoResponse):
                await asyncio.sleep(NO_RESPONSE_HOLD_S)
                return drop(request)
            elif isinstance(fault, SoapFaultInjection):
                injected = SoapFault(fault.code, (fault.subcode,), fault.reason)
                reply = Reply(injected.http_status, fault_envelope(injected))
            elif isinstance(fault, Http500):
                reply = Reply(500, b"<html><body>500 Internal Server Error</body></html>",
                              content_type="text/html")
            elif isinstance(fault, MalformedXml):
                reply = Reply(reply.status, truncate_xml(reply.body), reply.headers,
                              reply.content_type)
        return respond(reply)


def basic_user(authorization: str, users: dict[str, User]) -> User | None:
    try:
        decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, IndexError):
        return None
    name, _, password = decoded.partition(":")
    user = users.get(name)
    if user is not None and hmac.compare_digest(user.password.encode(), password.encode()):
        return user
    return None


# Opening tags may carry namespace declarations (zeep writes them on the element itself).
_XS_DATETIME = re.compile(rb"(<[\w:]*UtcTime(?:\s[^>]*)?>)(\d{4}-\d\d-\d\d)T"
                          rb"(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]00:00)?(</)")
_POSIX_TZ = re.compile(rb"(<[\w:]*TZ(?:\s[^>]*)?>)[A-Za-z]{3,}([+-]?)(\d{1,2})(</)")


def quirky_datetimes(body: bytes) -> bytes:
    """Render dates the way some firmware does: ``2026-11-29 08:00:00`` with no zone, and
    ``GMT+08:00`` instead of the POSIX TZ ``CST-8`` (whose sign means the opposite)."""
    body = _XS_DATETIME.sub(rb"\1\2 \3\4", body)

    def gmt(match: re.Match[bytes]) -> bytes:
        sign = b"-" if match.group(2) == b"+" else b"+"  # POSIX offsets are west-positive
        return match.group(1) + b"GMT" + sign + match.group(3).zfill(2) + b":00" + match.group(4)

    return _POSIX_TZ.sub(gmt, body)


def truncate_xml(body: bytes) -> bytes:
    """Cut a reply off in the middle of an element: well-formed it is not."""
    cut = max(1, len(body) // 2)
    return body[:cut].rstrip(b">") + b"<"


def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without an answer (what a camera that is gone does)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)


def respond(reply: Reply) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    response.content_type = reply.content_type.split(";")[0]
    if "charset" in reply.content_type:
        response.charset = "utf-8"
    for challenge in reply.challenges:
        response.headers.add("WWW-Authenticate", challenge)
    return response


class HttpServer:
    """One aiohttp application for every camera of this event loop."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._endpoints: dict[tuple[str, int], CameraEndpoint] = {}

    async def open(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_get("/onvif/snapshot", self._snapshot)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        self._endpoints.clear()
        if runner is not None:
            await runner.cleanup()

    async def listen(self, endpoint: CameraEndpoint) -> None:
        """Open the camera's listening socket (port 0 picks one, kept across restarts)."""
        if self._runner is None:
            await self.open()
        assert self._runner is not None
        site = web.TCPSite(self._runner, endpoint.address, endpoint.port, reuse_address=True,
                           backlog=512)
        await site.start()
        if endpoint.port == 0:
            server: Any = site._server
            endpoint.port = int(server.sockets[0].getsockname()[1])
            endpoint.dispatcher.base_url = endpoint.base_url
        endpoint.site = site
        self._endpoints[(endpoint.address, endpoint.port)] = endpoint

    async def unlisten(self, endpoint: CameraEndpoint) -> None:
        """Close the camera's listener; its open connections get no further answers."""
        self._endpoints.pop((endpoint.address, endpoint.port), None)
        site, endpoint.site = endpoint.site, None
        if site is not None:
            await site.stop()

    def _endpoint(self, request: web.Request) -> CameraEndpoint | None:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if not sockname:
            return None
        return self._endpoints.get((sockname[0], sockname[1]))

    async def _soap(self, request: web.Request) -> web.StreamResponse:
        endpoint = self._endpoint(request)
        return await endpoint.soap(request) if endpoint else drop(request)

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        endpoint = self._endpoint(request)
        return await endpoint.snapshot(request) if endpoint else drop(request)
