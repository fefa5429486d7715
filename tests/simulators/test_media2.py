"""Media2 on the simulated camera, spoken to in hand-written XML over aiohttp with HTTP
Digest (no WSDL of ours involved), as a Profile T client would."""

from __future__ import annotations

import asyncio

import aiohttp
from lxml import etree

from devmgr.media.stream import sample_stream
from simulators.host import CameraHandle

ADMIN = ("admin", "Cam-2024!secure")
TR2 = "http://www.onvif.org/ver20/media/wsdl"
ENVELOPE = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tr2="http://www.onvif.org/ver20/media/wsdl" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>{}</s:Body></s:Envelope>')


async def call(url: str, body: str) -> tuple[int, etree._Element]:
    digest = aiohttp.DigestAuthMiddleware(*ADMIN)
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with (aiohttp.ClientSession(middlewares=(digest,)) as session,
                session.post(url, data=ENVELOPE.format(body).encode(),
                             headers=headers) as response):
        return response.status, etree.fromstring(await response.read())


async def test_media2_is_advertised_and_serves_profiles_uris_and_encoders(
        camera: CameraHandle) -> None:
    _, services = await call(camera.device_url, "<tds:GetServices><tds:IncludeCapability>"
                             "true</tds:IncludeCapability></tds:GetServices>")
    (media2,) = [s for s in services.iter("{*}Service") if s.findtext("{*}Namespace") == TR2]
    url = media2.findtext("{*}XAddr") or ""
    assert media2.find("{*}Capabilities/{*}Capabilities") is not None

    _, answer = await call(url, "<tr2:GetProfiles><tr2:Type>All</tr2:Type></tr2:GetProfiles>")
    profiles = answer.findall(".//{*}Profiles")
    assert [p.get("token") for p in profiles] == ["Profile_1", "Profile_2"]
    encoders = {p.get("token"): p.find("{*}Configurations/{*}VideoEncoder") for p in profiles}
    main = encoders["Profile_1"]
    assert main is not None
    assert main.findtext("{*}Encoding") == "H264"
    width = int(main.findtext("{*}Resolution/{*}Width") or 0)

    _, listed = await call(url, "<tr2:GetVideoEncoderConfigurations/>")
    assert [c.get("token") for c in listed.iter("{*}Configurations")] == [
        "VideoEncoderConfig_1", "VideoEncoderConfig_2"]

    _, uri = await call(url, "<tr2:GetStreamUri><tr2:Protocol>RtspUnicast</tr2:Protocol>"
                        "<tr2:ProfileToken>Profile_1</tr2:ProfileToken></tr2:GetStreamUri>")
    stream = uri.findtext(".//{*}Uri") or ""
    sample = await asyncio.to_thread(sample_stream, stream, *ADMIN, seconds=0.3)
    assert (sample.codec, sample.width) == ("h264", width)

    _, snapshot = await call(url, "<tr2:GetSnapshotUri><tr2:ProfileToken>Profile_2"
                             "</tr2:ProfileToken></tr2:GetSnapshotUri>")
    assert (snapshot.findtext(".//{*}Uri") or "").startswith(f"http://{camera.address}:")

    status, refused = await call(url, "<tr2:GetStreamUri><tr2:Protocol>RtspMulticast"
                                 "</tr2:Protocol><tr2:ProfileToken>Profile_1</tr2:ProfileToken>"
                                 "</tr2:GetStreamUri>")
    assert status >= 400
    assert "InvalidStreamSetup" in etree.tostring(refused).decode()
