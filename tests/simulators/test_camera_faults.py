"""Readdressed, default credentials, retention and SNMP community faults on a lone camera.

Each camera runs on a ``CameraHost`` on the loopback; what the faults do is observed only
through independent clients (onvif-zeep-async, aiohttp, net-snmp, raw WS-Discovery sockets).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from camfleet.protocols import wsdiscovery as wsd
from simulators.camera import FaultRefusedError
from simulators.faults import Fault, parse_fault
from simulators.host import CameraHandle, CameraHost
from tests.clients import (
    listen,
    multicast_socket,
    onvif_client,
    requires_netsnmp,
    snmpget,
    snmpget_v3,
)
from tests.conftest import loopback_spec
from tests.simulators.helpers import (
    camera_target,
    refuses_connections,
    spare_loopback_address,
    unicast_probe,
)

SYS_NAME = "1.3.6.1.2.1.1.5.0"
DEVICE_INFO_REQUEST = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>")


@pytest.fixture
def cam(host: CameraHost) -> Iterator[CameraHandle]:
    handle = host.start(loopback_spec(), reboot_seconds=0.3)
    yield handle
    handle.stop()


def set_faults(host: CameraHost, camera: CameraHandle, *faults: Any) -> None:
    parsed: list[Fault] = [parse_fault(f) for f in faults]
    host.run(camera.camera.set_faults(parsed))


async def device_information(camera: CameraHandle, address: str, username: str,
                             password: str) -> Any:
    client = ONVIFCamera(address, camera.http_port, username, password)
    try:
        await client.update_xaddrs()
        return await (await client.create_devicemgmt_service()).GetDeviceInformation()
    finally:
        await client.close()


async def digest_status(url: str, username: str, password: str) -> int:
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with aiohttp.ClientSession() as session, session.post(
            url, data=DEVICE_INFO_REQUEST, headers=headers,
            middlewares=(aiohttp.DigestAuthMiddleware(username, password),)) as response:
        return response.status


# -- readdressed -------------------------------------------------------------------------------

@requires_netsnmp
async def test_readdressed_moves_every_protocol_and_clearing_moves_it_back(
        host: CameraHost, cam: CameraHandle) -> None:
    old, new = cam.address, spare_loopback_address()
    port = cam.spec.network.discovery_port
    old_target, new_target = camera_target(cam, old), camera_target(cam, new)
    [before] = unicast_probe(old, port)

    with multicast_socket(port) as group:
        set_faults(host, cam, {"kind": "readdressed", "address": new})
        heard = [(h.source, wsd.parse_hello_bye(h.data)) for h in listen(group, 0.5)]
    assert [(source, a.kind) for source, a in heard] == [(old, "bye"), (new, "hello")]
    assert {a.endpoint for _, a in heard} == {before.endpoint}  # the same unit
    assert heard[1][1].xaddrs == (f"http://{new}:{cam.http_port}/onvif/device_service",)

    assert cam.address == new
    assert refuses_connections(old, cam.http_port)
    assert snmpget(old_target, SYS_NAME, timeout_s=0.5) == []
    assert unicast_probe(old, port, wait_s=0.5) == []

    async with onvif_client(new_target) as client:
        device = await client.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        interfaces = await device.GetNetworkInterfaces()
    assert info.SerialNumber == cam.spec.identity.serial
    assert interfaces[0].IPv4.Config.Manual[0].Address == new
    assert snmpget(new_target, SYS_NAME) == [f'"{cam.spec.hostname}"']
    [after] = unicast_probe(new, port)
    assert after.endpoint == before.endpoint
    assert after.xaddrs == (f"http://{new}:{cam.http_port}/onvif/device_service",)
    assert after.metadata_version > before.metadata_version  # the XAddrs changed

    set_faults(host, cam)
    assert cam.address == old
    assert refuses_connections(new, cam.http_port)
    assert snmpget(new_target, SYS_NAME, timeout_s=0.5) == []
    async with onvif_client(old_target) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == cam.spec.identity.serial
    assert snmpget(old_target, SYS_NAME) == [f'"{cam.spec.hostname}"']
    assert [m.endpoint for m in unicast_probe(old, port)] == [before.endpoint]


async def test_readdressed_while_removed_comes_back_at_the_new_address(
        host: CameraHost, cam: CameraHandle) -> None:
    old, new = cam.address, spare_loopback_address()
    set_faults(host, cam, "removed")
    set_faults(host, cam, "removed", {"kind": "readdressed", "address": new})
    assert refuses_connections(old, cam.http_port)
    assert refuses_connections(new, cam.http_port)
    set_faults(host, cam, {"kind": "readdressed", "address": new})
    assert refuses_connections(old, cam.http_port)
    async with onvif_client(camera_target(cam, new)) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == cam.spec.identity.serial


async def test_readdressed_survives_a_reboot(host: CameraHost, cam: CameraHandle) -> None:
    new = spare_loopback_address()
    set_faults(host, cam, {"kind": "readdressed", "address": new})
    cam.reboot()
    assert [m.xaddrs for m in unicast_probe(new, cam.spec.network.discovery_port)] == [
        (f"http://{new}:{cam.http_port}/onvif/device_service",)]


async def test_readdressing_to_a_taken_or_foreign_address_is_refused_and_changes_nothing(
        host: CameraHost, cam: CameraHandle) -> None:
    taken = spare_loopback_address()
    with socket.socket() as squatter:
        squatter.bind((taken, cam.http_port))
        squatter.listen()
        with pytest.raises(FaultRefusedError, match=f"{re.escape(taken)}.*HTTP port"):
            set_faults(host, cam, {"kind": "readdressed", "address": taken})
    # TEST-NET-1 is on no interface of this host: the bind check fails, nothing is sent.
    with pytest.raises(FaultRefusedError, match=re.escape("192.0.2.1")):
        set_faults(host, cam, "blurred", {"kind": "readdressed", "address": "192.0.2.1"})
    assert cam.camera.faults == []
    assert cam.address == "127.0.0.1"
    info = await device_information(cam, cam.address, "admin", "Cam-2024!secure")
    assert info.SerialNumber == cam.spec.identity.serial


# -- default credentials -------------------------------------------------------------------------

async def test_default_credentials_open_the_unit_beside_the_filed_admin(
        host: CameraHost, cam: CameraHandle) -> None:
    with pytest.raises(zeep.exceptions.Fault):
        await device_information(cam, cam.address, "root", "pass")
    set_faults(host, cam, "default_credentials")
    info = await device_information(cam, cam.address, "root", "pass")  # WS-UsernameToken
    assert info.SerialNumber == cam.spec.identity.serial
    assert await digest_status(cam.device_url, "root", "pass") == 200  # HTTP Digest
    info = await device_information(cam, cam.address, "admin", "Cam-2024!secure")
    assert info.SerialNumber == cam.spec.identity.serial
    set_faults(host, cam)
    with pytest.raises(zeep.exceptions.Fault):
        await device_information(cam, cam.address, "root", "pass")
    assert await digest_status(cam.device_url, "root", "pass") == 401


async def test_default_credentials_on_the_admin_account_replace_its_password(
        host: CameraHost, cam: CameraHandle) -> None:
    set_faults(host, cam, {"kind": "default_credentials", "username": "admin",
                           "password": "12345"})
    info = await device_information(cam, cam.address, "admin", "12345")
    assert info.SerialNumber == cam.spec.identity.serial
    assert await digest_status(cam.device_url, "admin", "12345") == 200
    with pytest.raises(zeep.exceptions.Fault):
        await device_information(cam, cam.address, "admin", "Cam-2024!secure")


# -- retention -----------------------------------------------------------------------------------

def as_timedelta(value: Any) -> timedelta:
    """zeep gives an xs:duration as a timedelta, or as isodate's Duration for some values."""
    return value if isinstance(value, timedelta) else value.totimedelta(start=None)


