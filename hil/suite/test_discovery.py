"""WS-Discovery (ONVIF Core 7.3), as the Base Device Test Specification's DISCOVERY cases.

DISCOVERY-1-1-3/4/5 probe by multicast, as the specification says: they need a local interface
on the camera's segment (``--hil-interface``; a fleet's manager address by default) and are
skipped without one. DISCOVERY-1-1-6 repeats them by unicast, which crosses VLANs. A silence
is ``DISCOVERY_TIMEOUT`` (5 s, Annex A.7); the silences of DISCOVERY-1-1-5 and 1-1-6 are one
shared round per process (:func:`hil.discovery.silent_round`). DISCOVERY-1-1-2 and 1-1-8
reboot the camera (skipped with ``--hil-read-only``) and share that reboot with DEVICE-3-1-8;
DISCOVERY-1-1-9 switches the discovery mode and reboots, and switches it back; it runs last on
each camera, and its 5 s silence while the camera's other tests run (see conftest.py).
"""

from __future__ import annotations

import pytest

from camfleet.protocols import wsdiscovery as wsd
from hil import discovery, reboots
from hil.camera import Camera
from hil.errors import InfrastructureError
from hil.spec import BASE, conformance
from hil.suite.helpers import mandatory_scope_problems, text, types_problems, url_host, url_path

ONVIF_SCOPE = "onvif://www.onvif.org/"
#: Annex A.11: the Probe of DISCOVERY-1-1-3, a prefix of each mandatory scope type.
SCOPE_TYPES = tuple(f"{ONVIF_SCOPE}{kind}" for kind in ("type", "location", "hardware", "name"))
TYPES = (wsd.TYPE_NVT,)
TIMEOUT = discovery.DISCOVERY_TIMEOUT_S
#: DISCOVERY-1-1-10: a matching rule no device implements.
INVALID_RULE = "http://www.onvif.org/ver10/discovery/InvalidMatchingRule"


#: The camera must be Discoverable for these (conftest.py runs them first on each camera).
pytestmark = pytest.mark.hil_discovery


@pytest.fixture
def discoverable(camera: Camera) -> Camera:
    """The discovery cases start from a Discoverable camera (their pre-requisite)."""
    if camera.facts is not None and camera.facts.discovery_mode == "NonDiscoverable":
        pytest.skip(f"{camera.id} is NonDiscoverable (GetDiscoveryMode); the discovery cases "
                    "need a Discoverable camera")
    return camera


@pytest.fixture
def on_segment(discoverable: Camera) -> Camera:
    """Multicast needs a local interface on the camera's segment."""
    if discoverable.multicast_interface is None:
        pytest.skip(f"{discoverable.id}: no local interface on its segment for multicast "
                    "(--hil-interface)")
    return discoverable


def match_problems(camera: Camera, result: discovery.ProbeResult) -> list[str]:
    """The FAIL criteria of DISCOVERY-1-1-3/1-1-4 for what the camera sent back."""
    problems = [f"a reply that is not a valid ProbeMatches ({why})" for why in result.invalid]
    problems += [f"a ProbeMatch whose RelatesTo {m.relates_to} is not the Probe's MessageID "
                 f"{result.message_id}" for m in result.unrelated]
    if not result.matches and result.invalid:
        problems.append(f"{len(result.invalid)} replies came within DISCOVERY_TIMEOUT "
                        f"({TIMEOUT:g} s) but none was a valid ProbeMatch")
    elif not result.matches:
        problems.append(f"no ProbeMatch within DISCOVERY_TIMEOUT ({TIMEOUT:g} s)")
    for match in result.matches:
        problems += types_problems(match.types, "ProbeMatch")
        if not match.scopes:
            problems.append("the ProbeMatch has no Scopes")
        if not any(url_path(x) == "/onvif/device_service" and url_host(x) == camera.address
                   and x.startswith(("http://", "https://")) for x in match.xaddrs):
            problems.append(f"no XAddr http://{camera.address}/onvif/device_service among "
                            f"{list(match.xaddrs)}")
    return problems


def scopes_probe(camera: Camera, *, multicast: bool) -> discovery.ProbeResult:
    return discovery.probe(camera, types=TYPES, scopes=SCOPE_TYPES, multicast=multicast)


@conformance("DISCOVERY-1-1-3", BASE, "SEARCH BASED ON DEVICE SCOPE TYPES", checks="""
    GetScopes lists the mandatory scope types type, location, hardware and name; a multicast
    Probe for dn:NetworkVideoTransmitter and those four scope types gets a ProbeMatch within
    DISCOVERY_TIMEOUT (5 s) with RelatesTo = the Probe's MessageID, namespaced Types with
    dn:NetworkVideoTransmitter or tds:Device, Scopes, and the XAddr
    http://<camera>/onvif/device_service""")
