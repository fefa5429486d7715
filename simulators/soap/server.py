"""SOAP request handling of a simulated camera, independent of the HTTP transport.

``SoapDispatcher`` turns request bytes into response bytes and knows nothing about HTTP beyond
the Authorization header, so ``simulators.soap.http`` serves it over aiohttp and tests can drive
it directly. Nothing a client sends can take the camera down: every failure becomes a SOAP fault.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from camfleet.protocols.onvif_schema import OnvifSchema, Operation, onvif_schema
from simulators.soap.auth import DigestAuthenticator, NonceCache, verify_username_token
from simulators.soap.envelope import SoapFault, fault_envelope, not_authorized, parse_request
from simulators.soap.registry import Access, CameraControl, Context, Route, allowed
from simulators.soap.services import routing_table
from simulators.soap.services.device import served_services
from simulators.spec import User
from simulators.state import CameraState

log = logging.getLogger(__name__)

#: Prefixes event replies use inside text (topic expressions), declared on their envelope.
TEXT_NAMESPACES = {"tns1": "http://www.onvif.org/ver10/topics",
                   "tt": "http://www.onvif.org/ver10/schema"}
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"
#: Serialized replies kept per camera (oldest dropped first); ~3 KB each.
REPLY_CACHE_SIZE = 24


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = SOAP_CONTENT_TYPE
    #: Extra WWW-Authenticate challenges (HTTP allows the header more than once).
    challenges: list[str] = field(default_factory=list)
    #: The ONVIF operation the request asked for, once known (wire faults select on it).
    operation: str | None = None


class SoapDispatcher:
    """Authenticate, decode, handle and encode one SOAP request for one camera."""

    def __init__(self, state: CameraState, base_url: str, control: CameraControl,
                 schema: OnvifSchema | None = None) -> None:
        self.state = state
        self.base_url = base_url
        self.control = control
        self.schema = schema or onvif_schema()
        self.routes = routing_table()
        self.digest = DigestAuthenticator(realm=f"{state.spec.identity.manufacturer} camera",
                                          algorithms=state.spec.network.digest_algorithms)
        self.nonces = NonceCache()
        self.requests_served = 0
        self._replies: dict[tuple[str, str], bytes] = {}

    @property
    def users(self) -> dict[str, User]:
        return {u.username: u for u in self.state.spec.users}

    async def handle(self, data: bytes, authorization: str | None, method: str = "POST",
                     path: str = "") -> Reply:
        """Answer one request; ``path`` is the HTTP path and query it was sent to (the event
        service's pull points are told apart by it)."""
        self.requests_served += 1
        asked: list[str] = []  # the operation's name, as soon as the request reveals it
        try:
            reply = await self._handle(data, authorization, method, path, asked)
        except SoapFault as fault:
            reply = Reply(fault.http_status, fault_envelope(fault))
            if fault.subcodes == ("ter:NotAuthorized",) and fault.reason.startswith("HTTP"):
                reply.status = 401
                reply.challenges = self.digest.challenges()
        except Exception as exc:  # a defect of ours must not become a dead camera
            log.exception("%s: handler failed", self.state.spec.id)
            internal = SoapFault("Receiver", ("ter:Action",), f"internal error: {exc}")
            reply = Reply(500, fault_envelope(internal))
        reply.operation = asked[0] if asked else None
        return reply

    async def _handle(self, data: bytes, authorization: str | None, method: str, path: str,
                      asked: list[str]) -> Reply:
        request = parse_request(data)
        asked.append(etree.QName(request.body_element).localname)
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
        if route.access is not Access.PRE_AUTH or not self.state.spec.network.pre_auth:
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
                      control=self.control, path=path)
        answer = route.handler(ctx, decoded)
        # A handler that waits (PullMessages) returns an awaitable of its fields.
        fields = await answer if inspect.isawaitable(answer) else answer
        if operation.service == "events":
            return Reply(200, self._serialize(operation, fields, TEXT_NAMESPACES))
        # zeep's serializer is ~90 % of a request's cost (1.5 ms for GetProfiles), and most
        # answers repeat: key the serialized reply on the fields it was made from.
        key = (operation.name, repr(fields))
        body = self._replies.get(key)
        if body is None:
            body = self._serialize(operation, fields)
            if len(self._replies) >= REPLY_CACHE_SIZE:
                self._replies.pop(next(iter(self._replies)))
            self._replies[key] = body
        return Reply(200, body)

    @staticmethod
    def _serialize(operation: Operation, fields: dict[str, Any],
                   namespaces: dict[str, str] | None = None) -> bytes:
        envelope = operation.serialize_response(fields)
        if namespaces:
            # Topics are QNames in text (tns1:VideoSource/...): declare their prefixes.
            etree.cleanup_namespaces(envelope, top_nsmap=namespaces)
        return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))

    def authenticate(self, header: etree._Element | None, authorization: str | None,
                     method: str) -> User:
        """WS-Security first (what ONVIF Profile S mandates), then HTTP Digest."""
        if self.state.spec.network.ws_security:
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


