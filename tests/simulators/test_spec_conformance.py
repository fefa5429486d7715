"""What the ONVIF device test specifications require of a camera, held against the simulator:
service capabilities that agree wherever they are reported, the faults the specifications
name, UsernameToken refusals; and the fault kinds that break exactly one of those rules.

SOAP is exchanged in this process (``InProcessTransport``); faults that act on the wire or on
WS-Discovery need a listening camera (``CameraHost``).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree

from camfleet.protocols import wsdiscovery as wsd
from devmgr.onvif.errors import SoapFaultError
from devmgr.onvif.session import OnvifPool, OnvifSession
from simulators.camera import SimulatedCamera
from simulators.faults import parse_fault
from simulators.fleet.generate import generate_fleet
from simulators.host import CameraHandle, CameraHost
from simulators.soap.inprocess import InProcessTransport
from simulators.spec import CameraSpec
from tests.clients import listen, multicast_socket
from tests.conftest import loopback_spec
from tests.simulators.helpers import unicast_probe

NAMESPACES = {"device": "http://www.onvif.org/ver10/device/wsdl",
              "media": "http://www.onvif.org/ver10/media/wsdl",
              "media2": "http://www.onvif.org/ver20/media/wsdl",
              "ptz": "http://www.onvif.org/ver20/ptz/wsdl",
              "imaging": "http://www.onvif.org/ver20/imaging/wsdl",
              "recording": "http://www.onvif.org/ver10/recording/wsdl",
              "events": "http://www.onvif.org/ver10/events/wsdl"}
RTSP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


async def _session(spec: CameraSpec) -> AsyncIterator[OnvifSession]:
    camera = SimulatedCamera(spec)
    async with OnvifPool(transport=InProcessTransport([camera.http])) as pool:
        admin = spec.users[0]
        session = OnvifSession(pool, camera.device_url, admin.username, admin.password)
        await session.sync_clock()
        services = await session.call("device", "GetServices", {"IncludeCapability": False})
        for entry in services.iterfind("{*}Service"):
            name = next(n for n, ns in NAMESPACES.items()
                        if ns == entry.findtext("{*}Namespace"))
            session.set_xaddr(name, entry.findtext("{*}XAddr") or "")
        yield session


@pytest.fixture
async def dome() -> AsyncIterator[OnvifSession]:
    async for session in _session(CameraSpec.example()):
        yield session


@pytest.fixture
async def bullet() -> AsyncIterator[OnvifSession]:
    spec = next(s for s in generate_fleet(4, seed=0) if not s.is_ptz)
    async for session in _session(spec):
        yield session


def _shape(element: etree._Element) -> tuple[Any, ...]:
    """Names, attributes and text of an element tree, whatever prefixes it was written with."""
    return (element.tag, sorted(element.attrib.items()), (element.text or "").strip(),
            [_shape(child) for child in element])


async def test_get_services_carries_capabilities_only_when_asked(dome: OnvifSession) -> None:
    """DEVICE-1-1-13..22: no Capabilities with IncludeCapability false; with true, each
    service's own Capabilities element, the same as its GetServiceCapabilities (DEVICE-1-1-19,
    PTZ-8-1-2)."""
    plain = await dome.call("device", "GetServices", {"IncludeCapability": False})
    assert [s.find("{*}Capabilities") for s in plain.iterfind("{*}Service")] == [None] * len(
        NAMESPACES)
    full = await dome.call("device", "GetServices", {"IncludeCapability": True})
    by_namespace = {s.findtext("{*}Namespace"): s for s in full.iterfind("{*}Service")}
    assert set(by_namespace) == set(NAMESPACES.values())
    for name, namespace in NAMESPACES.items():
        carried = by_namespace[namespace].find("{*}Capabilities/{*}Capabilities")
        assert carried is not None, name
        assert etree.QName(carried).namespace == namespace
        own = (await dome.call(name, "GetServiceCapabilities")).find("{*}Capabilities")
        assert own is not None
        assert _shape(carried) == _shape(own), name


async def test_get_capabilities_and_the_service_capabilities_agree(dome: OnvifSession) -> None:
    """DEVICE-1-1-2 wants Events; DEVICE-1-1-30 compares every flag with GetServices."""
    caps = (await dome.call("device", "GetCapabilities", {"Category": "All"})).find(
        "{*}Capabilities")
    assert caps is not None
    assert caps.findtext("{*}Events/{*}XAddr", "").endswith("/onvif/events_service")
    device = (await dome.call("device", "GetServiceCapabilities")).find("{*}Capabilities")
    assert device is not None
    for group, flag in (("Network", "IPFilter"), ("System", "DiscoveryBye")):
        said = caps.findtext(f"{{*}}Device/{{*}}{group}/{{*}}{flag}")
        assert said == device.xpath(f"string(*[local-name()='{group}']/@{flag})"), flag
    events = (await dome.call("events", "GetServiceCapabilities")).find("{*}Capabilities")
    assert events is not None
    assert caps.findtext("{*}Events/{*}WSPullPointSupport") == events.get("WSPullPointSupport")


async def test_a_category_the_device_does_not_serve_is_no_such_service(
        bullet: OnvifSession) -> None:
    """DEVICE-1-1-6 on a fixed camera: env:Receiver/ter:ActionNotSupported/ter:NoSuchService."""
    with pytest.raises(SoapFaultError) as caught:
        await bullet.call("device", "GetCapabilities", {"Category": "PTZ"})
    assert caught.value.code.endswith("Receiver")
    assert [s.rpartition(":")[2] for s in caught.value.subcodes] == ["ActionNotSupported",
                                                                      "NoSuchService"]


@pytest.mark.parametrize(("params", "subcode"), [
    ({"ProfileToken": "Profile_1", "StreamSetup": {"Stream": "RTP-Unicast",
                                                   "Transport": {"Protocol": "RTP"}}},
     "InvalidStreamSetup"),
    ({"ProfileToken": "no-such-profile", "StreamSetup": RTSP}, "NoProfile"),
])
async def test_get_stream_uri_refuses_what_media_7_1_x_sends(
        dome: OnvifSession, params: dict[str, Any], subcode: str) -> None:
    """MEDIA-7-1-2 (transport "RTP", not a tt:TransportProtocol) and MEDIA-7-1-4."""
    with pytest.raises(SoapFaultError) as caught:
        await dome.call("media", "GetStreamUri", params)
    assert caught.value.code.endswith("Sender")
    assert [s.rpartition(":")[2] for s in caught.value.subcodes] == ["InvalidArgVal", subcode]


async def test_network_reads_of_device_2_1_x_answer(dome: OnvifSession) -> None:
    """DEVICE-2-1-4 (GetDNS), 2-1-25 (GetNetworkDefaultGateway), 2-1-33 (GetNetworkProtocols:
    HTTP where the services answer, RTSP where GetStreamUri points)."""
    dns = await dome.call("device", "GetDNS")
    assert dns.findtext("{*}DNSInformation/{*}FromDHCP") == "false"
    gateway = await dome.call("device", "GetNetworkDefaultGateway")
    assert gateway.find("{*}NetworkGateway") is not None
    protocols = await dome.call("device", "GetNetworkProtocols")
    ports = {p.findtext("{*}Name"): p.findtext("{*}Port")
             for p in protocols.iterfind("{*}NetworkProtocols")}
    stream = await dome.call("media", "GetStreamUri", {"ProfileToken": "Profile_1",
                                                       "StreamSetup": RTSP})
    assert ports["RTSP"] == str(urlsplit(stream.findtext("{*}MediaUri/{*}Uri", "")).port)
    assert ports["HTTP"] == str(urlsplit(dome.url("device")).port or 80)


# -- faults that need a listening camera ----------------------------------------------------
@pytest.fixture
def cam(host: CameraHost) -> Iterator[CameraHandle]:
    handle = host.start(loopback_spec(), reboot_seconds=0.3)
    yield handle
    handle.stop()


def _set_faults(host: CameraHost, camera: CameraHandle, *faults: Any) -> None:
    host.run(camera.camera.set_faults([parse_fault(f) for f in faults]))


def test_scopes_missing_clears_the_mandatory_scopes_it_names(host: CameraHost,
                                                             cam: CameraHandle) -> None:
    def scopes() -> list[str]:
        return host.call(cam.camera.state.all_scopes)

    assert any("/name/" in s for s in scopes())
    assert any("/location/" in s for s in scopes())
    _set_faults(host, cam, {"kind": "scopes_missing", "categories": ["name", "location"]})
    assert not [s for s in scopes() if "/name/" in s or "/location/" in s]
    _set_faults(host, cam)
    assert any("/name/" in s for s in scopes())


async def test_quirk_fault_subcode_changes_only_the_faults(host: CameraHost,
                                                           cam: CameraHandle) -> None:
    _set_faults(host, cam, {"kind": "quirk_fault_subcode", "ops": ["GetStreamUri"]})
    admin = cam.spec.users[0]
    async with OnvifPool() as pool:
        session = OnvifSession(pool, cam.device_url, admin.username, admin.password)
        await session.sync_clock()
        session.set_xaddr("media", cam.device_url.replace("device_service", "media_service"))
        with pytest.raises(SoapFaultError) as caught:
            await session.call("media", "GetStreamUri", {"ProfileToken": "nope",
                                                         "StreamSetup": RTSP})
        answered = await session.call("media", "GetStreamUri", {"ProfileToken": "Profile_1",
                                                                "StreamSetup": RTSP})
    assert caught.value.code.endswith("Sender")  # the camera's own code stays
    assert caught.value.subcodes == ("ter:InvalidArgs",)
    assert answered.findtext("{*}MediaUri/{*}Uri", "").startswith("rtsp://")


def test_quirk_answers_any_probe_answers_foreign_types(host: CameraHost,
                                                       cam: CameraHandle) -> None:
    foreign = wsd.QName("http://camfleet.invalid/test", "Toaster")

    def answered() -> bool:
        message_id, datagram = wsd.build_probe([foreign])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.sendto(datagram, (cam.address, cam.spec.network.discovery_port))
            return any(m.relates_to == message_id for heard in listen(sock, 0.5)
                       for m in wsd.parse_probe_matches(heard.data))

    assert unicast_probe(cam.address, cam.spec.network.discovery_port)
    assert not answered()
    _set_faults(host, cam, {"kind": "quirk_answers_any_probe"})
    assert answered()


def test_quirk_no_announcements_reboots_without_bye_or_hello(host: CameraHost,
                                                              cam: CameraHandle) -> None:
    """DISCOVERY-1-1-2/1-1-8 expect Hello and Bye around a reboot; the quirk sends neither and
    still answers Probes."""
    port = cam.spec.network.discovery_port

    def announced() -> list[str]:
        with multicast_socket(port) as group:
            _set_faults(host, cam, *faults, {"kind": "reboot"})
            return [wsd.parse_hello_bye(h.data).kind for h in listen(group, 0.8)
                    if h.source == cam.address]

    faults: list[dict[str, Any]] = []
    assert announced() == ["bye", "hello"]
    faults.append({"kind": "quirk_no_announcements"})
    assert announced() == []
    assert unicast_probe(cam.address, port)
