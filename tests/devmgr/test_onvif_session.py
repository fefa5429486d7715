"""devmgr's ONVIF session: auth fallbacks, error classification, the zeep long tail."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from lxml import etree

from camfleet.errors import ErrorKind
from camfleet.http import HttpRequest, HttpResponse
from camfleet.targets import Target, TargetsFile
from devmgr.inventory.collect import collect_inventory
from devmgr.onvif.errors import OnvifError, SoapFaultError
from devmgr.onvif.session import OnvifPool, OnvifSession, Timeouts
from devmgr.onvif.soap import RequestTemplate, parse_body, prepare
from devmgr.onvif.xml import parse_xs_datetime
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.host import CameraHandle
from tests.conftest import free_udp_port


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(4, seed=77)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


@pytest.fixture
async def pool() -> AsyncIterator[OnvifPool]:
    async with OnvifPool(limit=16, timeouts=Timeouts(connect=0.5, call=1.0)) as opened:
        yield opened


def session(pool: OnvifPool, target: Target, password: str | None = None) -> OnvifSession:
    return OnvifSession(pool, target.device_url, target.onvif.username,
                        password if password is not None else target.onvif_password())


async def test_lean_call_reads_the_answer(pool: OnvifPool, manifest: TargetsFile) -> None:
    target = manifest.targets[0]
    camera = session(pool, target)
    await camera.sync_clock()
    info = await camera.call("device", "GetDeviceInformation")
    assert info.findtext("{*}SerialNumber") == target.serial


async def test_digest_only_camera_gets_http_digest(pool: OnvifPool, fleet: Fleet,
                                                   manifest: TargetsFile) -> None:
    target = manifest.targets[1]
    fleet.add_fault(target.id, "quirk_digest_only")
    try:
        camera = session(pool, target)
        info = await camera.call("device", "GetDeviceInformation")
        assert info.findtext("{*}SerialNumber") == target.serial
        assert camera.digest is not None  # it switched, and stays switched
        again = await camera.call("device", "GetHostname")
        assert again.findtext(".//{*}Name") == target.id
    finally:
        fleet.clear_faults(target.id)


async def test_wrong_password_is_auth(pool: OnvifPool, manifest: TargetsFile) -> None:
    camera = session(pool, manifest.targets[2], password="not-it")
    await camera.sync_clock()  # pre-auth: fine
    with pytest.raises(SoapFaultError) as caught:
        await camera.call("device", "GetDeviceInformation")
    assert caught.value.kind is ErrorKind.AUTH


async def test_a_camera_that_wants_credentials_for_its_clock_gets_them(
        pool: OnvifPool, fleet: Fleet, manifest: TargetsFile) -> None:
    """Pre-auth refused (HTTP 401 to GetSystemDateAndTime): asked again with the target's
    credentials, and the inventory is whole; with a wrong password it is an auth error in the
    camera's words, not a protocol error."""
    target = manifest.targets[3]
    fleet.add_fault(target.id, "quirk_auth_everything")
    try:
        anonymous = await pool.transport.send(HttpRequest(
            "POST", target.device_url, prepare("device", "GetSystemDateAndTime", {}).fill(
                b"", {}), limit=1 << 20))
        assert anonymous.status == 401  # the camera really refuses the pre-auth call

        inventory = await collect_inventory(pool, target)
        assert inventory.errors == ()
        assert inventory.device is not None
        assert inventory.device.serial == target.serial
        assert inventory.clock_offset_s is not None

        wrong = target.model_copy(update={"onvif": target.onvif.model_copy(
            update={"password": "not-it"})})
        refused = await collect_inventory(pool, wrong)
        assert refused.errors
        assert {e.kind for e in refused.errors} == {ErrorKind.AUTH}
        assert "ter:NotAuthorized" in refused.errors[0].message  # the camera's own words
    finally:
        fleet.clear_faults(target.id)


