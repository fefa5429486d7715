"""The SOAP routing table: every service a camera advertises is served, each operation once."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services import SERVICES, routing_table
from simulators.soap.services.device import served_services
from simulators.spec import CameraSpec
from simulators.state import CameraState


def test_every_advertised_service_has_operations() -> None:
    # GetServices lists these; a service listed without handlers would fault every call.
    table = routing_table()
    advertised = served_services(CameraState(CameraSpec.example()))
    assert "ptz" in advertised
    for service in advertised:
        assert any(key[0] == service for key in table), service


def test_the_table_is_every_service_table_merged() -> None:
    table = routing_table()
    assert len(table) == sum(len(routes.table) for routes in SERVICES)
    assert table[("device", "SystemReboot")].access is Access.UNRECOVERABLE
    assert table[("media", "GetProfiles")].access is Access.READ_MEDIA


def test_an_operation_cannot_be_registered_twice() -> None:
    routes = Routes("device")

    @routes.operation("GetHostname", Access.READ_SYSTEM)
    def first(ctx: Context, request: Any) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match=r"device\.GetHostname is handled twice"):
        @routes.operation("GetHostname", Access.READ_SYSTEM)
        def second(ctx: Context, request: Any) -> dict[str, Any]:
            return {}
