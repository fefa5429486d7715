"""WS-Discovery (ONVIF Core 7.3): unicast Probe, Types and Scopes, invalid Probes, Hello, mode.

Probes go to the camera's own address (unicast, DISCOVERY-1-1-6), which crosses VLANs and needs
no interface on the camera's segment; Hello needs one (``--hil-interface``; a fleet's manager
address by default). Where a reply must *not* come, the test waits ``--hil-discovery-wait``
seconds. Switching the discovery mode changes the camera's configuration: those tests restore
Discoverable and are skipped with ``--hil-read-only``.
"""

from __future__ import annotations

import time
import uuid

import pytest

from devmgr.discovery.wsd import DiscoveryEvent
from devmgr.protocols import wsdiscovery as wsd
from hil import discovery
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import url_host, url_path

ONVIF_SCOPE = "onvif://www.onvif.org/"
TYPES = (wsd.TYPE_NVT,)


@pytest.fixture
def discoverable(camera: Camera) -> Camera:
    """The discovery tests need a camera that is Discoverable to begin with."""
    if camera.facts is not None and camera.facts.discovery_mode == "NonDiscoverable":
        pytest.skip(f"{camera.id} is NonDiscoverable (GetDiscoveryMode); discovery tests need "
                    "a Discoverable camera")
    return camera


def _one_match(camera: Camera, result: discovery.ProbeResult, what: str) -> wsd.ProbeMatch:
    assert result.matches, f"{camera}: no ProbeMatch to {what} within 5 s" + (
        f" (faults: {result.faults})" if result.faults else "")
    endpoints = {m.endpoint for m in result.matches}
    assert len(endpoints) == 1, f"{camera}: several endpoints answered {what}: {endpoints}"
    return result.matches[0]


def test_DISCOVERY_1_1_6_unicast_probe(discoverable: Camera, measure: MeasurementLog) -> None:
    """A unicast Probe gets a valid ProbeMatch: RelatesTo, endpoint, Types, Scopes, XAddrs."""
    camera = discoverable
    result = discovery.probe(camera, types=TYPES)
    match = _one_match(camera, result, "a unicast Probe")
    assert result.first_reply_s is not None
    measure("discovery_response_time", result.first_reply_s, unit="s")
    assert match.relates_to == result.message_id
    assert match.endpoint, f"{camera}: ProbeMatch without an EndpointReference address"
    assert {wsd.TYPE_NVT, wsd.TYPE_DEVICE} & set(match.types), (
        f"{camera}: ProbeMatch Types {match.types} has neither NetworkVideoTransmitter nor "
        "Device")
    assert any(s.startswith(ONVIF_SCOPE) for s in match.scopes), (
        f"{camera}: ProbeMatch carries no onvif:// scope: {match.scopes}")
    assert any(url_path(x) == "/onvif/device_service" and url_host(x) == camera.address
               for x in match.xaddrs), (
        f"{camera}: no XAddr http://{camera.address}/onvif/device_service among "
        f"{match.xaddrs}")


def test_DISCOVERY_1_1_4_probe_without_types_and_scopes(discoverable: Camera) -> None:
    _one_match(discoverable, discovery.probe(discoverable), "a Probe without Types or Scopes")


def test_DISCOVERY_1_1_3_probe_by_types_and_scopes(discoverable: Camera) -> None:
    """The camera answers a Probe for either ONVIF type and for its own scopes (also a segment
    prefix of one), and stays silent for a type or a scope it does not have."""
    camera = discoverable
    for types in ((wsd.TYPE_NVT,), (wsd.TYPE_DEVICE,)):
        _one_match(camera, discovery.probe(camera, types=types), f"a Probe for {types[0]}")
    scopes = _one_match(camera, discovery.probe(camera), "a Probe").scopes
    own = next((s for s in scopes if s.startswith((f"{ONVIF_SCOPE}hardware/",
                                                   f"{ONVIF_SCOPE}location/",
                                                   f"{ONVIF_SCOPE}name/"))), None)
    if own is None:
        pytest.skip(f"{camera.id} advertises no hardware, location or name scope")
    _one_match(camera, discovery.probe(camera, types=TYPES, scopes=[own]), f"scope {own}")
    prefix = own.rsplit("/", 1)[0]
    _one_match(camera, discovery.probe(camera, types=TYPES, scopes=[prefix]),
               f"scope prefix {prefix}")
    elsewhere = f"{ONVIF_SCOPE}location/hil-nowhere-{uuid.uuid4().hex[:8]}"
    _id, wrong_scope = wsd.build_probe(TYPES, [elsewhere])
    _id, wrong_type = wsd.build_probe([wsd.QName("http://camfleet.invalid/hil", "Toaster")])
    heard = discovery.send_datagrams(camera, [wrong_scope, wrong_type],
                                     camera.settings.discovery_wait_s)
    assert not heard, f"{camera}: answered a Probe for scope {elsewhere} or type hil:Toaster"