async def test_nothing_listening_is_unreachable(pool: OnvifPool) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    camera = OnvifSession(pool, f"http://127.0.0.1:{port}/onvif/device_service", "a", "b")
    with pytest.raises(OnvifError) as caught:
        await camera.sync_clock()
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert f"127.0.0.1:{port}" in caught.value.message


async def test_silent_server_is_timeout(pool: OnvifPool) -> None:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        camera = OnvifSession(pool, f"http://127.0.0.1:{port}/onvif/device_service", "a", "b")
        with pytest.raises(OnvifError) as caught:
            await camera.sync_clock()
        assert caught.value.kind is ErrorKind.TIMEOUT
    finally:
        server.close()


async def test_long_tail_through_zeep(pool: OnvifPool, manifest: TargetsFile) -> None:
    camera = session(pool, manifest.targets[0])
    await camera.sync_clock()
    users = await camera.call_zeep("device", "GetUsers")
    assert [u.Username for u in users.User] == ["admin", "viewer"]
    stream = await camera.call_zeep("media", "GetStreamUri", ProfileToken="Profile_1",
                                    StreamSetup={"Stream": "RTP-Unicast",
                                                 "Transport": {"Protocol": "RTSP"}})
    assert stream.MediaUri.Uri.startswith(f"rtsp://{manifest.targets[0].address}:")


def test_templates_escape_values() -> None:
    template = RequestTemplate("media", "GetSnapshotUri", {"ProfileToken": "@@ProfileToken@@"})
    data = template.render(b"", {"ProfileToken": "a<b&c"})
    assert b"a&lt;b&amp;c" in data
    assert b"@@" not in data


@pytest.mark.parametrize("reply", [
    b"<not xml",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    b"<a/>",
])
def test_bad_replies_are_protocol_errors(reply: bytes) -> None:
    with pytest.raises(OnvifError) as caught:
        parse_body(reply, "GetDeviceInformation")
    assert caught.value.kind is ErrorKind.PROTOCOL


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-29T08:00:00Z", "2026-11-29T08:00:00+00:00"),
    ("2026-11-29 08:00:00", "2026-11-29T08:00:00+00:00"),  # a vendor's quirk
    ("2026-11-29T16:00:00+08:00", "2026-11-29T16:00:00+08:00"),
    ("garbage", None),
])
def test_vendor_datetimes(text: str, expected: str | None) -> None:
    parsed = parse_xs_datetime(text)
    assert (parsed.isoformat() if parsed else None) == expected


async def test_the_clock_offset_is_unbiased_despite_whole_second_camera_time(
        camera: CameraHandle) -> None:
    """tt:DateTime carries whole seconds; read at many sub-second phases, the offset estimate
    must average out to the true skew (the whole-second value alone is 0.5 s slow)."""
    camera.set_clock_offset(100.3)
    user = camera.spec.users[0]
    errors = []
    async with OnvifPool() as pool:
        session = OnvifSession(pool, camera.device_url, user.username, user.password)
        for _ in range(24):
            await session.sync_clock()
            errors.append(session.clock_offset.total_seconds() - 100.3)
            await asyncio.sleep(0.043)  # walk through the phases of the second
    mean = sum(errors) / len(errors)
    assert abs(mean) < 0.2, errors
    assert max(abs(e) for e in errors) < 0.6, errors


def test_moves_to_new_coordinates_reuse_one_request_template() -> None:
    """Numbers are slots like strings: a thousand moves do not build a thousand templates."""
    def move(x: float, zoom: float) -> dict[str, object]:
        return {"ProfileToken": "P", "Position": {"PanTilt": {"x": x, "y": -x / 2},
                                                  "Zoom": {"x": zoom}}}

    requests = {id(prepare("ptz", "AbsoluteMove", move(i / 1000, i / 2000)))
                for i in range(1000)}
    assert len(requests) == 1
    body = prepare("ptz", "AbsoluteMove", move(0.5, 0.5)).fill(b"", move(0.125, 1.0))
    element = etree.fromstring(body)
    pan_tilt = element.find(".//{*}PanTilt")
    assert pan_tilt is not None
    assert (pan_tilt.get("x"), pan_tilt.get("y")) == ("0.125", "-0.0625")
    zoom = element.find(".//{*}Zoom")
    assert zoom is not None
    assert zoom.get("x") == "1.0"