def test_DISCOVERY_1_1_3_search_by_scope_types(on_segment: Camera) -> None:
    camera = on_segment
    scopes = [text(s, "{*}ScopeItem")
              for s in camera.must_call("device", "GetScopes").iterfind("{*}Scopes")]
    missing = mandatory_scope_problems(scopes)
    assert not missing, f"{camera}: GetScopes: {'; '.join(missing)} (DISCOVERY-1-1-3)"
    problems = match_problems(camera, scopes_probe(camera, multicast=True))
    assert not problems, (f"{camera}: multicast Probe for {', '.join(SCOPE_TYPES)}: "
                          + "; ".join(problems) + " (DISCOVERY-1-1-3)")


@conformance("DISCOVERY-1-1-4", BASE, "SEARCH WITH OMITTED DEVICE AND SCOPE TYPES", checks="""
    a multicast Probe without Types and Scopes gets a ProbeMatch within DISCOVERY_TIMEOUT
    (5 s), checked as in DISCOVERY-1-1-3""")
def test_DISCOVERY_1_1_4_search_without_types_and_scopes(on_segment: Camera) -> None:
    problems = match_problems(on_segment, discovery.probe(on_segment, multicast=True))
    assert not problems, (f"{on_segment}: multicast Probe without Types or Scopes: "
                          + "; ".join(problems) + " (DISCOVERY-1-1-4)")


def _silence(camera: Camera, kind: str) -> list[discovery.Heard]:
    """The camera's replies to the round's invalid Probe; the round is void for a camera
    that did not answer the valid control Probe of the same round."""
    round_ = discovery.silent_round(camera)
    if not round_.listening(camera.address):
        raise InfrastructureError(f"{camera.id}: did not answer the valid control Probe sent "
                                  "with the invalid one, so its silence proves nothing")
    return round_.replies(kind, camera.address)


@conformance("DISCOVERY-1-1-5", BASE, "RESPONSE TO INVALID SEARCH REQUEST", checks="""
    a multicast Probe with an invalid device type and an invalid scope (Annex A.1: Types
    without dn:NetworkVideoTransmitter or tds:Device, a scope that is not an RFC 3986 URI) gets
    no ProbeMatch within DISCOVERY_TIMEOUT (5 s)""")
def test_DISCOVERY_1_1_5_no_reply_to_invalid_probe(on_segment: Camera) -> None:
    replies = _silence(on_segment, "multicast")
    assert not replies, (f"{on_segment}: answered a multicast Probe for type "
                         f"{discovery.INVALID_TYPE} and scope {discovery.INVALID_SCOPE} "
                         f"({len(replies)} datagram(s) within {TIMEOUT:g} s) (DISCOVERY-1-1-5)")


@conformance("DISCOVERY-1-1-6", BASE, "SEARCH USING UNICAST PROBE MESSAGE", checks="""
    DISCOVERY-1-1-3, 1-1-4 and 1-1-5 by unicast Probe to the camera's address: ProbeMatches
    for the scope types and for no Types or Scopes, no reply to the invalid Probe within
    DISCOVERY_TIMEOUT (5 s)""")
def test_DISCOVERY_1_1_6_unicast_probe(discoverable: Camera) -> None:
    camera = discoverable
    problems = [f"Probe for the scope types: {p}"
                for p in match_problems(camera, scopes_probe(camera, multicast=False))]
    problems += [f"Probe without Types or Scopes: {p}"
                 for p in match_problems(camera, discovery.probe(camera))]
    replies = _silence(camera, "unicast")
    if replies:
        problems.append(f"invalid Probe: answered with {len(replies)} datagram(s)")
    assert not problems, f"{camera}: unicast " + "; ".join(problems) + " (DISCOVERY-1-1-6)"


@conformance("DISCOVERY-1-1-10", BASE, "SOAP FAULT MESSAGE", checks="""
    a unicast Probe with an unsupported matching rule gets a SOAP 1.2 fault, Code env:Sender,
    Subcode d:MatchingRuleNotSupported (both namespaced), and no ProbeMatch""")
def test_DISCOVERY_1_1_10_unsupported_matching_rule(discoverable: Camera) -> None:
    camera = discoverable
    result = discovery.probe(camera, types=TYPES, scopes=[f"{ONVIF_SCOPE}location"],
                             match_by=INVALID_RULE)
    assert not result.matches, f"{camera}: matched a Probe with MatchBy {INVALID_RULE}"
    assert result.faults, (f"{camera}: no SOAP fault for a unicast Probe with an unsupported "
                           "matching rule (DISCOVERY-1-1-10)" + (
                               f"; it sent {result.invalid}" if result.invalid else ""))
    fault = result.faults[0]
    expected_code = wsd.QName(wsd.NS_SOAP, "Sender")
    expected_subcode = wsd.QName(wsd.NS_DISCOVERY, "MatchingRuleNotSupported")
    assert (fault.code, fault.subcode) == (expected_code, expected_subcode), (
        f"{camera}: fault {fault.code} / {fault.subcode}, expected env:Sender / "
        f"d:MatchingRuleNotSupported ({wsd.NS_DISCOVERY}) (DISCOVERY-1-1-10)")


