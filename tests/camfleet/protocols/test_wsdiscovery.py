"""WS-Discovery codec: round-trips, matching rules, and hostile input."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.wsdiscovery import QName
from tests.clients import LITERAL_PROBE

ONVIF = "onvif://www.onvif.org"
SCOPES = [
    f"{ONVIF}/type/NetworkVideoTransmitter",
    f"{ONVIF}/Profile/Streaming",
    f"{ONVIF}/location/country/china/city/wuhan",
    f"{ONVIF}/name/Front%20Door",
    f"{ONVIF}/hardware/DS-2DE4425IW-DE",
]
XADDRS = ["http://127.0.0.5:8080/onvif/device_service"]
ENDPOINT = "urn:uuid:6f0b8f6e-58a1-5b39-9d2c-7c3c1a2b3c4d"
CAMERA_TYPES = [wsd.TYPE_NVT, wsd.TYPE_DEVICE]

ENV_OPEN = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
)


def probe_xml(
    body: str = "<d:Probe/>",
    *,
    action: str = wsd.ACTION_PROBE,
    message_id: str | None = "urn:uuid:00000000-0000-4000-8000-000000000001",
    prologue: str = "",
    extra_header: str = "",
) -> bytes:
    headers = f"<a:Action>{action}</a:Action>" if action else ""
    if message_id:
        headers += f"<a:MessageID>{message_id}</a:MessageID>"
    headers += f"<a:To>{wsd.ADDRESS_DISCOVERY}</a:To>{extra_header}"
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prologue}{ENV_OPEN}<s:Header>{headers}'
            f"</s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


ODTT_STYLE_PROBE = LITERAL_PROBE % b"9b1e8c55-3f0c-4b7e-9d0e-2b2f7d8c1a10"


# -- round trips -----------------------------------------------------------------------------------
def test_probe_round_trip() -> None:
    message_id, data = wsd.build_probe(CAMERA_TYPES, [f"{ONVIF}/location/country/china"],
                                       match_by=wsd.MATCH_BY_RFC3986)
    probe = wsd.parse_probe(data)
    assert probe.message_id == message_id
    assert message_id.startswith("urn:uuid:")
    assert probe.types == (wsd.TYPE_NVT, wsd.TYPE_DEVICE)
    assert probe.scopes == (f"{ONVIF}/location/country/china",)
    assert probe.match_by == wsd.MATCH_BY_RFC3986


def test_probe_with_nothing_to_filter_matches_everything() -> None:
    message_id, data = wsd.build_probe(message_id="urn:uuid:fixed")
    probe = wsd.parse_probe(data)
    assert (probe.message_id, probe.types, probe.scopes, probe.match_by) == (
        "urn:uuid:fixed", (), (), None)
    assert message_id == "urn:uuid:fixed"
    assert wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert wsd.matches(probe, [], [])


def test_probe_as_the_onvif_test_tool_writes_it() -> None:
    probe = wsd.parse_probe(ODTT_STYLE_PROBE)
    assert probe.message_id == "uuid:9b1e8c55-3f0c-4b7e-9d0e-2b2f7d8c1a10"
    assert probe.types == (wsd.TYPE_NVT,)
    assert probe.scopes == ()
    assert wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert not wsd.matches(probe, [wsd.TYPE_DEVICE], SCOPES)


def test_probe_matches_round_trip_and_wire_form() -> None:
    sequence = wsd.AppSequence(instance_id=1700000000, message_number=7)
    data = wsd.build_probe_matches(
        "urn:uuid:probe-1", ENDPOINT, types=CAMERA_TYPES, scopes=SCOPES, xaddrs=XADDRS,
        metadata_version=3, app_sequence=sequence,
    )
    # ONVIF wire form: prefixed Types with their namespaces declared.
    assert b"<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>" in data
    assert b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in data
    assert b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"' in data
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    [match] = wsd.parse_probe_matches(data)
    assert match.relates_to == "urn:uuid:probe-1"
    assert match.endpoint == ENDPOINT
    assert match.types == (wsd.TYPE_NVT, wsd.TYPE_DEVICE)
    assert match.scopes == tuple(SCOPES)
    assert match.xaddrs == tuple(XADDRS)
    assert match.metadata_version == 3
    assert match.app_sequence == sequence
    assert match.message_id.startswith("urn:uuid:")


def test_probe_matches_may_hold_no_match_but_must_relate_to_a_probe() -> None:
    empty = probe_xml("<d:ProbeMatches/>", action=wsd.ACTION_PROBE_MATCHES,
                      extra_header="<a:RelatesTo>urn:uuid:p</a:RelatesTo>")
    assert wsd.parse_probe_matches(empty) == []
    unrelated = probe_xml("<d:ProbeMatches/>", action=wsd.ACTION_PROBE_MATCHES)
    with pytest.raises(wsd.InvalidMessage, match="RelatesTo"):
        wsd.parse_probe_matches(unrelated)


def test_probe_matches_is_not_a_probe_and_vice_versa() -> None:
    _, probe = wsd.build_probe()
    matches = wsd.build_probe_matches("urn:uuid:x", ENDPOINT, types=CAMERA_TYPES, scopes=SCOPES,
                                      xaddrs=XADDRS, metadata_version=1,
                                      app_sequence=wsd.AppSequence(1, 1))
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe(matches)
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe_matches(probe)
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_hello_bye(matches)


def test_hello_and_bye_round_trip() -> None:
    hello = wsd.parse_hello_bye(wsd.build_hello(
        ENDPOINT, types=CAMERA_TYPES, scopes=SCOPES, xaddrs=XADDRS, metadata_version=2,
        app_sequence=wsd.AppSequence(5, 1), message_id="urn:uuid:hello"))
    assert hello == wsd.Announcement(
        kind="hello", endpoint=ENDPOINT, message_id="urn:uuid:hello",
        types=(wsd.TYPE_NVT, wsd.TYPE_DEVICE), scopes=tuple(SCOPES), xaddrs=tuple(XADDRS),
        metadata_version=2, app_sequence=wsd.AppSequence(5, 1))
    bye = wsd.parse_hello_bye(wsd.build_bye(ENDPOINT, wsd.AppSequence(5, 2)))
    assert (bye.kind, bye.endpoint, bye.app_sequence) == ("bye", ENDPOINT, wsd.AppSequence(5, 2))
    assert bye.metadata_version is None
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe(wsd.build_bye(ENDPOINT, wsd.AppSequence(5, 3)))


def test_matching_rule_fault_round_trip() -> None:
    data = wsd.build_fault_matching_rule_not_supported("urn:uuid:probe-9")
    fault = wsd.parse_fault(data)
    assert fault.code == QName(wsd.NS_SOAP, "Sender")
    assert fault.subcode == QName(wsd.NS_DISCOVERY, "MatchingRuleNotSupported")
    assert fault.relates_to == "urn:uuid:probe-9"
    assert wsd.MATCH_BY_RFC3986 in fault.supported_matching_rules
    assert b"http://schemas.xmlsoap.org/ws/2004/08/addressing/fault" in data
    with pytest.raises(wsd.FaultReceived) as caught:
        wsd.parse_probe_matches(data)
    assert caught.value.fault == fault
    with pytest.raises(wsd.InvalidMessage):  # a fault is not a Probe either
        wsd.parse_probe(data)


def test_builders_refuse_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        wsd.build_probe(scopes=["onvif://www.onvif.org/name/Front Door"])
    with pytest.raises(ValueError, match="MetadataVersion"):
        wsd.build_hello(ENDPOINT, types=CAMERA_TYPES, scopes=SCOPES, xaddrs=XADDRS,
                        metadata_version=-1, app_sequence=wsd.AppSequence(1, 1))


def test_qname_text_forms() -> None:
    assert str(wsd.TYPE_DEVICE) == "{http://www.onvif.org/ver10/device/wsdl}Device"
    assert QName.from_clark(str(wsd.TYPE_NVT)) == wsd.TYPE_NVT
    assert QName.from_clark("Device") == QName("", "Device")
    with pytest.raises(ValueError, match="Clark"):
        QName.from_clark("{unterminated")


def test_foreign_types_get_their_own_prefix() -> None:
    other = QName("http://example.org/ns", "Thing")
    _, data = wsd.build_probe([other, wsd.TYPE_DEVICE])
    assert wsd.parse_probe(data).types == (other, wsd.TYPE_DEVICE)


# -- Types: compared by QName ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "types_element",
    [
        '<d:Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter'
        "</d:Types>",
        '<d:Types xmlns:x="http://www.onvif.org/ver10/network/wsdl">x:NetworkVideoTransmitter'
        "</d:Types>",
        '<d:Types xmlns="http://www.onvif.org/ver10/network/wsdl">NetworkVideoTransmitter'
        "</d:Types>",
        '<d:Types xmlns:tds="http://www.onvif.org/ver10/network/wsdl">  tds:NetworkVideoTransmitter'
        "\n</d:Types>",  # the prefix another client uses for tds, bound to dn here
    ],
    ids=["dn", "other-prefix", "default-namespace", "misleading-prefix"],
)
def test_types_match_by_namespace_and_local_name(types_element: str) -> None:
    probe = wsd.parse_probe(probe_xml(f"<d:Probe>{types_element}</d:Probe>"))
    assert probe.types == (wsd.TYPE_NVT,)
    assert wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert not wsd.matches(probe, [wsd.TYPE_DEVICE], SCOPES)


def test_type_in_the_wrong_namespace_does_not_match() -> None:
    probe = wsd.parse_probe(probe_xml(
        '<d:Probe><d:Types xmlns:dn="http://www.onvif.org/ver20/network/wsdl">'
        "dn:NetworkVideoTransmitter</d:Types></d:Probe>"))
    assert not wsd.matches(probe, CAMERA_TYPES, SCOPES)


def test_every_probed_type_must_be_offered() -> None:
    _, data = wsd.build_probe([wsd.TYPE_NVT, wsd.TYPE_DEVICE])
    probe = wsd.parse_probe(data)
    assert wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert not wsd.matches(probe, [wsd.TYPE_NVT], SCOPES)


def test_undeclared_type_prefix_is_invalid() -> None:
    with pytest.raises(wsd.InvalidMessage, match="not declared"):
        wsd.parse_probe(probe_xml("<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types>"
                                  "</d:Probe>"))


# -- Scopes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("probe_scope", "target_scope", "expected"),
    [
        (f"{ONVIF}/location/city", f"{ONVIF}/location/city/wuhan", True),
        (f"{ONVIF}/location/city", f"{ONVIF}/location/cityhall", False),  # segments, not chars
        (f"{ONVIF}/location/city", f"{ONVIF}/location/city", True),
        (f"{ONVIF}/location/city/", f"{ONVIF}/location/city/wuhan", True),  # trailing slash
        (f"{ONVIF}/location/city/wuhan", f"{ONVIF}/location/city", False),  # longer than target
        (ONVIF, f"{ONVIF}/anything/at/all", True),  # no path: every scope of that authority
        ("ONVIF://WWW.ONVIF.ORG/location/city", f"{ONVIF}/location/city/wuhan", True),
        (f"{ONVIF}/Location/city", f"{ONVIF}/location/city", False),  # path is case-sensitive
        (f"{ONVIF}/name/Front%20Door", f"{ONVIF}/name/Front%20Door", True),
        (f"{ONVIF}/name/%46ront", f"{ONVIF}/name/Front", True),  # compared percent-decoded
        (f"{ONVIF}/location?q=1#frag", f"{ONVIF}/location/city", True),  # query/fragment out
        ("http://www.onvif.org/location", f"{ONVIF}/location/city", False),  # other scheme
        ("onvif://www.example.org/location", f"{ONVIF}/location/city", False),  # other authority
        (f"{ONVIF}/location/../name", f"{ONVIF}/location/../name/x", False),  # dot segments
        (f"{ONVIF}/location", f"{ONVIF}/location/./city", False),
        ("onvif://[::1/location", "onvif://[::1/location", False),  # unparsable authority
    ],
)
def test_rfc3986_scope_matching(probe_scope: str, target_scope: str, expected: bool) -> None:
    assert wsd.scope_matches(probe_scope, target_scope) is expected
    assert wsd.scope_matches(probe_scope, target_scope, wsd.MATCH_BY_RFC3986) is expected
    assert wsd.scope_matches(probe_scope, target_scope, wsd.MATCH_BY_RFC2396) is expected


@pytest.mark.parametrize(
    ("probe_scope", "target_scope", "expected"),
    [
        (f"{ONVIF}/location/city", f"{ONVIF}/location/city", True),
        (f"{ONVIF}/location/city", f"{ONVIF}/location/city/wuhan", False),
        ("ONVIF://WWW.ONVIF.ORG/location/city", f"{ONVIF}/location/city", False),
    ],
)
def test_strcmp0_scope_matching(probe_scope: str, target_scope: str, expected: bool) -> None:
    assert wsd.scope_matches(probe_scope, target_scope, wsd.MATCH_BY_STRCMP0) is expected


def test_every_probed_scope_must_match_some_target_scope() -> None:
    _, data = wsd.build_probe(scopes=[f"{ONVIF}/location/country/china", f"{ONVIF}/Profile"])
    probe = wsd.parse_probe(data)
    assert wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert not wsd.matches(probe, CAMERA_TYPES, SCOPES[2:])


@pytest.mark.parametrize("rule", [wsd.MATCH_BY_LDAP, wsd.MATCH_BY_UUID,
                                  "http://www.onvif.org/ver10/schema/NotARule"])
def test_unsupported_matching_rule_is_signalled(rule: str) -> None:
    # Raised even when the Types would not match: the unicast responder must still fault.
    _, data = wsd.build_probe([QName("urn:x", "Nope")], [ONVIF], match_by=rule)
    probe = wsd.parse_probe(data)
    with pytest.raises(wsd.MatchingRuleNotSupported) as caught:
        wsd.matches(probe, CAMERA_TYPES, SCOPES)
    assert caught.value.match_by == rule
    with pytest.raises(wsd.MatchingRuleNotSupported):
        wsd.scope_matches(ONVIF, ONVIF, rule)


# -- hostile and broken input ---------------------------------------------------------------------
INVALID_PROBES = {
    "empty": b"",
    "garbage": b"\x00\xffnot xml at all",
    "text": b"hello camera",
    "truncated": probe_xml()[:-20],
    "not-soap": b"<Probe/>",
    "soap-1.1": probe_xml().replace(b"http://www.w3.org/2003/05/soap-envelope",
                                    b"http://schemas.xmlsoap.org/soap/envelope/"),
    "no-action": probe_xml(action=""),
    "wrong-action": probe_xml(action=wsd.ACTION_HELLO),
    "no-message-id": probe_xml(message_id=None),
    "body-not-probe": probe_xml("<d:Resolve/>"),
    "wsd-1.1-namespace": probe_xml(
        '<p:Probe xmlns:p="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"/>'),
    "wsa-1.0-headers": probe_xml().replace(b"http://schemas.xmlsoap.org/ws/2004/08/addressing",
                                           b"http://www.w3.org/2005/08/addressing"),
    "two-body-elements": probe_xml("<d:Probe/><d:Probe/>"),
    "no-header": (f"{ENV_OPEN}<s:Body><d:Probe/></s:Body></s:Envelope>").encode(),
    "two-scopes": probe_xml("<d:Probe><d:Scopes/><d:Scopes/></d:Probe>"),
    "must-understand": probe_xml(extra_header='<x:Secret xmlns:x="urn:x" '
                                              's:mustUnderstand="true"/>'),
    "doctype": probe_xml(prologue="<!DOCTYPE s:Envelope>"),
    "utf8-bom-garbage": b"\xef\xbb\xbf\xef\xbb\xbf<x/>",
}


@pytest.mark.parametrize("data", INVALID_PROBES.values(), ids=INVALID_PROBES.keys())
def test_parse_probe_rejects(data: bytes) -> None:
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe(data)


def test_unknown_header_without_must_understand_is_ignored() -> None:
    probe = wsd.parse_probe(probe_xml(extra_header='<x:Note xmlns:x="urn:x">hi</x:Note>'))
    assert probe.message_id


def test_non_bytes_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        wsd.parse_probe("<s:Envelope/>")  # type: ignore[arg-type]


def test_size_cap() -> None:
    _, data = wsd.build_probe([wsd.TYPE_NVT])
    padding = wsd.MAX_MESSAGE_BYTES - len(data)
    at_cap = data.replace(b"</s:Body>", b" " * padding + b"</s:Body>")
    assert len(at_cap) == wsd.MAX_MESSAGE_BYTES
    assert wsd.parse_probe(at_cap).types == (wsd.TYPE_NVT,)
    over = data.replace(b"</s:Body>", b" " * (padding + 1) + b"</s:Body>")
    with pytest.raises(wsd.InvalidMessage, match="cap"):
        wsd.parse_probe(over)


def test_external_entity_is_neither_expanded_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    data = probe_xml(
        "<d:Probe><d:Scopes>&xxe;</d:Scopes></d:Probe>",
        prologue=f'<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>',
    )
    with pytest.raises(wsd.InvalidMessage) as caught:
        wsd.parse_probe(data)
    assert "TOP-SECRET-MARKER" not in str(caught.value)


@pytest.mark.parametrize("kind", ["entity", "dtd"])
def test_external_resources_are_never_fetched(kind: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/evil"
        if kind == "entity":
            data = probe_xml("<d:Probe><d:Scopes>&xxe;</d:Scopes></d:Probe>",
                             prologue=f'<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "{url}">]>')
        else:
            data = probe_xml(prologue=f'<!DOCTYPE s:Envelope SYSTEM "{url}">')
        with pytest.raises(wsd.InvalidMessage):
            wsd.parse_probe(data)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # a fetch attempt would be waiting in the backlog


def test_entity_expansion_bomb_is_rejected_quickly() -> None:
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    data = probe_xml("<d:Probe><d:Scopes>&l9;</d:Scopes></d:Probe>",
                     prologue=f"<!DOCTYPE s:Envelope [{''.join(entities)}]>")
    started = time.perf_counter()
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe(data)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("parse", [wsd.parse_probe_matches, wsd.parse_hello_bye,
                                   wsd.parse_fault])
@pytest.mark.parametrize("data", [b"", b"junk", probe_xml(prologue="<!DOCTYPE x>")],
                         ids=["empty", "junk", "doctype"])
def test_every_parser_rejects_garbage(parse: object, data: bytes) -> None:
    assert callable(parse)
    with pytest.raises(wsd.InvalidMessage):
        parse(data)