REPLY = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
         b'<s:Body><tds:GetHostnameResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
         b'<tds:HostnameInformation><tds:FromDHCP>false</tds:FromDHCP></tds:HostnameInformation>'
         b'</tds:GetHostnameResponse></s:Body></s:Envelope>')


async def test_a_read_on_a_connection_the_camera_dropped_is_sent_once_more() -> None:
    """The first connection is closed without a reply (a stale keep-alive); a Get* is retried
    on a fresh one, a command is not (it may have been carried out)."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections % 2 == 1:
            writer.close()  # no reply at all
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
                     b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(REPLY), REPLY))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, OnvifPool() as pool:
        session = OnvifSession(pool, f"http://127.0.0.1:{port}/onvif/device_service", "u", None)
        body = await session.call("device", "GetHostname")
        assert body.tag.endswith("GetHostnameResponse")
        assert connections == 2
        with pytest.raises(OnvifError, match="closed the connection") as caught:
            await session.call("device", "SystemReboot")
        assert caught.value.kind is ErrorKind.DISCONNECTED
        assert connections == 3


async def test_a_reset_connection_is_a_disconnect_and_a_read_is_sent_once_more() -> None:
    """A camera that resets the connection (RST) mid-exchange gave no answer: DISCONNECTED,
    not a protocol error; a read is tried once more, then the error stands."""
    connections = 0

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, OnvifPool() as pool:
        session = OnvifSession(pool, f"http://127.0.0.1:{port}/onvif/device_service", "u", None)
        with pytest.raises(OnvifError) as caught:
            await session.call("device", "GetHostname")
    assert caught.value.kind is ErrorKind.DISCONNECTED
    assert f"127.0.0.1:{port} reset the connection" in caught.value.message
    assert connections == 2


CLOCK_REPLY = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><tds:GetSystemDateAndTimeResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
    b' xmlns:tt="http://www.onvif.org/ver10/schema"><tds:SystemDateAndTime><tt:UTCDateTime>'
    b'<tt:Time><tt:Hour>10</tt:Hour><tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time>'
    b'<tt:Date><tt:Year>2026</tt:Year><tt:Month>12</tt:Month><tt:Day>7</tt:Day></tt:Date>'
    b'</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body>'
    b'</s:Envelope>')


class GatedTransport:
    """A front (a reverse proxy, a firmware's web server) that answers a plain HTTP ``status``
    without a SOAP body to requests without credentials, and the camera's reply to the rest."""

    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason
        self.sent: list[bool] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        credentials = b"UsernameToken" in request.body or request.auth is not None
        self.sent.append(credentials)
        if not credentials:
            return HttpResponse(self.status, b"<html>" + self.reason.encode() + b"</html>",
                                self.reason, "text/html")
        return HttpResponse(200, CLOCK_REPLY, "OK", "application/soap+xml")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(("status", "reason"), [(401, "Unauthorized"), (403, "Forbidden")])
async def test_a_plain_refusal_of_the_pre_auth_clock_is_auth_and_asked_again_with_credentials(
        status: int, reason: str) -> None:
    transport = GatedTransport(status, reason)
    async with OnvifPool(transport=transport) as gated:
        camera = OnvifSession(gated, "http://127.0.0.1:9/onvif/device_service", "admin", "pw")
        await camera.sync_clock()
        assert transport.sent == [False, True]
        expected = datetime(2026, 12, 7, 10, tzinfo=UTC) - datetime.now(UTC)  # the reply's
        assert abs((camera.clock_offset - expected).total_seconds()) < 5

        anonymous = OnvifSession(gated, "http://127.0.0.1:9/onvif/device_service", "admin", None)
        with pytest.raises(OnvifError) as caught:
            await anonymous.sync_clock()
    assert caught.value.kind is ErrorKind.AUTH
    assert f"HTTP {status} {reason}" in caught.value.message
