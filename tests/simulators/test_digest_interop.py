"""HTTP Digest between the simulated camera and clients written elsewhere: Python's urllib
(which reads the first challenge only, MD5 or SHA-1) and devmgr, for every challenge order a
camera may send; and a Basic-only camera gets a password only from a target that allows it."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator

import pytest

from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import OnvifPool, OnvifSession
from devmgr.onvif.snapshot import fetch_snapshot
from simulators.faults import parse_fault
from simulators.host import CameraHandle, CameraHost
from tests.conftest import loopback_spec

GET_DEVICE_INFORMATION = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>")


def start(host: CameraHost, algorithms: tuple[str, ...]) -> CameraHandle:
    spec = loopback_spec()
    return host.start(spec.with_network(ws_security=False, digest_algorithms=algorithms))


@pytest.fixture(scope="module")
def md5_camera(host: CameraHost) -> Iterator[CameraHandle]:
    camera = start(host, ("MD5",))
    yield camera
    camera.stop()


def urllib_opener(camera: CameraHandle) -> urllib.request.OpenerDirector:
    admin = camera.spec.users[0]
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, camera.device_url.rsplit("/onvif", 1)[0], admin.username,
                           admin.password)
    return urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))


def test_urllib_reads_snapshots_and_soap_of_a_default_camera(md5_camera: CameraHandle) -> None:
    opener = urllib_opener(md5_camera)
    with opener.open(md5_camera.snapshot_url, timeout=10) as reply:
        assert reply.status == 200
        assert reply.read().startswith(b"\xff\xd8")
    request = urllib.request.Request(md5_camera.device_url, data=GET_DEVICE_INFORMATION,
                                     headers={"Content-Type": "application/soap+xml"})
    with opener.open(request, timeout=10) as reply:
        assert md5_camera.spec.identity.serial.encode() in reply.read()


async def devmgr_reads(camera: CameraHandle, *, allow_basic: bool = False) -> tuple[str, str]:
    admin = camera.spec.users[0]
    async with OnvifPool() as pool:
        session = OnvifSession(pool, camera.device_url, admin.username, admin.password,
                               allow_basic=allow_basic)
        info = await session.call("device", "GetDeviceInformation")
        _, how = await fetch_snapshot(session, camera.snapshot_url)
        return info.findtext("{*}SerialNumber") or "", how


@pytest.mark.parametrize("algorithms", [("MD5",), ("SHA-256",), ("SHA-256", "MD5"),
                                        ("MD5", "SHA-256")], ids="-".join)
def test_devmgr_answers_every_digest_challenge_order(host: CameraHost,
                                                     algorithms: tuple[str, ...]) -> None:
    camera = start(host, algorithms)
    try:
        serial, how = asyncio.run(devmgr_reads(camera))
    finally:
        camera.stop()
    assert serial == camera.spec.identity.serial
    assert how == "http-digest"


def test_a_basic_only_snapshot_gets_a_password_only_when_the_target_allows_it(
        host: CameraHost, md5_camera: CameraHandle) -> None:
    endpoint = md5_camera.camera.http
    host.run(md5_camera.camera.set_faults([parse_fault({"kind": "basic_only",
                                                        "ops": ["Snapshot"]})]))
    try:
        with pytest.raises(OnvifError, match="only Basic") as refused:
            asyncio.run(devmgr_reads(md5_camera))
        assert refused.value.kind == "auth"
        assert endpoint.basic_credentials_received == 0
        _, how = asyncio.run(devmgr_reads(md5_camera, allow_basic=True))
        assert how == "http-basic"
        assert endpoint.basic_credentials_received == 1
    finally:
        host.run(md5_camera.camera.set_faults([]))
