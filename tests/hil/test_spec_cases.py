"""Each official test case of the suite fails when a camera does what its specification
forbids, for the reason the specification gives.

The suite passes on healthy simulated fleets (``test_suite_runs.py``); here each case meets a
camera that misbehaves in exactly the way the case is there to catch, and must fail citing its
ID. The misbehaviour is a simulator fault where one exists (faults are data), a reply edited on
its way back (devmgr's transport seam, :class:`Rewriting`), or a scripted WS-Discovery responder
for replies no simulated camera would send. The cases run against a two-camera fleet: cam-0000
is a dome with a configurable home, cam-0001 a dome with a fixed home.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from lxml import etree

from camfleet.http import HttpRequest, HttpResponse
from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket
from camfleet.targets import Target
from devmgr.onvif.transport import AiohttpTransport
from hil import discovery, reboots, streams
from hil.camera import Camera, Harness
from hil.errors import DeviceFault
from hil.measure import MeasurementLog
from hil.ptz import PtzDriver
from hil.settings import HilSettings
from hil.spec import CASES
from hil.traceability import load_suite
from simulators.fleet.fleet import Fleet
from tests.conftest import free_udp_port
from tests.heads import operation_of

#: A 127/8 address no fleet camera uses, for the scripted WS-Discovery responder.
SCRIPTED_ADDRESS = "127.0.250.7"
SETTINGS = HilSettings(call_timeout_s=5.0, reboot_timeout_s=15.0)


# -- edited replies -------------------------------------------------------------------------------
Edit = Callable[[etree._Element], None]


@dataclass
class Rule:
    """What to do with the replies to one operation (optionally only some requests of it)."""

    operation: str
    #: Change the reply's envelope in place.
    edit: Edit | None = None
    #: Answer with this Body element instead of asking the camera.
    answer: str | None = None
    #: Change the HTTP reply itself (status, challenges).
    response: Callable[[HttpResponse], HttpResponse] | None = None
    #: Only requests whose body contains this.
    when: bytes = b""
    #: Only once this operation was sent, and until that one is.
    after: str = ""
    until: str = ""


class Rewriting:
    """devmgr's aiohttp transport, with the replies of some operations edited by hand."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.sent: list[str] = []
        self._inner: AiohttpTransport | None = None

    def _active(self, rule: Rule, operation: str, body: bytes) -> bool:
        if rule.operation != operation or rule.when not in body:
            return False
        started = self.sent.index(rule.after) if rule.after in self.sent else -1
        if rule.after and started < 0:
            return False
        return not (rule.until and rule.until in self.sent[started + 1:])

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self._inner is None:
            self._inner = AiohttpTransport()
        operation = operation_of(request.body) if request.body else ""
        self.sent.append(operation)
        rules = [r for r in self.rules if self._active(r, operation, request.body)]
        answer = next((r.answer for r in rules if r.answer is not None), None)
        if answer is not None:
            return HttpResponse(200, (
                '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                f"{answer}</s:Body></s:Envelope>").encode(), content_type="application/soap+xml")
        reply = await self._inner.send(request)
        for rule in rules:
            if rule.edit is not None and reply.status == 200:
                root = etree.fromstring(reply.body)
                rule.edit(root)
                reply = replace(reply, body=etree.tostring(root))
            if rule.response is not None:
                reply = rule.response(reply)
        return reply

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def drop(path: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in root.findall(f".//{path}"):
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
    return edit


def set_text(path: str, value: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in root.findall(f".//{path}"):
            element.text = value
    return edit


def set_attribute(path: str, name: str, value: str | None) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in root.findall(f".//{path}"):
            if value is None:
                element.attrib.pop(name, "")
            else:
                element.set(name, value)
    return edit


def add_child(path: str, xml: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in root.findall(f".//{path}"):
            element.append(etree.fromstring(xml))
    return edit


def duplicate(path: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in root.findall(f".//{path}")[:1]:
            element.addnext(etree.fromstring(etree.tostring(element)))
    return edit


def _response(operation: str, inner: str = "", namespace: str = "") -> str:
    ns = namespace or "http://www.onvif.org/ver10/device/wsdl"
    return f'<{operation}Response xmlns="{ns}">{inner}</{operation}Response>'


# -- a scripted WS-Discovery responder -----------------------------------------------------------
class _Responder(asyncio.DatagramProtocol):
    def __init__(self, reply: Callable[[wsd.Probe], bytes | None]) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None
        self.sender: socket.socket | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            probe = wsd.parse_probe(data)
        except wsd.InvalidMessage:
            return
        answer = self.reply(probe)
        if answer is not None and self.sender is not None:
            self.sender.sendto(answer, (addr[0], addr[1]))


@contextlib.contextmanager
def scripted_responder(harness: Harness, port: int,
                       reply: Callable[[wsd.Probe], bytes | None]) -> Iterator[None]:
    """Answers Probes to SCRIPTED_ADDRESS and to the group on loopback with ``reply``."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind((SCRIPTED_ADDRESS, port))
    group = group_socket(wsd.MULTICAST_GROUP, port, ["127.0.0.1"])
    protocols = [_Responder(reply), _Responder(reply)]
    for protocol in protocols:
        protocol.sender = sender

    async def open_all() -> list[asyncio.DatagramTransport]:
        loop = asyncio.get_running_loop()
        uni, _ = await loop.create_datagram_endpoint(lambda: protocols[0], sock=sender)
        multi, _ = await loop.create_datagram_endpoint(lambda: protocols[1], sock=group)
        return [uni, multi]

    transports = harness.run(open_all())
    try:
        yield
    finally:
        async def close_all() -> None:
            for transport in transports:
                transport.close()

        harness.run(close_all())


def probe_matches(probe: wsd.Probe, *, xaddr: str, types: str = "dn:NetworkVideoTransmitter",
                  relates_to: str | None = None) -> bytes:
    """A hand-made ProbeMatches whose Types text is given as it goes on the wire."""
    return f'''<s:Envelope xmlns:s="{wsd.NS_SOAP}" xmlns:a="{wsd.NS_WSA}"
  xmlns:d="{wsd.NS_DISCOVERY}" xmlns:dn="{wsd.NS_DN}"><s:Header>
  <a:Action>{wsd.ACTION_PROBE_MATCHES}</a:Action><a:MessageID>{wsd.new_message_id()}</a:MessageID>
  <a:RelatesTo>{relates_to or probe.message_id}</a:RelatesTo><a:To>{wsd.ADDRESS_ANONYMOUS}</a:To>
  </s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference>
  <a:Address>urn:uuid:5f0e0c4a-0000-4000-8000-000000000001</a:Address></a:EndpointReference>
  <d:Types>{types}</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder</d:Scopes>
  <d:XAddrs>{xaddr}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch>
  </d:ProbeMatches></s:Body></s:Envelope>'''.encode()


def wrong_fault(probe: wsd.Probe) -> bytes:
    return f'''<s:Envelope xmlns:s="{wsd.NS_SOAP}" xmlns:a="{wsd.NS_WSA}"
  xmlns:d="{wsd.NS_DISCOVERY}"><s:Header><a:Action>{wsd.ACTION_FAULT}</a:Action>
  <a:MessageID>{wsd.new_message_id()}</a:MessageID><a:RelatesTo>{probe.message_id}</a:RelatesTo>
  </s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>
  <s:Value>d:MatchingRuleNotSupported</s:Value></s:Subcode></s:Code><s:Reason>
  <s:Text xml:lang="en">no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>'''.encode()


# -- the cases -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failing:
    """One official case against one misbehaving camera, and what its failure must say."""

    id: str
    #: Simulator faults in force on the camera for the case.
    faults: tuple[dict[str, Any], ...] = ()
    rules: tuple[Rule, ...] = ()
    #: A scripted WS-Discovery responder instead of a fleet camera.
    responder: Callable[[wsd.Probe], bytes | None] | None = None
    camera: str = "cam-0000"
    #: Text the failure message must contain besides the ID.
    says: str = ""
    #: Module attributes of the case's module to set for the run (a shorter wait).
    patch: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id


def caps(category: str) -> bytes:
    """The GetCapabilities requests for this Category."""
    return f">{category}</".encode()


DEVICE_SERVICE = "http://www.onvif.org/ver10/device/wsdl"
GET_CAPS = _response("GetCapabilities", "<Capabilities/>")
FAILING = [
    # -- discovery
    Failing("DISCOVERY-1-1-2", faults=({"kind": "scopes_missing", "categories": ["name"]},),
            says="no name scope"),
    Failing("DISCOVERY-1-1-3", faults=({"kind": "scopes_missing", "categories": ["location"]},),
            says="no location scope"),
    Failing("DISCOVERY-1-1-4", responder=lambda p: probe_matches(
        p, xaddr=f"http://{SCRIPTED_ADDRESS}/onvif/device_service",
        types="NetworkVideoTransmitter"), says="has no namespace"),
    Failing("DISCOVERY-1-1-5", faults=({"kind": "quirk_answers_any_probe"},),
            says="answered a multicast Probe"),
    Failing("DISCOVERY-1-1-6", faults=({"kind": "quirk_answers_any_probe"},),
            says="invalid Probe: answered"),
    Failing("DISCOVERY-1-1-8", faults=({"kind": "quirk_no_announcements"},), says="no Bye"),
    Failing("DISCOVERY-1-1-9", rules=(Rule("GetDiscoveryMode", set_text(
        "{*}DiscoveryMode", "Discoverable")),), says="step 8"),
    Failing("DISCOVERY-1-1-10", responder=lambda p: wrong_fault(p) if p.match_by else None,
            says="expected env:Sender"),
    # -- capabilities
    Failing("DEVICE-1-1-2", rules=(Rule("GetCapabilities", drop("{*}Events")),),
            says="lacks Events"),
    Failing("DEVICE-1-1-3", rules=(Rule("GetCapabilities", add_child(
        "{*}Capabilities", '<Media xmlns="http://www.onvif.org/ver10/schema"><XAddr>'
        'http://x/</XAddr></Media>'), when=caps("Device")),), says="also answers Media"),
    Failing("DEVICE-1-1-4", rules=(Rule("GetCapabilities", set_text("{*}Media/{*}XAddr", "media"),
                                        when=caps("Media")),), says="is not a URI"),
    Failing("DEVICE-1-1-5", rules=(Rule("GetCapabilities", drop("{*}Events"),
                                        when=caps("Events")),), says="lacks Events"),
    Failing("DEVICE-1-1-6", rules=(Rule("GetCapabilities", drop("{*}PTZ/{*}XAddr"),
                                        when=caps("PTZ")),), says="is not a URI"),
    Failing("DEVICE-1-1-9", rules=(Rule("GetCapabilities", answer=GET_CAPS,
                                        when=b"InvalidCategory"),),
            says="must refuse"),
    Failing("DEVICE-1-1-10", rules=(Rule("GetCapabilities", add_child(
        "{*}Capabilities", '<PTZ xmlns="http://www.onvif.org/ver10/schema"><XAddr>http://x/'
        '</XAddr></PTZ>'), when=caps("Imaging")),), says="also answers PTZ"),
    Failing("DEVICE-1-1-11", faults=({"kind": "quirk_fault_subcode", "code": "Sender",
                                      "subcodes": ["ter:InvalidArgVal"],
                                      "ops": ["GetCapabilities"]},),
            says="expected env:Receiver/ter:ActionNotSupported"),
    *(Failing(case, rules=(Rule("GetServices", add_child(
        f"{{*}}Service[{{*}}Namespace='{ns}']",
        '<Capabilities xmlns="http://www.onvif.org/ver10/device/wsdl"/>'),
        when=b">false<"),), says="IncludeCapability=false")
      for case, ns in (("DEVICE-1-1-13", DEVICE_SERVICE),
                       ("DEVICE-1-1-14", "http://www.onvif.org/ver10/media/wsdl"),
                       ("DEVICE-1-1-15", "http://www.onvif.org/ver20/ptz/wsdl"),
                       ("DEVICE-1-1-16", "http://www.onvif.org/ver10/events/wsdl"),
                       ("DEVICE-1-1-17", "http://www.onvif.org/ver20/imaging/wsdl"),
                       ("DEVICE-1-1-22", "http://www.onvif.org/ver10/recording/wsdl"))),
    Failing("DEVICE-1-1-18", rules=(Rule("GetServiceCapabilities", drop("{*}Security"),
                                         when=DEVICE_SERVICE.encode()),), says="lacks Security"),
    Failing("DEVICE-1-1-19", rules=(Rule("GetServiceCapabilities", set_attribute(
        "{*}System", "DiscoveryBye", "false"), when=DEVICE_SERVICE.encode()),),
        says="GetServices vs GetServiceCapabilities"),
    Failing("DEVICE-1-1-30", rules=(Rule("GetCapabilities", set_text(
        "{*}Device/{*}System/{*}DiscoveryBye", "false")),), says="DiscoveryBye"),
    Failing("DEVICE-2-1-1", rules=(Rule("GetHostname", drop("{*}FromDHCP")),),
            says="HostnameInformation"),
    Failing("DEVICE-2-1-4", rules=(Rule("GetDNS", drop("{*}DNSInformation")),),
            says="DNSInformation"),
    Failing("DEVICE-2-1-11", rules=(Rule("GetNTP", drop("{*}NTPInformation")),),
            says="NTPInformation"),
    Failing("DEVICE-2-1-17", rules=(Rule("GetNetworkInterfaces", drop("{*}NetworkInterfaces")),),
            says="lists no interface"),
    Failing("DEVICE-2-1-25", rules=(Rule("GetNetworkDefaultGateway", drop("{*}NetworkGateway")),),
            says="NetworkGateway"),
    Failing("DEVICE-2-1-33", rules=(Rule("GetNetworkProtocols", set_text("{*}Name", "HTTPS")),),
            says="not HTTP"),
    Failing("DEVICE-3-1-1", rules=(Rule("GetSystemDateAndTime", set_text(
        "{*}DaylightSavings", "maybe")),), says="DaylightSavings"),
    Failing("DEVICE-3-1-8", faults=({"kind": "quirk_no_announcements"},), says="no Hello"),
    Failing("DEVICE-3-1-9", rules=(Rule("GetDeviceInformation", drop("{*}HardwareId")),),
            says="HardwareId"),
    Failing("DEVICE-4-1-1", rules=(Rule("GetUsers", answer="<tds:NoUsers xmlns:tds="
                                        f'"{DEVICE_SERVICE}"/>'),), says="answered"),
    # -- security
    Failing("SECURITY-1-1-1", rules=(Rule("GetUsers", answer=_response("GetUsers")),),
            says="without nonce"),
    Failing("SECURITY-1-1-2", rules=(Rule("GetUsers", response=lambda r: replace(
        r, challenges=tuple(c.replace("realm=", "domain=") for c in r.challenges))),),
        says="realm and nonce"),
    # -- media
    Failing("MEDIA-1-1-1", rules=(Rule("GetProfiles", set_attribute("{*}Profiles", "fixed",
                                                                    None)),),
            says="'fixed' attribute"),
    Failing("MEDIA-1-1-3", rules=(Rule("GetProfile", set_text("{*}Profile/{*}Name", "other")),),
            says="differs from GetProfiles"),
    Failing("MEDIA-4-1-2", rules=(Rule("GetConfigurations", set_text(
        "{*}PTZConfiguration/{*}Name", "other")),), says="differs between"),
    Failing("MEDIA-6-1-1", rules=(Rule("GetSnapshotUri", drop("{*}Timeout")),), says="Timeout"),
    Failing("MEDIA-7-1-2", rules=(Rule("GetStreamUri", answer=_response("GetStreamUri"),
                                       when=b">RTP<"),), says="must refuse"),
    Failing("MEDIA-7-1-4", faults=({"kind": "quirk_fault_subcode", "code": "Sender",
                                    "subcodes": ["ter:InvalidArgs"], "ops": ["GetStreamUri"]},),
            says="ter:NoProfile"),
    Failing("MEDIA-7-1-5", faults=({"kind": "quirk_fault_subcode", "code": "Receiver",
                                    "subcodes": ["ter:InvalidArgs"],
                                    "ops": ["StartMulticastStreaming"]},),
            says="ter:ActionNotSupported"),
    Failing("MEDIA-8-1-1", rules=(Rule("GetServiceCapabilities", drop("{*}Capabilities"),
                                       when=b"ver10/media/wsdl"),), says="no Capabilities"),
    # -- imaging and recording
    Failing("IMAGING-1-1-1", faults=({"kind": "soap_fault", "ops": ["GetImagingSettings"]},),
            says="GetImagingSettings"),
    Failing("RECORDING-4-1-1", rules=(Rule("GetRecordings", duplicate("{*}RecordingItem")),),
            says="repeats RecordingToken"),
    Failing("RECORDING-4-1-2", rules=(Rule("GetRecordingConfiguration", set_text(
        "{*}Content", "other")),), says="differs from GetRecordings"),
    Failing("RECORDING-4-1-3", rules=(Rule("GetRecordingConfiguration", answer=_response(
        "GetRecordingConfiguration"), when=b"hil-no-such-recording"),), says="must refuse"),
    # -- PTZ
    Failing("PTZ-1-1-1", rules=(Rule("GetNodes", drop("{*}PTZNode")),), says="no PTZ node"),
    Failing("PTZ-1-1-2", rules=(Rule("GetNode", drop("{*}SupportedPTZSpaces")),),
            says="no SupportedPTZSpaces"),
    Failing("PTZ-1-1-4", faults=({"kind": "quirk_fault_subcode", "code": "Sender",
                                  "subcodes": ["ter:InvalidArgVal", "ter:NoProfile"],
                                  "ops": ["GetNode"]},), says="ter:NoEntity"),
    Failing("PTZ-2-1-1", rules=(Rule("GetConfigurations", drop("{*}PTZConfiguration")),),
            says="no PTZ configuration"),
    Failing("PTZ-2-1-2", rules=(Rule("GetConfiguration", drop("{*}NodeToken")),),
            says="no NodeToken"),
    Failing("PTZ-2-1-3", rules=(Rule("GetConfigurationOptions", drop("{*}PTZTimeout")),),
            says="PTZTimeout"),
    Failing("PTZ-2-1-5", rules=(Rule("GetConfiguration", set_text("{*}Name", "other")),),
            says="differs from GetConfigurations"),
    Failing("PTZ-2-1-6", rules=(Rule("GetConfigurations", set_attribute(
        "{*}DefaultPTZSpeed/{*}PanTilt", "x", "5")),), says="outside the node"),
    Failing("PTZ-2-1-7", rules=(Rule("GetConfigurationOptions", set_text(
        "{*}PTZTimeout/{*}Max", "PT1S")),), says="DefaultPTZTimeout"),
    Failing("PTZ-3-1-1", rules=(Rule("AbsoluteMove", answer=_response(
        "AbsoluteMove", namespace="http://www.onvif.org/ver20/ptz/wsdl")),), says="reports"),
    Failing("PTZ-3-1-2", faults=({"kind": "quirk_fault_subcode", "code": "Sender",
                                  "subcodes": ["ter:InvalidArgVal", "ter:Other"],
                                  "ops": ["AbsoluteMove"]},), says="ter:InvalidPosition"),
    Failing("PTZ-3-1-3", rules=(Rule("RelativeMove", answer=_response(
        "RelativeMove", namespace="http://www.onvif.org/ver20/ptz/wsdl")),), says="reports"),
    Failing("PTZ-3-1-4", rules=(Rule("GetStatus", set_text("{*}MoveStatus/{*}PanTilt", "MOVING"),
                                     after="ContinuousMove", until="Stop"),),
            says="not IDLE or UNKNOWN", patch={"CONTINUOUS_TIMEOUT": None}),
    Failing("PTZ-3-1-5", rules=(Rule("Stop", answer=_response(
        "Stop", namespace="http://www.onvif.org/ver20/ptz/wsdl")),), says="not IDLE"),
    Failing("PTZ-4-1-4", rules=(Rule("GetPresets", set_text("{*}Preset/{*}Name", "Other")),),
            says="not 'Test'"),
    Failing("PTZ-4-1-5", rules=(Rule("GotoPreset", answer=_response(
        "GotoPreset", namespace="http://www.onvif.org/ver20/ptz/wsdl")),), says="GotoPreset"),
    Failing("PTZ-4-1-6", rules=(Rule("RemovePreset", answer=_response(
        "RemovePreset", namespace="http://www.onvif.org/ver20/ptz/wsdl")),),
        says="still listed"),
    Failing("PTZ-5-1-1", rules=(Rule("SetHomePosition", answer=_response(
        "SetHomePosition", namespace="http://www.onvif.org/ver20/ptz/wsdl")),),
        says="GotoHomePosition reached"),
    Failing("PTZ-5-1-2", camera="cam-0001", rules=(Rule("SetHomePosition", answer=_response(
        "SetHomePosition", namespace="http://www.onvif.org/ver20/ptz/wsdl")),),
        says="accepted SetHomePosition"),
    Failing("PTZ-5-1-3", camera="cam-0001", rules=(Rule("SetHomePosition", answer=_response(
        "SetHomePosition", namespace="http://www.onvif.org/ver20/ptz/wsdl")),),
        says="FixedHomePosition is true"),
    *(Failing(case, faults=({"kind": "soap_fault", "ops": [operation]},), says="not accepted")
      for case, operation in (("PTZ-7-1-3", "AbsoluteMove"), ("PTZ-7-1-4", "AbsoluteMove"),
                              ("PTZ-7-2-3", "RelativeMove"), ("PTZ-7-2-4", "RelativeMove"),
                              ("PTZ-7-3-3", "ContinuousMove"), ("PTZ-7-3-4", "ContinuousMove"),
                              ("PTZ-7-4-3", "AbsoluteMove"), ("PTZ-7-4-4", "AbsoluteMove"))),
    Failing("PTZ-8-1-1", rules=(Rule("GetServiceCapabilities", drop("{*}Capabilities"),
                                     when=b"ver20/ptz/wsdl"),), says="no Capabilities"),
    Failing("PTZ-8-1-2", rules=(Rule("GetServiceCapabilities", set_attribute(
        "{*}Capabilities", "EFlip", "true"), when=b"ver20/ptz/wsdl"),), says="differ between"),
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet.generated(2, seed=0, discovery_port=free_udp_port(),
                         reboot_seconds=0.3) as running:
        yield running


@contextlib.contextmanager
def camera_for(fleet: Fleet, case: Failing) -> Iterator[Camera]:
    manifest = fleet.manifest()
    transport = Rewriting(list(case.rules))
    harness = Harness(SETTINGS, transport=transport)
    if case.responder is not None:
        target = Target(id="scripted", address=SCRIPTED_ADDRESS)
    else:
        target = manifest.by_id()[case.camera]
        fleet.set_faults(case.camera, list(case.faults))
    camera = Camera(harness, target, discovery_port=fleet.discovery_port,
                    multicast_interface=fleet.manager_address,
                    peers=tuple(t.address for t in manifest.targets))
    try:
        if case.responder is None:
            camera.ensure_ready()
        yield camera
    finally:
        discovery._ROUNDS.clear()
        reboots._REBOOTS.clear()
        reboots.pending_mode_rounds()
        harness.run(transport.aclose())
        harness.close()
        if case.responder is None:
            fleet.clear_faults(case.camera)


def _function(case_id: str) -> Callable[..., None]:
    declared = CASES[case_id]
    module = __import__(declared.module, fromlist=[declared.test])
    return getattr(module, declared.test)  # type: ignore[no-any-return]


def run_case(camera: Camera, case: Failing, measure: MeasurementLog | None = None) -> None:
    """Call the case's test function as pytest would, with the camera, a PTZ driver or the
    measurement log. Measurements out of limits fail the case, as the plugin does."""
    function = _function(case.id)
    parameters = inspect.signature(function).parameters
    driver = start = None
    if "ptz" in parameters:
        driver = PtzDriver(camera)
        start = driver.at_rest()
    log = measure if measure is not None else MeasurementLog(camera.id)
    fixtures: dict[str, object] = {"ptz": driver, "measure": log}
    arguments = {name: fixtures.get(name, camera) for name in parameters}
    try:
        function(**arguments)
    finally:
        if driver is not None and start is not None:
            with contextlib.suppress(DeviceFault):
                driver.restore(start)
    assert not log.failed, log.failure_message()


def test_every_official_case_has_a_failing_case_here() -> None:
    assert sorted(f.id for f in FAILING) == sorted(load_suite()), (
        "each implemented official ID needs a failing case in FAILING, and only those")


@pytest.mark.parametrize("case", FAILING, ids=str)
def test_each_case_fails_for_the_reason_its_specification_gives(
        fleet: Fleet, case: Failing, monkeypatch: pytest.MonkeyPatch) -> None:
    load_suite()
    module = __import__(CASES[case.id].module, fromlist=["_"])
    for name, value in case.patch.items():  # PTZ-3-1-4: 60 s become 0.2 s
        monkeypatch.setattr(module, name, value if value is not None else
                            type(getattr(module, name))(seconds=0.2))
    with camera_for(fleet, case) as camera, contextlib.ExitStack() as stack:
        if case.responder is not None:
            stack.enter_context(scripted_responder(camera.harness, fleet.discovery_port,
                                                   case.responder))
        with pytest.raises((AssertionError, DeviceFault)) as caught:
            run_case(camera, case)
    message = str(caught.value)
    assert case.id in message, f"the failure does not cite {case.id}: {message}"
    assert case.says in message, f"{case.id} failed, but not because {case.says!r}: {message}"



def _jpeg(width: int, height: int) -> bytes:
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    assert ok
    return bytes(data)


def _snapshot_body(body: bytes) -> Rule:
    """Every snapshot GET answered 200 with ``body`` (the SOAP calls are POSTs)."""
    return Rule("", response=lambda reply: replace(reply, body=body) if reply.status == 200
                else reply)


def test_MEDIA_6_1_1_passes_a_snapshot_of_its_own_size_and_records_the_size(
        fleet: Fleet) -> None:
    case = Failing("MEDIA-6-1-1", rules=(_snapshot_body(_jpeg(320, 180)),))
    log = MeasurementLog("cam-0000")
    with camera_for(fleet, case) as camera:
        encoder = camera.must_call("media", "GetProfiles").find(".//{*}Resolution/{*}Width")
        assert encoder is not None
        assert encoder.text != "320"
        run_case(camera, case, log)
    assert {m.name: (m.value, m.unit) for m in log.measurements} == {
        "snapshot_width": (320, "px"), "snapshot_height": (180, "px")}


def test_MEDIA_6_1_1_fails_a_snapshot_that_is_no_jpeg(fleet: Fleet) -> None:
    case = Failing("MEDIA-6-1-1", rules=(_snapshot_body(b"\xff\xd8\xff\xe0" + b"\0" * 64),))
    with camera_for(fleet, case) as camera, pytest.raises(AssertionError) as caught:
        run_case(camera, case)
    assert "is not a valid JPEG" in str(caught.value)
    assert "MEDIA-6-1-1" in str(caught.value)


def test_an_implausible_encoder_value_fails_the_stream_tests_naming_it(fleet: Fleet) -> None:
    """Read where the streams start, in another test's setup: the camera's garbage is its own
    DeviceFault naming the field (the hook suppresses it, the stream tests report it), never
    an error of whatever test happened to start the plays."""
    case = Failing("MEDIA-6-1-1", rules=(Rule("GetProfiles", set_text(
        "{*}VideoEncoderConfiguration/{*}Resolution/{*}Width", "NaN")),))
    with camera_for(fleet, case) as camera, pytest.raises(DeviceFault) as caught:
        streams.start(camera)
    assert "video encoder configuration: width NaN is outside 16..16384" in str(caught.value)
    assert "cam-0000" in str(caught.value)
