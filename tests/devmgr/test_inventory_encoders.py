"""Inventory records each profile's video encoder configuration (what its stream should be),
through the CLI on a small fleet, and a camera describing an impossible one gets a classified
protocol error for it, never a crash or a half-believed value."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camfleet.errors import ErrorKind
from camfleet.http import HttpRequest, HttpResponse
from camfleet.targets import OnvifCredentials, Target
from devmgr.cli import app
from devmgr.inventory.collect import collect_inventory
from devmgr.inventory.model import Inventory
from devmgr.onvif.session import OnvifPool
from devmgr.onvif.transport import AiohttpTransport
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.host import CameraHandle
from simulators.spec import CameraSpec
from simulators.video import default_encoders
from tests.conftest import free_udp_port
from tests.heads import operation_of

runner = CliRunner()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(3, seed=12)],
               discovery_port=free_udp_port()) as running:
        yield running


def test_inventory_records_each_profiles_encoder_configuration(fleet: Fleet,
                                                               tmp_path: Path) -> None:
    manifest, registry = tmp_path / "fleet.json", tmp_path / "registry.sqlite"
    fleet.manifest().save(manifest)
    result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                 "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    found = {inv["target_id"]: inv for inv in json.loads(result.stdout)}
    for camera_id in fleet.camera_ids:
        spec = CameraSpec.model_validate(fleet.truth(camera_id)["spec"])
        expected = {token: (c.codec, c.width, c.height, c.fps, c.bitrate_kbps)
                    for token, c in default_encoders(spec).items()}
        got = {p["token"]: (p["video_encoder"]["encoding"], p["video_encoder"]["width"],
                            p["video_encoder"]["height"], p["video_encoder"]["frame_rate"],
                            p["video_encoder"]["bitrate_kbps"])
               for p in found[camera_id]["profiles"]}
        assert got == expected, camera_id
        main = found[camera_id]["profiles"][0]["video_encoder"]
        assert (main["token"], main["gov_length"], main["codec_profile"]) == (
            "VideoEncoderConfig_1", default_encoders(spec)["Profile_1"].gop_length, "Main")
    with Registry.open(registry) as stored:
        kept = stored.latest_inventories()
    assert {cid: [p.video_encoder for p in inv.profiles] for cid, inv in kept.items()} == {
        cid: [p.video_encoder for p in Inventory.model_validate(found[cid]).profiles]
        for cid in fleet.camera_ids}

    table = runner.invoke(app, ["inventory", "--targets", str(manifest),
                                "--registry", str(registry)])
    assert table.exit_code == 0, table.output
    main = default_encoders(CameraSpec.model_validate(
        fleet.truth(fleet.camera_ids[0])["spec"]))["Profile_1"]
    assert f"H264 {main.width}x{main.height}@{main.fps:g}" in table.stdout
    assert "JPEG 640x360" not in table.stdout  # the main stream's only (all in --json)


class EditedProfiles:
    """The camera's own answers, with one value of GetProfiles replaced (a hostile firmware)."""

    def __init__(self, pattern: str, value: str) -> None:
        self.pattern, self.value = re.compile(pattern.encode()), value.encode()
        self.inner = AiohttpTransport()

    async def send(self, request: HttpRequest) -> HttpResponse:
        reply = await self.inner.send(request)
        if operation_of(request.body) != "GetProfiles":
            return reply
        body = self.pattern.sub(lambda m: m.group(1) + self.value + m.group(2), reply.body,
                                count=1)
        return replace(reply, body=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(("pattern", "value", "says"), [
    (r"(:Width>)\d+(</)", "1e309", "width 1e309 is outside"),
    (r"(:Height>)\d+(</)", "20000", "height 20000 is outside"),
    (r"(:FrameRateLimit>)\d+(</)", "NaN", "frame_rate NaN is outside"),
    (r"(:BitrateLimit>)\d+(</)", "1000000000000", "bitrate_kbps"),
    (r"(:Encoding>)\w+(</)", "[red]H264 &lt;b&gt;", "is not a codec name"),
])
def test_an_impossible_encoder_configuration_is_that_cameras_protocol_error(
        camera: CameraHandle, pattern: str, value: str, says: str) -> None:
    target = Target(id="hostile", address=camera.address, http_port=camera.http_port,
                    device_service=camera.device_url,
                    onvif=OnvifCredentials(username=camera.spec.users[0].username,
                                           password=camera.spec.users[0].password))

    async def collect() -> Inventory:
        transport = EditedProfiles(pattern, value)
        try:
            async with OnvifPool(transport=transport) as pool:
                return await collect_inventory(pool, target)
        finally:
            await transport.aclose()

    inv = asyncio.run(collect())
    problems = [e for e in inv.errors if e.operation == "GetProfiles"]
    assert [e.kind for e in problems] == [ErrorKind.PROTOCOL], inv.errors
    assert "Profile_1" in problems[0].message
    assert says in problems[0].message
    first, second = inv.profiles
    assert first.video_encoder is None
    assert first.width is None
    assert second.video_encoder is not None
    assert second.video_encoder.encoding == "JPEG"
    assert inv.device is not None
    assert first.stream_uri
