"""Simulated cameras behind a client's transport seam, in the same process: no sockets.

devmgr's ONVIF client sends every request through a transport with one method,
``send(HttpRequest) -> HttpResponse`` (``devmgr.onvif.transport``). :class:`InProcessTransport`
is such a transport, made of simulated cameras: a request is handed to the
:class:`~simulators.soap.http.CameraEndpoint` at the request's host and port, exactly as its
HTTP listener would hand it, and the reply comes back as plain data (``camfleet.http``). It
meets the seam structurally; simulators never import devmgr.

What a socket adds is not here: wire faults (latency, no response, injected SOAP faults, HTTP
500, truncated XML) act on the HTTP listener only, and an address no camera was added at is
unreachable.

    camera = SimulatedCamera(spec)              # not started: nothing listens
    transport = InProcessTransport([camera.http])
    async with OnvifPool(transport=transport) as pool:
        session = OnvifSession(pool, camera.device_url, "admin", password)
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from camfleet.errors import ErrorKind
from camfleet.http import HttpRequest, HttpResponse, TransportError
from simulators.soap.auth import digest_authorization
from simulators.soap.http import CameraEndpoint
from simulators.soap.server import Reply

__all__ = ["InProcessTransport"]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            500: "Internal Server Error"}


class InProcessTransport:
    """Answers requests from the simulated cameras added to it (see the module docstring)."""

    def __init__(self, endpoints: Iterable[CameraEndpoint] = ()) -> None:
        self._endpoints: dict[str, CameraEndpoint] = {}
        #: Requests handed to a camera (a Digest exchange counts twice).
        self.exchanges = 0
        for endpoint in endpoints:
            self.add(endpoint)

    def add(self, endpoint: CameraEndpoint) -> None:
        """Answer for ``endpoint`` at its address and port (``endpoint.base_url``)."""
        self._endpoints[urlsplit(endpoint.base_url).netloc] = endpoint

    async def send(self, request: HttpRequest) -> HttpResponse:
        parts = urlsplit(request.url)
        endpoint = self._endpoints.get(parts.netloc)
        if endpoint is None:
            raise TransportError(ErrorKind.UNREACHABLE, f"cannot connect to {parts.netloc}: "
                                                        "no simulated camera there")
        auth = request.auth
        authorization = None
        if auth is not None and auth.scheme == "basic":
            token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
            authorization = f"Basic {token}"
        reply = await self._answer(endpoint, request, authorization)
        if reply.status == 401 and auth is not None and auth.scheme == "digest":
            uri = parts.path + (f"?{parts.query}" if parts.query else "")
            answer = digest_authorization(reply.challenges, request.method, uri,
                                          auth.username, auth.password)
            if answer is not None:
                reply = await self._answer(endpoint, request, answer)
        return HttpResponse(reply.status, reply.body[:request.limit + 1],
                            _REASONS.get(reply.status, ""), reply.content_type,
                            tuple(reply.challenges))

    async def _answer(self, endpoint: CameraEndpoint, request: HttpRequest,
                      authorization: str | None) -> Reply:
        self.exchanges += 1
        parts = urlsplit(request.url)
        if request.method == "GET" and parts.path.endswith("/snapshot"):
            profile = parse_qs(parts.query).get("profile", [None])[0]
            return await endpoint.snapshot_reply(authorization or "", "GET", profile)
        if request.method == "POST" and parts.path.startswith("/onvif/"):
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            return await endpoint.dispatcher.handle(request.body, authorization, "POST", path)
        return Reply(404, b"Not Found", content_type="text/plain")

    async def aclose(self) -> None:
        """Nothing to release: no connection was opened."""
