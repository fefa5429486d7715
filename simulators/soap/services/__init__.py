"""One module per ONVIF service, each a :class:`~simulators.soap.registry.Routes` table.

The services a camera serves, listed here explicitly: adding one is a module and a line.

    >>> from simulators.soap.services import routing_table
    >>> routing_table()[("device", "GetDeviceInformation")].access.name
    'READ_SYSTEM'
"""

import functools

from simulators.soap.registry import Route
from simulators.soap.services import (
    capabilities,
    device,
    encoders,
    events,
    imaging,
    media,
    media2,
    ptz,
    recording,
)

SERVICES = (device.ROUTES, media.ROUTES, encoders.ROUTES, media2.ROUTES, ptz.ROUTES, imaging.ROUTES,
            recording.ROUTES, events.ROUTES, *capabilities.ROUTES)


@functools.cache
def routing_table() -> dict[tuple[str, str], Route]:
    """(service, operation) -> its handler and access class, for every service above (one
    table per process, shared by every camera: do not modify it)."""
    table: dict[tuple[str, str], Route] = {}
    for routes in SERVICES:
        table.update(routes.table)
    return table


__all__ = ["SERVICES", "routing_table"]
