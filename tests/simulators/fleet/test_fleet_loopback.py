"""A fleet on the loopback: every camera at its own address, every fault as specified.

The same checks run on the docker backend (a container per camera, reached across an
internal bridge), parametrized by ``backend``: where it cannot run they skip with the reason
(see ``backends.py``). Observed only through independent clients (raw WS-Discovery, net-snmp,
onvif-zeep-async, aiohttp); the control API's truth is what they are compared against.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
import zeep.exceptions
from lxml import etree

from camfleet.model import GeoPosition
from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import Target, TargetsFile, load_targets
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, generate_fleet, load_fleet_file
from tests.clients import (
    listen,
    mac_from_snmp,
    multicast_socket,
    onvif_client,
    probe,
    requires_netsnmp,
    snmpget,
    snmpget_v3,
)
from tests.conftest import free_udp_port
from tests.simulators.fleet.backends import require

SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_PHYS = "1.3.6.1.2.1.2.2.1.6.1"
ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"
COUNT = 16
BACKENDS = ("loopback", "docker")


@pytest.fixture(scope="module", params=BACKENDS)
def fleet(request: pytest.FixtureRequest) -> Iterator[Fleet]:
    require(request.param)
    members = [FleetMember(spec) for spec in generate_fleet(COUNT, seed=11)]
    with Fleet(members, backend=request.param, discovery_port=free_udp_port(),
               reboot_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> TargetsFile:
    path = tmp_path_factory.mktemp("fleet") / "manifest.json"
    fleet.manifest().save(path)
    return load_targets(path)


def ptz_target(fleet: Fleet, manifest: TargetsFile, skip: int = 0) -> Target:
    """A PTZ camera of the fleet (``skip`` picks another one, so tests don't share)."""
    domes = [t for t in manifest.targets
             if fleet.truth(t.id)["spec"]["ptz"]["type"] == "dome"]
    return domes[skip]


def fixed_target(fleet: Fleet, manifest: TargetsFile, skip: int = 0) -> Target:
    bullets = [t for t in manifest.targets
               if fleet.truth(t.id)["spec"]["ptz"]["type"] == "fixed"]
    return bullets[skip]


# -- every camera at its own address -------------------------------------------------------------

def test_manifest_lists_every_camera_with_what_a_client_needs(fleet: Fleet,
                                                              manifest: TargetsFile) -> None:
    assert len(manifest.targets) == COUNT
    addresses = {t.address for t in manifest.targets}
    assert len(addresses) == COUNT
    if fleet.backend == "loopback":
        assert all(a.startswith("127.") and a != "127.0.0.1" for a in addresses)
    else:  # on the network's /24, beside the manager side's address
        subnet = ipaddress.ip_network(f"{fleet.manager_address}/24", strict=False)
        assert subnet.is_private
        assert all(ipaddress.ip_address(a) in subnet for a in addresses)
        assert fleet.manager_address not in addresses
    for target in manifest.targets:
        assert target.device_url == f"http://{target.address}:{target.http_port}/onvif/device_service"
        assert target.onvif.password
        assert target.serial
        assert target.mac
        assert target.snmp is not None
        assert target.snmp.community
        assert target.snmp.v3
    assert manifest.fleet is not None
    assert manifest.fleet.control_url.startswith("http://127.0.0.1:")


def test_multicast_probe_finds_every_camera_at_its_address(fleet: Fleet,
                                                           manifest: TargetsFile) -> None:
    found = probe(fleet.discovery_port, fleet.manager_address)
    assert set(found) == {t.address for t in manifest.targets}
    for target in manifest.targets:
        assert found[target.address].xaddrs == (target.device_url,)


async def test_onvif_identity_of_every_camera(manifest: TargetsFile) -> None:
    async def identity(target: Target) -> tuple[str, str]:
        async with onvif_client(target) as client:
            info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
            return target.serial or "", info.SerialNumber

    pairs = await asyncio.gather(*(identity(t) for t in manifest.targets))
    assert all(expected == got for expected, got in pairs)


@requires_netsnmp
def test_snmp_identity_of_every_camera(manifest: TargetsFile) -> None:
    for target in manifest.targets:
        name, serial = snmpget(target, SYS_NAME, ENT_SERIAL)
        assert name.strip('"') == target.id
        assert serial.strip('"') == target.serial
        assert snmpget_v3(target, SYS_NAME) == [f'"{target.id}"']


# -- wire faults ---------------------------------------------------------------------------------

async def test_latency_delays_only_the_chosen_operation(fleet: Fleet, manifest: TargetsFile,
                                                        clean: None) -> None:
    target = manifest.targets[0]
    fleet.add_fault(target.id, {"kind": "latency", "ms": 600, "ops": ["GetDeviceInformation"]})
    async with onvif_client(target) as client:
        device = await client.create_devicemgmt_service()
        began = time.monotonic()
        await device.GetDeviceInformation()
        slow = time.monotonic() - began
        began = time.monotonic()
        await device.GetHostname()
        fast = time.monotonic() - began
    assert slow >= 0.6
    assert fast < 0.3


async def test_each_camera_streams_on_its_stream_uri_until_stream_down(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    """Through the fleet's workers: the stream plays where GetStreamUri says (FFmpeg as the
    client), and the stream_down fault refuses it."""
    from devmgr.media.stream import StreamError, sample_stream  # noqa: PLC0415

    target = manifest.targets[3]
    async with onvif_client(target) as client:
        media = await client.create_media_service()
        uri = str((await media.GetStreamUri({"ProfileToken": "Profile_2", "StreamSetup": {
            "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})).Uri)
    assert uri.startswith(f"rtsp://{target.address}:")
    login = (target.onvif.username, target.onvif_password() or "")
    sample = await asyncio.to_thread(sample_stream, uri, *login, seconds=0.5)
    assert sample.codec == "mjpeg"
    fleet.add_fault(target.id, "stream_down")
    with pytest.raises(StreamError):
        await asyncio.to_thread(sample_stream, uri, *login, timeout_s=3.0)


async def test_no_response_times_the_client_out(fleet: Fleet, manifest: TargetsFile,
                                                clean: None) -> None:
    target = manifest.targets[1]
    fleet.add_fault(target.id, {"kind": "no_response", "ops": ["GetProfiles"]})
    async with onvif_client(target) as client:
        media = await client.create_media_service()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await asyncio.wait_for(media.GetProfiles(), timeout=1.0)
        # Other operations still answer.
        await (await client.create_devicemgmt_service()).GetHostname()


async def test_soap_fault_and_http_500_on_chosen_operations(fleet: Fleet, manifest: TargetsFile,
                                                            clean: None) -> None:
    target = manifest.targets[2]
    fleet.set_faults(target.id, [
        {"kind": "soap_fault", "ops": ["GetProfiles"], "subcode": "ter:NoProfile"},
        {"kind": "http_500", "ops": ["GetVideoSources"]},
    ])
    async with onvif_client(target) as client:
        media = await client.create_media_service()
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await media.GetProfiles()
        assert [q.localname for q in caught.value.subcodes] == ["NoProfile"]
        with pytest.raises(zeep.exceptions.Error):
            await media.GetVideoSources()
        await (await client.create_devicemgmt_service()).GetDeviceInformation()


async def test_malformed_xml_replies(fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[3]
    fleet.add_fault(target.id, {"kind": "malformed_xml", "ops": ["GetDeviceInformation"]})
    async with onvif_client(target) as client:
        device = await client.create_devicemgmt_service()
        # onvif-zeep-async parses in lxml's recover mode: a cut-off reply loses its tail.
        info = await device.GetDeviceInformation()
        assert info.SerialNumber is None
        assert (await device.GetHostname()).Name == target.id  # other operations intact
    password = target.onvif_password() or ""
    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            b'<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
            b'</s:Envelope>')
    digest = aiohttp.DigestAuthMiddleware(target.onvif.username, password)
    async with aiohttp.ClientSession() as session, session.post(
            target.device_url, data=body, middlewares=(digest,)) as reply:
        raw = await reply.read()
    with pytest.raises(etree.XMLSyntaxError):  # a strict parser refuses it outright
        etree.fromstring(raw)


async def test_auth_failure_refuses_the_filed_credentials(fleet: Fleet, manifest: TargetsFile,
                                                          clean: None) -> None:
    target = manifest.targets[4]
    fleet.add_fault(target.id, "auth_failure")
    async with onvif_client(target, update_xaddrs=False) as client:
        device = await client.create_devicemgmt_service()
        assert (await device.authless_GetSystemDateAndTime()).UTCDateTime.Date.Year >= 2024
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await device.GetDeviceInformation()
        assert [q.localname for q in caught.value.subcodes] == ["NotAuthorized"]


async def test_clock_skew_shows_in_the_camera_clock(fleet: Fleet, manifest: TargetsFile,
                                                    clean: None) -> None:
    target = manifest.targets[5]
    fleet.add_fault(target.id, {"kind": "clock_skew", "seconds": -7200})
    async with onvif_client(target, adjust_time=True) as client:
        assert client.dt_diff is not None
        assert client.dt_diff.total_seconds() == pytest.approx(-7200, abs=5)
    async with onvif_client(target, update_xaddrs=False) as naive:
        with pytest.raises(zeep.exceptions.Fault):
            await (await naive.create_devicemgmt_service()).GetDeviceInformation()


async def test_quirks_datetime_and_digest_only_snapshot(fleet: Fleet, manifest: TargetsFile,
                                                        clean: None) -> None:
    target = ptz_target(fleet, manifest, skip=0)
    password = target.onvif_password() or ""
    url = target.snapshot_url or ""
    async with aiohttp.ClientSession() as session:
        basic = {"Authorization": aiohttp.encode_basic_auth(target.onvif.username, password)}
        async with session.get(url, headers=basic) as reply:
            assert reply.status == 200  # Basic is fine by default...
        fleet.set_faults(target.id, ["quirk_datetime", "quirk_snapshot_digest"])
        async with session.get(url, headers=basic) as reply:
            assert reply.status == 401  # ...not with the quirk
        digest = aiohttp.DigestAuthMiddleware(target.onvif.username, password)
        async with session.get(url, middlewares=(digest,)) as reply:
            assert reply.status == 200
    async with onvif_client(target) as client:
        # onvif-zeep-async copes with the vendor's formats (it has forgiving date types)...
        ptz = await client.create_ptz_service()
        status = await ptz.GetStatus({"ProfileToken": "Profile_1"})
        assert status.MoveStatus.PanTilt == "IDLE"
        date = await (await client.create_devicemgmt_service()).GetSystemDateAndTime()
        assert date.TimeZone.TZ == "GMT+08:00"
    # ...but the wire carries them: a space instead of "T", and no zone.
    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            b'<GetStatus xmlns="http://www.onvif.org/ver20/ptz/wsdl"><ProfileToken>Profile_1'
            b"</ProfileToken></GetStatus></s:Body></s:Envelope>")
    ptz_url = target.device_url.replace("device_service", "ptz_service")
    async with aiohttp.ClientSession() as session, session.post(
            ptz_url, data=body, middlewares=(digest,)) as reply:
        assert reply.status == 200
        wire = await reply.read()
    assert re.search(rb">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</[\w:]*UtcTime>", wire)


# -- unit faults ---------------------------------------------------------------------------------

@requires_netsnmp
def test_reboot_says_bye_and_hello_and_resets_snmp(fleet: Fleet, manifest: TargetsFile) -> None:
    target = manifest.targets[6]
    boots_before = int(snmpget(target, ENGINE_BOOTS)[0])
    with multicast_socket(fleet.discovery_port, fleet.manager_address) as group:
        fleet.reboot(target.id)
        heard = listen(group, 2.0)
    kinds = [wsd.parse_hello_bye(h.data).kind for h in heard if h.source == target.address
             and b"Probe" not in h.data]
    assert kinds[:2] == ["bye", "hello"]
    deadline = time.monotonic() + 5
    while not (values := snmpget(target, ENGINE_BOOTS, SYS_UPTIME)):
        assert time.monotonic() < deadline
    assert int(values[0]) == boots_before + 1
    uptime = values[1]
    assert uptime.count(":") >= 2
    assert uptime.split(":")[0] == "0"


async def test_moved_changes_position_scopes_and_sys_location(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[7]
    before = fleet.truth(target.id)["spec"]["location"]
    fleet.add_fault(target.id, {"kind": "moved", "distance_m": 800, "bearing_deg": 90,
                                "announce": True,
                                "address": "Depot, 12 Heping Avenue"})
    async with onvif_client(target) as client:
        device = await client.create_devicemgmt_service()
        scopes = {s.ScopeItem for s in await device.GetScopes()}
    assert not any(s.endswith(before["scope"]) for s in scopes)
    truth = fleet.truth(target.id)["spec"]["location"]
    moved = GeoPosition(**truth["position"])
    assert moved.distance_to(GeoPosition(**before["position"])) == pytest.approx(800, rel=0.01)
    if snmpget(target, SYS_LOCATION):
        assert snmpget(target, SYS_LOCATION) == ['"Depot, 12 Heping Avenue"']


async def test_mount_shift_turns_the_view_but_not_the_reported_position(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = fixed_target(fleet, manifest)
    async with onvif_client(target) as client:
        before = await client.get_snapshot("Profile_1")
        fleet.add_fault(target.id, {"kind": "mount_shifted", "pan_deg": 2.0})
        after = await client.get_snapshot("Profile_1")
    assert before is not None
    assert after is not None
    frames = [np.float32(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE))
              for b in (before, after)]
    h, w = frames[0].shape
    crops = [f[h // 4: 3 * h // 4, w // 4: 3 * w // 4] for f in frames]
    (dx, _dy), _ = cv2.phaseCorrelate(crops[0], crops[1])
    truth = fleet.truth(target.id)
    optics = truth["spec"]["optics"]
    focal = (optics["width"] / 2) / math.tan(math.radians(optics["hfov"]) / 2)
    # The unit turned 2 degrees about the vertical while looking down at tilt phi: the content
    # now at the centre was at x = f cos(phi) sin(t) / (cos^2(phi) cos(t) + sin^2(phi)).
    phi, turn = math.radians(truth["mount"]["tilt"]), math.radians(2.0)
    x_before = focal * math.cos(phi) * math.sin(turn) / (
        math.cos(phi) ** 2 * math.cos(turn) + math.sin(phi) ** 2)
    assert dx == pytest.approx(-x_before, abs=1.0)
    assert truth["ptz"]["position"] == {"pan": 0.0, "tilt": 0.0, "zoom": 0.0}


async def test_ptz_limits_changed_and_preset_moved(fleet: Fleet, manifest: TargetsFile,
                                                   clean: None) -> None:
    target = ptz_target(fleet, manifest, skip=1)
    async with onvif_client(target) as client:
        ptz = await client.create_ptz_service()
        config_before = (await ptz.GetConfigurations())[0]
        presets_before = {p.token: p for p in await ptz.GetPresets({"ProfileToken": "Profile_1"})}
        fleet.set_faults(target.id, [
            {"kind": "ptz_limits_changed", "pan": {"min": -30, "max": 30}},
            {"kind": "preset_moved", "token": "1", "pan_deg": 10},
        ])
        config_after = (await ptz.GetConfigurations())[0]
        presets_after = {p.token: p for p in await ptz.GetPresets({"ProfileToken": "Profile_1"})}
        with pytest.raises(zeep.exceptions.Fault):  # 45 degrees is now out of bounds
            await ptz.AbsoluteMove({"ProfileToken": "Profile_1", "Position": {"PanTilt": {
                "x": 45.0, "y": 0.0, "space":
                "http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"}}})
    before_x = config_before.PanTiltLimits.Range.XRange
    after_x = config_after.PanTiltLimits.Range.XRange
    assert (after_x.Min, after_x.Max) != (before_x.Min, before_x.Max)
    assert after_x.Max == pytest.approx(30 / 180)
    moved_x = presets_after["1"].PTZPosition.PanTilt.x
    assert moved_x == pytest.approx(presets_before["1"].PTZPosition.PanTilt.x + 10 / 180)


@requires_netsnmp
async def test_removed_is_silent_everywhere_until_cleared(fleet: Fleet, manifest: TargetsFile,
                                                          clean: None) -> None:
    target = manifest.targets[8]
    with multicast_socket(fleet.discovery_port, fleet.manager_address) as group:
        fleet.add_fault(target.id, "removed")
        said = [h for h in listen(group, 0.5) if h.source == target.address]
    assert said == []  # no Bye: it was unplugged
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((target.address, target.http_port), 1).close()
    assert snmpget(target, SYS_NAME, timeout_s=0.5) == []
    assert target.address not in probe(fleet.discovery_port, fleet.manager_address, wait_s=1.0)
    fleet.clear_faults(target.id)
    async with onvif_client(target) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == target.serial
    assert target.address in probe(fleet.discovery_port, fleet.manager_address, wait_s=1.0)


@requires_netsnmp
async def test_replaced_unit_has_a_new_serial_and_mac_at_the_same_address(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[9]
    def endpoint() -> str:
        return probe(fleet.discovery_port, fleet.manager_address)[target.address].endpoint

    endpoint_before = endpoint()
    fleet.add_fault(target.id, "replaced")
    async with onvif_client(target) as client:
        device = await client.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        mac = (await device.GetNetworkInterfaces())[0].Info.HwAddress
    assert info.SerialNumber != target.serial
    assert mac != target.mac
    assert snmpget(target, ENT_SERIAL) == [f'"{info.SerialNumber}"']
    assert mac_from_snmp(snmpget(target, IF_PHYS)[0]) == mac
    assert endpoint() != endpoint_before


async def test_non_discoverable_is_not_found_but_answers(fleet: Fleet, manifest: TargetsFile,
                                                         clean: None) -> None:
    target = manifest.targets[10]
    fleet.add_fault(target.id, "non_discoverable")
    found = probe(fleet.discovery_port, fleet.manager_address)
    assert target.address not in found
    assert len(found) == COUNT - 1
    async with onvif_client(target) as client:
        device = await client.create_devicemgmt_service()
        assert await device.GetDiscoveryMode() == "NonDiscoverable"


async def test_image_faults_spoil_the_snapshot(fleet: Fleet, manifest: TargetsFile,
                                               clean: None) -> None:
    target = fixed_target(fleet, manifest, skip=1)

    def grey(jpeg: bytes | None) -> np.ndarray:
        assert jpeg is not None
        return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)

    async with onvif_client(target) as client:
        clear = grey(await client.get_snapshot("Profile_1"))
        fleet.set_faults(target.id, [{"kind": "obstructed", "region": [0.0, 0.5, 0.5, 1.0],
                                      "texture": "billboard"}])
        covered = grey(await client.get_snapshot("Profile_1"))
        fleet.set_faults(target.id, [{"kind": "blurred", "sigma_px": 4}])
        blurred = grey(await client.get_snapshot("Profile_1"))
    h, w = clear.shape
    changed = np.abs(clear.astype(int) - covered.astype(int)) > 12
    assert changed[h // 2 + 5:, : w // 2 - 5].mean() > 0.5      # inside the region
    assert changed[: h // 2 - 5, :].mean() < 0.02                # outside it
    sharpness = [cv2.Laplacian(img, cv2.CV_64F).var() for img in (clear, blurred)]
    assert sharpness[1] < 0.2 * sharpness[0]


# -- control ---------------------------------------------------------------------------------------

async def test_control_api_over_http(fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    assert manifest.fleet is not None
    base = manifest.fleet.control_url
    camera = manifest.targets[11].id
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/cameras/{camera}/faults",
                                json={"kind": "clock_skew", "seconds": 90}) as reply:
            assert reply.status == 200
        async with session.post(f"{base}/cameras/{camera}/faults",
                                json={"kind": "latency", "ms": 10}) as reply:
            assert [f["kind"] for f in await reply.json()] == ["clock_skew", "latency"]
        async with session.get(f"{base}/cameras/{camera}") as reply:
            truth = await reply.json()
            assert truth["clock_offset_s"] == 90
        async with session.delete(f"{base}/cameras/{camera}/faults/clock_skew") as reply:
            assert [f["kind"] for f in await reply.json()] == ["latency"]
        async with session.post(f"{base}/cameras/{camera}/faults",
                                json={"kind": "telepathy"}) as reply:
            assert reply.status == 400
            assert "telepathy" in (await reply.json())["error"]
        async with session.get(f"{base}/cameras/no-such-camera") as reply:
            assert reply.status == 404
        async with session.delete(f"{base}/cameras/{camera}/faults") as reply:
            assert await reply.json() == []
        async with session.get(f"{base}/manifest") as reply:
            assert len((await reply.json())["targets"]) == COUNT


@pytest.mark.parametrize("backend", BACKENDS)
def test_faults_from_the_fleet_file_are_in_force_at_start(tmp_path: Path, backend: str) -> None:
    require(backend)
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text("""
defaults:
  recording: {retention_days: 90}
templates:
  knocked:
    faults: [{kind: mount_shifted, pan_deg: 4}]
cameras:
  - count: 2
    seed: 3
  - id: gate-1
    template: knocked
    location: {address: North gate}
""")
    members = load_fleet_file(fleet_file)
    assert [m.spec.id for m in members] == ["cam-0000", "cam-0001", "gate-1"]
    assert all(m.spec.recording.retention_days == 90 for m in members)
    with Fleet(members, backend=backend, discovery_port=free_udp_port()) as small:
        truth = small.truth("gate-1")
        manifest = small.manifest()
    assert truth["faults"][0]["kind"] == "mount_shifted"
    base_heading = truth["base_spec"]["mount"]["heading"]
    assert truth["mount"]["heading"] == pytest.approx((base_heading + 4) % 360)
    assert truth["spec"]["location"]["address"] == "North gate"
    assert manifest.fleet is not None
    assert manifest.fleet.members["gate-1"].faults[0]["kind"] == "mount_shifted"


def test_stopping_leaves_no_process_and_frees_every_address() -> None:
    fleet = Fleet([FleetMember(s) for s in generate_fleet(4, seed=5)],
                  discovery_port=free_udp_port(), workers=2)
    fleet.start()
    pids = fleet.worker_pids()
    addresses = [(t.address, t.http_port) for t in fleet.manifest().targets]
    assert len(pids) == 2
    fleet.stop()
    fleet.stop()  # idempotent
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for address in addresses:
        with socket.socket() as sock:
            sock.bind(address)  # nobody holds it any more
    with pytest.raises(FleetError, match="stopped"):
        fleet.truth("cam-0000")
