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
from lxml import etree

from camfleet.protocols.safe_xml import safe_parser
from simulators.fault_base import FaultBase
from simulators.faults import (
    Http500,
    Latency,
    MalformedXml,
    NoResponse,
    QuirkDatetime,
    QuirkFaultSubcode,
    QuirkSnapshotDigest,
    SoapFaultInjection,
)
from simulators.hostile import (
    BasicOnly,
    Dtd,
    HostileValue,
    ImageBomb,
    Oversized,
    Redirect,
    Trickle,
    hostile_value,
    with_dtd,
    with_image_size,
    with_more_elements,
)
from simulators.soap.envelope import SOAP12_NS, SoapFault, fault_envelope
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
        #: Requests that carried a password in cleartext (HTTP Basic): what a client must
        #: never send unless it opted in.
        self.basic_credentials_received = 0

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
        self._count_basic(request)
        body = await request.read()
        reply = await self.dispatcher.handle(body, request.headers.get("Authorization"),
                                             request.method, request.path_qs)
        return await self._with_faults(request, reply)

    async def snapshot(self, request: web.Request) -> web.StreamResponse:
        self._count_basic(request)
        if self._basic_refused(request, "Snapshot"):
            return respond(basic_challenge())
        reply = await self.snapshot_reply(request.headers.get("Authorization", ""),
                                          request.method, request.query.get("profile"))
        if reply.status != 200:
            return respond(reply)
        return await self._with_faults(request, reply)

    async def snapshot_reply(self, authorization: str, method: str,
                             profile: str | None) -> Reply:
        """The snapshot URI's answer, independent of the HTTP transport (no wire faults)."""
        user = self._snapshot_user(authorization, method)
        if user is None:
            return Reply(401, b"Unauthorized", content_type="text/plain",
                         challenges=self.dispatcher.digest.challenges())
        token = profile or "Profile_1"
        if token not in PROFILES:
            return Reply(404, f"no profile {token}".encode(), content_type="text/plain")
        width, height = profile_resolution(self.state, token)
        jpeg = await self._render(self.state, width, height)
        return Reply(200, jpeg, content_type="image/jpeg", operation="Snapshot")

    def _snapshot_user(self, authorization: str, method: str) -> User | None:
        users = self.dispatcher.users
        if authorization.lower().startswith("digest "):
            return self.dispatcher.digest.verify(authorization, method, users)
        if authorization.lower().startswith("basic ") and not any(
                isinstance(f, QuirkSnapshotDigest) for f in self._faults()):
            return basic_user(authorization, users)
        return None

    def _count_basic(self, request: web.Request) -> None:
        if request.headers.get("Authorization", "").lower().startswith("basic "):
            self.basic_credentials_received += 1

    def _basic_refused(self, request: web.Request, operation: str | None) -> bool:
        """A ``basic_only`` camera refuses whatever does not come with valid Basic."""
        if not any(isinstance(f, BasicOnly) and f.applies_to(operation)
                   for f in self._faults()):
            return False
        authorization = request.headers.get("Authorization", "")
        return not (authorization.lower().startswith("basic ")
                    and basic_user(authorization, self.dispatcher.users) is not None)

    async def _with_faults(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if self._basic_refused(request, reply.operation):
            return respond(basic_challenge())
        for fault in self._faults():
            if isinstance(fault, Redirect | Trickle | Oversized | Dtd | ImageBomb):
                if fault.fires(reply.operation, self._rng):
                    if isinstance(fault, Trickle):
                        return await trickle(request, reply, fault)
                    reply = hostile_reply(reply, fault)
                continue
            if isinstance(fault, QuirkDatetime) and reply.status == 200:
                reply.body = quirky_datetimes(reply.body)
                continue
            if isinstance(fault, HostileValue):
                if reply.status == 200 and fault.fires(reply.operation, self._rng):
                    reply.body = hostile_value(reply.body, fault)
                continue
            if isinstance(fault, QuirkFaultSubcode):
                if reply.status >= 400 and fault.fires(reply.operation, self._rng):
                    reply = Reply(reply.status, other_fault(reply.body, fault))
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


def basic_challenge() -> Reply:
    return Reply(401, b"Unauthorized", content_type="text/plain",
                 challenges=['Basic realm="camera"'])


def hostile_reply(reply: Reply, fault: Redirect | Oversized | Dtd | ImageBomb) -> Reply:
    """The reply as the hostile behaviour changes it (see :mod:`simulators.hostile`)."""
    if isinstance(fault, Redirect):
        return Reply(fault.status, b"", {"Location": fault.location}, "text/html",
                     operation=reply.operation)
    if isinstance(fault, Oversized):
        if fault.element is None:
            injected = SoapFault("Receiver", ("ter:Action",), "A" * fault.count)
            return Reply(injected.http_status, fault_envelope(injected))
        if reply.status == 200 and reply.operation != "Snapshot":
            reply.body = with_more_elements(reply.body, fault.element, fault.count)
        return reply
    if isinstance(fault, Dtd) and reply.status == 200 and reply.operation != "Snapshot":
        reply.body = with_dtd(reply.body, fault.form)
    if isinstance(fault, ImageBomb) and reply.operation == "Snapshot":
        reply.body = with_image_size(reply.body, fault.width, fault.height)
    return reply


async def trickle(request: web.Request, reply: Reply, fault: Trickle) -> web.StreamResponse:
    """Send the reply slowly (headers at once, the body in drops; see ``Trickle``)."""
    drop_bytes = max(1, int(fault.bytes_per_s * fault.interval_s))
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type.split(";")[0]
    response.content_length = len(reply.body)
    try:
        await response.prepare(request)
        for at in range(0, len(reply.body), drop_bytes):
            await response.write(reply.body[at:at + drop_bytes])
            await asyncio.sleep(fault.interval_s)
        await response.write_eof()
    except (ConnectionError, RuntimeError):  # the client gave up: what a deadline is for
        pass
    return response


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


def other_fault(body: bytes, quirk: QuirkFaultSubcode) -> bytes:
    """The camera's own SOAP fault with the quirk's code and subcodes instead of its own."""
    root = etree.fromstring(body, parser=safe_parser())
    values = [v.text or "" for v in root.iter(f"{{{SOAP12_NS}}}Value")]
    reason = root.findtext(f".//{{{SOAP12_NS}}}Text") or "refused"
    code = quirk.code or (values[0].partition(":")[2] if values else "Receiver")
    return fault_envelope(SoapFault(code, quirk.subcodes, reason))


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