# -- reboots and modes -----------------------------------------------------------------------------
@pytest.mark.hil_reboots
@conformance("DISCOVERY-1-1-2", BASE, "HELLO MESSAGE VALIDATION", checks="""
    SystemReboot is answered; within the reboot time the camera sends a multicast Hello with
    an EndpointReference, namespaced Types with dn:NetworkVideoTransmitter or tds:Device, and
    Scopes with the mandatory scope types type, location, hardware and name""")
def test_DISCOVERY_1_1_2_hello(on_segment: Camera) -> None:
    camera = on_segment
    seen = reboots.shared_reboot(camera)
    hellos, invalid = seen.announcements.hello, seen.announcements.invalid
    assert not invalid, f"{camera}: after SystemReboot it sent an invalid Hello/Bye: " \
                        f"{'; '.join(invalid)} (DISCOVERY-1-1-2)"
    assert hellos, (f"{camera}: no Hello within the reboot time "
                    f"({camera.settings.reboot_timeout_s:g} s, back up: {seen.came_back}) "
                    "(DISCOVERY-1-1-2)")
    hello = hellos[0]
    problems = types_problems(hello.types, "Hello") + mandatory_scope_problems(hello.scopes)
    assert not problems, f"{camera}: Hello: {'; '.join(problems)} (DISCOVERY-1-1-2)"


@pytest.mark.hil_reboots
@conformance("DISCOVERY-1-1-8", BASE, "DEVICE BYE MESSAGE", checks="""
    where GetServiceCapabilities says DiscoveryBye (the pre-requisite): SystemReboot is
    answered and the camera sends a multicast Bye""")
def test_DISCOVERY_1_1_8_bye(on_segment: Camera) -> None:
    camera = on_segment
    caps = camera.must_call("device", "GetServiceCapabilities")
    system = caps.find(".//{*}System")
    if system is None or system.get("DiscoveryBye", "").lower() not in ("true", "1"):
        pytest.skip(f"{camera.id} does not say DiscoveryBye (GetServiceCapabilities)")
    seen = reboots.shared_reboot(camera)
    assert seen.announcements.bye, f"{camera}: no Bye on SystemReboot (DISCOVERY-1-1-8)"


@pytest.mark.hil_requires("discovery_mode")
@pytest.mark.hil_changes_config
@pytest.mark.hil_reboots
@conformance("DISCOVERY-1-1-9", BASE, "DEVICE DISCOVERY MODE", checks="""
    GetDiscoveryMode says Discoverable; after SetDiscoveryMode NonDiscoverable it says
    NonDiscoverable; a multicast Probe without Types gets no ProbeMatch within
    DISCOVERY_TIMEOUT (5 s); SystemReboot brings neither Bye nor Hello until the camera is
    back; SetDiscoveryMode Discoverable restores the mode""", deviation="""
    the boot time is observed (the camera stops answering HTTP and answers again, then 1 s
    for a late Hello) instead of a fixed boot time setting""")
def test_DISCOVERY_1_1_9_discovery_mode(on_segment: Camera) -> None:
    camera = on_segment
    round_ = reboots.take_mode_round(camera)  # steps 4-9, started early (conftest.py)
    try:
        assert round_.before == "Discoverable", (
            f"{camera}: GetDiscoveryMode says {round_.before!r}, not Discoverable "
            "(DISCOVERY-1-1-9 step 4)")
        assert round_.after == "NonDiscoverable", (
            f"{camera}: GetDiscoveryMode says {round_.after!r} after SetDiscoveryMode "
            "NonDiscoverable (DISCOVERY-1-1-9 step 8)")
        silent = round_.silent()
        assert silent is not None
        assert not silent.matches, (f"{camera}: answered a multicast Probe while "
                                    "NonDiscoverable (DISCOVERY-1-1-9 step 10)")
        seen = reboots.reboot(camera, expect_hello=False)
        heard = seen.announcements
        assert seen.came_back, f"{camera}: not back within {camera.settings.reboot_timeout_s}" \
                               " s of SystemReboot"
        said = len(heard.hello) + len(heard.bye)
        assert said == 0, (
            f"{camera}: sent {len(heard.bye)} Bye and {len(heard.hello)} Hello around a "
            "reboot while NonDiscoverable (DISCOVERY-1-1-9 step 13)")
    finally:
        round_.cancel()
        camera.call("device", "SetDiscoveryMode", {"DiscoveryMode": "Discoverable"})
    mode = text(camera.must_call("device", "GetDiscoveryMode"), "{*}DiscoveryMode")
    assert mode == "Discoverable", (f"{camera}: still {mode!r} after SetDiscoveryMode "
                                    "Discoverable: the camera is left NonDiscoverable")
