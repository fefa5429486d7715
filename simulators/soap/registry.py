"""Operation handlers and the access policy that guards them.

A handler takes the request context and the request decoded by zeep, and returns the response
fields as plain dicts, which zeep then serializes against the schema. Each service module
declares its handlers in its own :class:`Routes` table with ``@ROUTES.operation(name,
access)``; the access class follows ONVIF Core 5.9.4.4, so a ``User``-level account can read
media but not reboot the camera.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

from simulators.spec import User

if TYPE_CHECKING:
    from simulators.state import CameraState


class Access(IntEnum):
    """ONVIF access classes, ordered by the privilege they need."""

    PRE_AUTH = 0
    READ_MEDIA = 1
    READ_SYSTEM = 2
    ACTUATE = 3
    READ_SYSTEM_SENSITIVE = 4
    WRITE_SYSTEM = 5
    UNRECOVERABLE = 6


#: The highest access class each user level may exercise.
LEVEL_CEILING = {
    "User": Access.READ_SYSTEM,
    "Operator": Access.READ_SYSTEM_SENSITIVE,
    "Administrator": Access.UNRECOVERABLE,
}


def allowed(user: User, access: Access) -> bool:
    return access <= LEVEL_CEILING[user.level]


class CameraControl(Protocol):
    """What a handler may ask of the camera beyond its state: actions that outlive the request
    (a reboot happens after the response is sent; a discovery-mode change says Bye or Hello)."""

    def request_reboot(self) -> None: ...

    def request_discovery_mode(self, discoverable: bool) -> None: ...

    def encoder_configured(self, profile: str) -> None:
        """The profile's encoder configuration in the state changed; its stream follows."""


@dataclass(slots=True)
class Context:
    """What a handler may use: the camera's live state and where its services live."""

    state: CameraState
    base_url: str
    user: User | None
    control: CameraControl
    #: The HTTP path and query the request was sent to (a pull point's address names it).
    path: str = ""

    def xaddr(self, service: str) -> str:
        return f"{self.base_url}/onvif/{service}_service"

    @property
    def snapshot_url(self) -> str:
        return f"{self.base_url}/onvif/snapshot"


#: A handler returns the response fields, or an awaitable of them when it must wait.
Handler = Callable[[Context, Any], dict[str, Any] | Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    access: Access


class Routes:
    """One service's operations, declared where their handlers are::

        ROUTES = Routes("device")

        @ROUTES.operation("GetDeviceInformation", Access.READ_SYSTEM)
        def get_device_information(ctx: Context, request: Any) -> dict[str, Any]: ...

    Registering writes into this table only; :mod:`simulators.soap.services` lists the
    tables the dispatcher serves.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.table: dict[tuple[str, str], Route] = {}

    def operation(self, name: str, access: Access) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            key = (self.service, name)
            if key in self.table:
                raise ValueError(f"{self.service}.{name} is handled twice")
            self.table[key] = Route(handler, access)
            return handler

        return register
