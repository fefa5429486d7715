"""The quick start's main job: start the example camera and query it like a field engineer.

Every client here is independent of the simulator: onvif-zeep-async for ONVIF, pysnmp's
high-level API for SNMPv3, and a raw UDP socket carrying a WS-Discovery Probe.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

from camfleet.protocols import wsdiscovery as wsd
from simulators.camera import SimulatedCamera
from simulators.spec import CameraSpec

SNMP_OIDS = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
    "entPhysicalSerialNum": "1.3.6.1.2.1.47.1.1.1.1.11.1",
    "snmpEngineBoots": "1.3.6.1.6.3.10.2.1.2.0",
}


def demo_spec() -> CameraSpec:
    spec = CameraSpec.example().with_network(address="127.0.0.1", http_port=0,
                                             discovery_max_delay_ms=100)
    return spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"port": 0})})


async def query_onvif(camera: SimulatedCamera, out: Path) -> dict[str, Any]:
    from onvif import ONVIFCamera  # noqa: PLC0415 (import configures logging; keep it local)

    user = camera.spec.users[0]
    client = ONVIFCamera(camera.address, camera.http_port, user.username, user.password,
                         adjust_time=True)
    try:
        await client.update_xaddrs()
        device = await client.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        media = await client.create_media_service()
        profiles = await media.GetProfiles()
        ptz = await client.create_ptz_service()
        started = time.monotonic()
        await ptz.AbsoluteMove({"ProfileToken": "Profile_1",
                                "Position": {"PanTilt": {"x": 0.25, "y": -0.4}}})
        while True:
            status = await ptz.GetStatus({"ProfileToken": "Profile_1"})
            if status.MoveStatus.PanTilt == "IDLE":
                break
            await asyncio.sleep(0.05)
        settle = time.monotonic() - started
        jpeg = await client.get_snapshot("Profile_1")
    finally:
        await client.close()
    snapshot = out / "snapshot.jpg"
    await asyncio.to_thread(save, snapshot, jpeg or b"")
    return {
        "device": f"{info.Manufacturer} {info.Model}, firmware {info.FirmwareVersion}",
        "serial": info.SerialNumber,
        "profiles": ", ".join(f"{p.token} ({p.VideoEncoderConfiguration.Resolution.Width}x"
                              f"{p.VideoEncoderConfiguration.Resolution.Height})"
                              for p in profiles),
        "ptz": f"moved to pan/tilt ({status.Position.PanTilt.x:.2f}, "
               f"{status.Position.PanTilt.y:.2f}) generic, settled in {settle:.2f} s",
        "snapshot": f"{snapshot} ({len(jpeg or b'')} bytes)",
    }


def save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def query_snmp(camera: SimulatedCamera) -> dict[str, str]:
    from pysnmp.hlapi.v3arch.asyncio import (  # noqa: PLC0415
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
        usmAesCfb128Protocol,
        usmHMACSHAAuthProtocol,
    )

    v3 = camera.spec.snmp.v3_users[0]
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create((camera.address, camera.snmp_port),
                                                 timeout=2, retries=1)
        error, status, _, binds = await get_cmd(
            engine,
            UsmUserData(v3.name, v3.auth_key, v3.priv_key,
                        authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol),
            target, ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in SNMP_OIDS.values()))
    finally:
        engine.close_dispatcher()
    if error or status:
        return {"error": str(error or status.prettyPrint())}
    return {name: bind[1].prettyPrint() for name, bind in zip(SNMP_OIDS, binds, strict=True)}


async def probe_discovery(camera: SimulatedCamera, wait_s: float = 1.0) -> list[wsd.ProbeMatch]:
    message_id, datagram = wsd.build_probe([wsd.TYPE_NVT])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sock.sendto(datagram, (wsd.MULTICAST_GROUP, camera.discovery.port))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        found = []
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 65536), left)
            except TimeoutError:
                break
            try:
                found += [m for m in wsd.parse_probe_matches(data)
                          if m.relates_to == message_id]
            except wsd.InvalidMessage:
                continue
        return found
    finally:
        sock.close()


async def run_demo(out: Path) -> int:
    spec = demo_spec()
    print(f"Starting simulated camera {spec.id!r} ({spec.identity.manufacturer} "
          f"{spec.identity.model}) on {spec.network.address} ...")
    async with SimulatedCamera(spec) as camera:
        print(f"  ONVIF device service  {camera.device_url}")
        print(f"  SNMP                  udp://{camera.address}:{camera.snmp_port}")
        print(f"  WS-Discovery          udp port {camera.discovery.port}\n")
        matches = await probe_discovery(camera)
        onvif = await query_onvif(camera, out)
        snmp = await query_snmp(camera)
    rows: list[tuple[str, str]] = [
        ("WS-Discovery", f"{len(matches)} ProbeMatch: "
                         + ", ".join(x for m in matches for x in m.xaddrs)),
        *((f"ONVIF {key}", value) for key, value in onvif.items()),
        *((f"SNMPv3 {key}", value) for key, value in snmp.items()),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    ok = bool(matches) and "error" not in snmp and onvif["serial"] == spec.identity.serial
    print("\nThe camera said Bye and released its ports." if ok else "\nSomething failed.")
    return 0 if ok else 1
