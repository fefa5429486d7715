"""devmgr against simulated cameras in this process, through the transport seam: no sockets."""

from __future__ import annotations

import pytest

from camfleet.errors import ErrorKind
from camfleet.targets import OnvifCredentials, Target
from devmgr.inventory.collect import collect_inventory
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import OnvifPool, OnvifSession
from devmgr.onvif.snapshot import fetch_snapshot
from simulators.camera import SimulatedCamera
from simulators.soap.inprocess import InProcessTransport
from simulators.spec import CameraSpec


def _target(camera: SimulatedCamera) -> Target:
    admin = camera.spec.users[0]
    return Target(id=camera.spec.id, address=camera.address, http_port=camera.http_port,
                  onvif=OnvifCredentials(username=admin.username, password=admin.password))


async def test_an_inventory_of_a_camera_in_this_process_matches_its_spec() -> None:
    camera = SimulatedCamera(CameraSpec.example())
    transport = InProcessTransport([camera.http])
    async with OnvifPool(transport=transport) as pool:
        inventory = await collect_inventory(pool, _target(camera))
    spec = camera.spec
    assert inventory.errors == ()
    assert inventory.device is not None
    assert inventory.device.serial == spec.identity.serial
    assert inventory.mac == spec.identity.mac
    assert inventory.ptz is not None
    assert {p.token for p in inventory.ptz.presets} == {p.token for p in spec.ptz.presets}
    assert transport.exchanges == camera.http.dispatcher.requests_served > 10


async def test_a_digest_only_camera_gets_http_digest_for_calls_and_snapshots() -> None:
    camera = SimulatedCamera(CameraSpec.example().with_network(ws_security=False))
    admin = camera.spec.users[0]
    async with OnvifPool(transport=InProcessTransport([camera.http])) as pool:
        session = OnvifSession(pool, camera.device_url, admin.username, admin.password)
        info = await session.call("device", "GetDeviceInformation")
        assert info.findtext("{*}SerialNumber") == camera.spec.identity.serial
        assert session.digest is not None  # it switched, and stays switched
        jpeg, how = await fetch_snapshot(session, camera.snapshot_url)
    assert jpeg.startswith(b"\xff\xd8")
    assert how == "http-digest"


async def test_wrong_credentials_are_refused_as_auth() -> None:
    camera = SimulatedCamera(CameraSpec.example())
    async with OnvifPool(transport=InProcessTransport([camera.http])) as pool:
        session = OnvifSession(pool, camera.device_url, "admin", "not-it")
        with pytest.raises(OnvifError) as caught:
            await session.call("device", "GetDeviceInformation")
    assert caught.value.kind is ErrorKind.AUTH


async def test_no_camera_at_the_address_is_unreachable() -> None:
    async with OnvifPool(transport=InProcessTransport()) as pool:
        session = OnvifSession(pool, "http://192.0.2.1/onvif/device_service", "a", "b")
        with pytest.raises(OnvifError) as caught:
            await session.sync_clock()
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert "192.0.2.1" in caught.value.message
