"""Lenient ProbeMatches parsing: what real firmware gets wrong is read and named; the rest of
the codec's strictness (DTDs, malformed XML, unknown prefixes, size) holds in lenient mode."""

from __future__ import annotations

import pytest

from camfleet.protocols import wsdiscovery as wsd

DECLARATIONS = (f' xmlns:s="{wsd.NS_SOAP}" xmlns:a="{wsd.NS_WSA}"'
                f' xmlns:d="{wsd.NS_DISCOVERY}" xmlns:dn="{wsd.NS_DN}"')
ENDPOINT = "urn:uuid:9a1c7e52-0000-4000-8000-00000000f00d"


def foreign_reply(relates_to: str, *, xaddr: str = "http://127.0.0.1:8080/onvif/device_service",
                  declare: bool = True, bare: bool = True, d_epr: bool = True,
                  endpoint: str = ENDPOINT) -> bytes:
    """A ProbeMatches as a real-world responder sends it (each fault can be switched off)."""
    epr = "d" if d_epr else "a"
    match = (f"<d:ProbeMatch><{epr}:EndpointReference><{epr}:Address>{endpoint}</{epr}:Address>"
             f"</{epr}:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
             f"<d:Scopes>onvif://www.onvif.org/hardware/FW-1</d:Scopes>"
             f"<d:XAddrs>{xaddr}</d:XAddrs><d:MetadataVersion>3</d:MetadataVersion>"
             f"</d:ProbeMatch>")
    body = match if bare else f"<d:ProbeMatches>{match}</d:ProbeMatches>"
    return (f"<s:Envelope{DECLARATIONS if declare else ''}><s:Header>"
            f"<a:Action>{wsd.ACTION_PROBE_MATCHES}</a:Action>"
            f"<a:MessageID>urn:uuid:0000aaaa-0000-4000-8000-000000000001</a:MessageID>"
            f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body>{body}</s:Body>"
            f"</s:Envelope>").encode()


def test_a_conformant_reply_has_no_nonconformities() -> None:
    [match] = wsd.parse_probe_matches(foreign_reply("urn:uuid:p", bare=False, d_epr=False),
                                      lenient=True)
    assert match.nonconformities == ()
    assert match.endpoint == ENDPOINT


@pytest.mark.parametrize(("faults", "named"), [
    ({"bare": True, "d_epr": False}, ["bare d:ProbeMatch"]),
    ({"bare": False, "d_epr": True}, ["d:EndpointReference instead of wsa"]),
    ({"bare": False, "d_epr": False, "declare": False}, ["undeclared namespace prefixes: s, a, d",
                                                        "Types: prefix 'dn' not declared"]),
    ({"declare": False}, ["undeclared", "bare", "d:EndpointReference"]),
])
def test_real_firmware_faults_are_read_and_named(faults: dict[str, bool],
                                                 named: list[str]) -> None:
    data = foreign_reply("urn:uuid:p", **faults)
    with pytest.raises(wsd.InvalidMessage):
        wsd.parse_probe_matches(data)  # strict stays strict
    [match] = wsd.parse_probe_matches(data, lenient=True)
    assert (match.endpoint, match.relates_to, match.metadata_version) == (ENDPOINT, "urn:uuid:p", 3)
    assert match.types == (wsd.TYPE_NVT,)
    assert match.xaddrs == ("http://127.0.0.1:8080/onvif/device_service",)
    for text in named:
        assert any(text in note for note in match.nonconformities), match.nonconformities


@pytest.mark.parametrize(("data", "reason"), [
    (foreign_reply("urn:uuid:p", declare=False).replace(b"s:Body", b"zz:Body"), "well-formed"),
    (foreign_reply("urn:uuid:p", declare=False).replace(b"</s:Envelope>", b""), "well-formed"),
    (b'<!DOCTYPE s:Envelope [<!ENTITY x "y">]>' + foreign_reply("urn:uuid:p", declare=False),
     "DTD|well-formed"),
    (foreign_reply("urn:uuid:p").replace(b"<a:RelatesTo>urn:uuid:p</a:RelatesTo>", b""),
     "RelatesTo"),
    (foreign_reply("urn:uuid:p").replace(b"<d:MetadataVersion>3</d:MetadataVersion>", b""),
     "MetadataVersion"),
    (foreign_reply("urn:uuid:p", declare=False) + b" " * wsd.MAX_MESSAGE_BYTES, "cap"),
])
def test_lenient_mode_keeps_everything_else_strict(data: bytes, reason: str) -> None:
    with pytest.raises(wsd.InvalidMessage, match=reason):
        wsd.parse_probe_matches(data, lenient=True)


def test_the_decision_rests_on_this_reply_alone() -> None:
    """An earlier unreadable reply (same thread, same parsers) must not spoil the next one."""
    for junk in (b"\x00junk", b"<a><b></a>", b"<x:y/>"):
        with pytest.raises(wsd.InvalidMessage):
            wsd.parse_probe_matches(junk, lenient=True)
        [match] = wsd.parse_probe_matches(foreign_reply("urn:uuid:p", declare=False),
                                          lenient=True)
        assert match.endpoint == ENDPOINT