def test_DISCOVERY_1_1_5_no_reply_to_invalid_probe(discoverable: Camera) -> None:
    """Truncated XML and an undeclared Types prefix get no answer at all."""
    camera = discoverable
    _id, probe = wsd.build_probe(TYPES)
    invalid = {"truncated XML": probe[: len(probe) // 2],
               "undeclared Types prefix": probe.replace(b"dn:NetworkVideoTransmitter",
                                                        b"zz:NetworkVideoTransmitter")}
    heard = discovery.send_datagrams(camera, list(invalid.values()),
                                     camera.settings.discovery_wait_s)
    assert not heard, f"{camera}: answered invalid Probes ({', '.join(invalid)}) with " \
                      f"{len(heard)} datagram(s)"


def test_DISCOVERY_1_1_10_unsupported_matching_rule(discoverable: Camera) -> None:
    camera = discoverable
    result = discovery.probe(camera, types=TYPES, scopes=[f"{ONVIF_SCOPE}location"],
                             match_by=wsd.MATCH_BY_LDAP)
    assert not result.matches, f"{camera}: matched a Probe with an unsupported MatchBy"
    assert result.faults, f"{camera}: no SOAP fault for a unicast Probe with MatchBy ldap"
    subcode = result.faults[0].subcode
    assert subcode is not None, f"{camera}: fault without subcode, expected " \
                                "d:MatchingRuleNotSupported"
    assert subcode.localname == "MatchingRuleNotSupported", (
        f"{camera}: fault subcode {subcode}, expected d:MatchingRuleNotSupported")


def _set_mode(camera: Camera, mode: str) -> None:
    camera.call("device", "SetDiscoveryMode", {"DiscoveryMode": mode})


def _mode(camera: Camera) -> str:
    body = camera.must_call("device", "GetDiscoveryMode")
    return (body.findtext("{*}DiscoveryMode") or "").strip()


@pytest.mark.hil_requires("discovery_mode")
@pytest.mark.hil_changes_config
def test_DISCOVERY_1_1_2_hello(discoverable: Camera) -> None:
    """Coming (back) on line the camera says Hello: its endpoint, Types, Scopes and XAddrs.
    (The official test reboots the unit; a switch to Discoverable is gentler and as telling.)"""
    camera = discoverable
    if camera.multicast_interface is None:
        pytest.skip(f"{camera.id}: no interface on its segment to hear Hello (--hil-interface)")
    endpoint = _one_match(camera, discovery.probe(camera), "a Probe").endpoint

    def toggle() -> None:
        _set_mode(camera, "NonDiscoverable")
        time.sleep(0.2)
        _set_mode(camera, "Discoverable")

    def hello(event: DiscoveryEvent) -> bool:
        return event.kind == "joined"

    try:
        events = discovery.listen_while(camera, toggle, 5.0, hello)
    finally:
        _set_mode(camera, "Discoverable")
    hellos = [e for e in events if e.kind == "joined"]
    assert hellos, f"{camera}: no Hello within 5 s of switching back to Discoverable"
    first = hellos[0]
    assert first.endpoint == endpoint, f"{camera}: Hello endpoint {first.endpoint}, ProbeMatch " \
                                       f"endpoint {endpoint}"
    assert first.xaddrs, f"{camera}: Hello without XAddrs"
    assert any(s.startswith(ONVIF_SCOPE) for s in first.scopes), f"{camera}: Hello scopes " \
                                                                 f"{first.scopes}"
    assert first.metadata_version is not None, f"{camera}: Hello without MetadataVersion"


@pytest.mark.hil_requires("discovery_mode")
@pytest.mark.hil_changes_config
def test_DISCOVERY_1_1_9_discovery_mode(discoverable: Camera) -> None:
    """NonDiscoverable: the mode reads back and no Probe is answered; Discoverable again: it
    is."""
    camera = discoverable
    _set_mode(camera, "NonDiscoverable")
    try:
        assert _mode(camera) == "NonDiscoverable", (
            f"{camera}: GetDiscoveryMode says {_mode(camera)!r} after SetDiscoveryMode "
            "NonDiscoverable")
        silent = discovery.probe(camera, types=TYPES, wait_s=camera.settings.discovery_wait_s)
        assert not silent.matches, f"{camera}: answered a Probe while NonDiscoverable"
    finally:
        _set_mode(camera, "Discoverable")
    assert _mode(camera) == "Discoverable", f"{camera}: did not return to Discoverable"
    _one_match(camera, discovery.probe(camera, types=TYPES), "a Probe once Discoverable again")
