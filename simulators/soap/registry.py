"""Operation handlers and the access policy that guards them.

A handler takes the request context and the request decoded by zeep, and returns the response
fields as plain dicts, which zeep then serializes against the schema. Handlers register with
``@operation(service, name, access)``; the access class follows ONVIF Core 5.9.4.4, so a
``User``-level account can read media but not reboot the camera.
"""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass(slots=True)
class Context:
    """What a handler may use: the camera's live state and where its services live."""

    state: CameraState
    base_url: str
    user: User | None
    control: CameraControl

    def xaddr(self, service: str) -> str:
        return f"{self.base_url}/onvif/{service}_service"

    @property
    def snapshot_url(self) -> str:
        return f"{self.base_url}/onvif/snapshot"


Handler = Callable[[Context, Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    access: Access


ROUTES: dict[tuple[str, str], Route] = {}


def operation(service: str, name: str, access: Access) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES[(service, name)] = Route(handler, access)
        return handler

    return register


def load_all() -> dict[tuple[str, str], Route]:
    """Import every service module so its handlers register; return the routing table."""
    from simulators.soap.services import (  # noqa: F401, PLC0415
        device,
        imaging,
        media,
        ptz,
        recording,
    )

    return ROUTES