async def retention(camera: CameraHandle) -> tuple[timedelta, timedelta]:
    async with onvif_client(camera_target(camera)) as client:
        recording = await client.create_recording_service()
        items = await recording.GetRecordings()
        config = await recording.GetRecordingConfiguration(
            {"RecordingToken": items[0].RecordingToken})
    return (as_timedelta(items[0].Configuration.MaximumRetentionTime),
            as_timedelta(config.MaximumRetentionTime))


async def test_retention_changed_shows_in_the_recording_service(
        host: CameraHost, cam: CameraHandle) -> None:
    assert await retention(cam) == (timedelta(days=90),) * 2
    set_faults(host, cam, {"kind": "retention_changed", "days": 7})
    assert await retention(cam) == (timedelta(days=7),) * 2
    set_faults(host, cam)
    assert await retention(cam) == (timedelta(days=90),) * 2


# -- SNMP community ------------------------------------------------------------------------------

@requires_netsnmp
def test_snmp_default_community_answers_public_and_still_v3(
        host: CameraHost, cam: CameraHandle) -> None:
    filed = camera_target(cam)
    assert filed.snmp is not None
    public = filed.model_copy(update={"snmp": filed.snmp.model_copy(
        update={"community": "public"})})
    assert snmpget(public, SYS_NAME, timeout_s=0.5) == []
    set_faults(host, cam, "snmp_default_community")
    name = [f'"{cam.spec.hostname}"']
    assert snmpget(public, SYS_NAME) == name
    assert snmpget(filed, SYS_NAME, timeout_s=0.5) == []  # the configured one is gone
    assert snmpget_v3(filed, SYS_NAME) == name
    set_faults(host, cam)
    assert snmpget(public, SYS_NAME, timeout_s=0.5) == []
    assert snmpget(filed, SYS_NAME) == name
