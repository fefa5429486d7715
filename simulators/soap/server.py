"""HTTP front-end of a simulated camera: ONVIF SOAP endpoints and the snapshot URI.

``SoapDispatcher`` turns request bytes into response bytes and knows nothing about HTTP beyond
the Authorization header, so the same dispatcher serves aiohttp here and can be driven directly
in tests. Nothing a client sends can take the camera down: every failure becomes a SOAP fault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from lxml import etree

from simulators.soap.auth import DigestAuthenticator, NonceCache, verify_username_token
from simulators.soap.envelope import SoapFault, fault_envelope, not_authorized, parse_request
from simulators.soap.registry import Access, CameraControl, Context, Route, allowed, load_all
from simulators.soap.services.device import served_services
from simulators.soap.services.media import PROFILES, profile_resolution
from simulators.soap.wsdl import OnvifSchema, onvif_schema
from simulators.spec import User
from simulators.state import CameraState

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = SOAP_CONTENT_TYPE
    #: Extra WWW-Authenticate challenges (HTTP allows the header more than once).
    challenges: list[str] = field(default_factory=list)


class SoapDispatcher:
    """Authenticate, decode, handle and encode one SOAP request for one camera."""

    def __init__(self, state: CameraState, base_url: str, control: CameraControl,
                 schema: OnvifSchema | None = None) -> None:
        self.state = state
        self.base_url = base_url
        self.control = control
        self.schema = schema or onvif_schema()
        self.routes = load_all()
        self.digest = DigestAuthenticator(realm=f"{state.spec.identity.manufacturer} camera")
        self.nonces = NonceCache()
        self.requests_served = 0

    @property
    def users(self) -> dict[str, User]:
        return {u.username: u for u in self.state.spec.users}

    def handle(self, data: bytes, authorization: str | None, method: str = "POST") -> Reply:
        self.requests_served += 1
        try:
            return self._handle(data, authorization, method)
        except SoapFault as fault:
            reply = Reply(fault.http_status, fault_envelope(fault))
            if fault.subcodes == ("ter:NotAuthorized",) and fault.reason.startswith("HTTP"):
                reply.status = 401
                reply.challenges = self.digest.challenges()
            return reply
        except Exception as exc:  # a defect of ours must not become a dead camera
            log.exception("%s: handler failed", self.state.spec.id)
            internal = SoapFault("Receiver", ("ter:Action",), f"internal error: {exc}")
            return Reply(500, fault_envelope(internal))

    def _handle(self, data: bytes, authorization: str | None, method: str) -> Reply:
        request = parse_request(data)
        operation = self.schema.by_qname.get(request.qname)
        route: Route | None = None
        if operation is not None:
            route = self.routes.get((operation.service, operation.name))
        if (operation is None or route is None
                or operation.service not in served_services(self.state)):
            local = etree.QName(request.body_element).localname
            raise SoapFault("Receiver", ("ter:ActionNotSupported",),
                            f"Optional action {local} not implemented")
        user = None
        if route.access is not Access.PRE_AUTH:
            user = self.authenticate(request.header, authorization, method)
            if not allowed(user, route.access):
                raise not_authorized(f"user {user.username} ({user.level}) may not call "
                                     f"{operation.name}")
        try:
            decoded = operation.deserialize(request.body_element.getparent())
        except Exception as exc:  # zeep raises a zoo of types for a bad request
            raise SoapFault("Sender", ("ter:InvalidArgVal",),
                            f"cannot decode {operation.name}: {exc}") from exc
        ctx = Context(state=self.state, base_url=self.base_url, user=user,
                      control=self.control)
        fields = route.handler(ctx, decoded)
        envelope = operation.serialize_response(fields)
        return Reply(200, bytes(etree.tostring(envelope, xml_declaration=True,
                                               encoding="UTF-8")))

    def authenticate(self, header: etree._Element | None, authorization: str | None,
                     method: str) -> User:
        """WS-Security first (what ONVIF Profile S mandates), then HTTP Digest."""
        user = verify_username_token(header, self.users, self.state.utc_now(),
                                     self.state.spec.network.wsse_max_skew_s, self.nonces)
        if user is not None:
            return user
        if authorization:
            user = self.digest.verify(authorization, method, self.users)
            if user is not None:
                return user
        # No (valid) credentials at all: HTTP 401 with a Digest challenge, so a client that
        # speaks HTTP Digest can retry (ONVIF Core 5.12.1).
        raise not_authorized("HTTP authentication required")


SnapshotRenderer = Callable[[CameraState, int, int], Awaitable[bytes]]


class HttpFrontend:
    """One aiohttp server for one camera: SOAP on /onvif/*, the JPEG on /onvif/snapshot."""

    def __init__(self, state: CameraState, address: str, port: int, control: CameraControl,
                 render: SnapshotRenderer) -> None:
        self.state = state
        self.address = address
        self.port = port
        self._control = control
        self._render = render
        self._runner: web.AppRunner | None = None
        self.dispatcher: SoapDispatcher | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_get("/onvif/snapshot", self._snapshot)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.address, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = server.sockets[0].getsockname()[1]
        self._runner = runner
        self.dispatcher = SoapDispatcher(self.state, self.base_url, self._control)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _soap(self, request: web.Request) -> web.StreamResponse:
        assert self.dispatcher is not None
        body = await request.read()
        reply = self.dispatcher.handle(body, request.headers.get("Authorization"),
                                       request.method)
        return _respond(reply)

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        assert self.dispatcher is not None
        authorization = request.headers.get("Authorization", "")
        user = self.dispatcher.digest.verify(authorization, request.method,
                                             self.dispatcher.users) if authorization else None
        if user is None:
            return _respond(Reply(401, b"Unauthorized", content_type="text/plain",
                                  challenges=self.dispatcher.digest.challenges()))
        token = request.query.get("profile", "Profile_1")
        if token not in PROFILES:
            return _respond(Reply(404, f"no profile {token}".encode(),
                                  content_type="text/plain"))
        width, height = profile_resolution(self.state, token)
        jpeg = await self._render(self.state, width, height)
        return _respond(Reply(200, jpeg, content_type="image/jpeg"))


def _respond(reply: Reply) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    response.content_type = reply.content_type.split(";")[0]
    if "charset" in reply.content_type:
        response.charset = "utf-8"
    for challenge in reply.challenges:
        response.headers.add("WWW-Authenticate", challenge)
    return response


