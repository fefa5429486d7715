"""The simulated camera's WS-Discovery responder, driven by raw UDP sockets like a real client.

Everything stays on 127.0.0.0/8; each test uses its own free port so tests can run side by side.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from typing import Any

import pytest

from camfleet.protocols import wsdiscovery as wsd
from simulators.discovery import DiscoveryResponder, ResponderState, SharedGroupSocket
from simulators.spec import CameraSpec
from simulators.state import CameraState
from tests.clients import LITERAL_PROBE

GROUP = wsd.MULTICAST_GROUP
MAX_DELAY_MS = 50
#: How long "no reply" is waited for; a responder answers within MAX_DELAY_MS.
SILENCE_S = 1.0
#: Slack on top of MAX_DELAY_MS for a reply that must arrive (a loaded CI machine).
MARGIN_S = 0.25


NOT_A_PROBE = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
            xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
            xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">
  <s:Header>
    <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Resolve</a:Action>
    <a:MessageID>urn:uuid:11111111-2222-4333-8444-555555555555</a:MessageID>
    <a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
  </s:Header>
  <s:Body>
    <d:Resolve><a:EndpointReference><a:Address>urn:uuid:x</a:Address></a:EndpointReference>
    </d:Resolve>
  </s:Body>
</s:Envelope>
"""


# -- helpers ---------------------------------------------------------------------------------------
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_spec(address: str, port: int, *, serial: str | None = None, **network: Any) -> CameraSpec:
    network.setdefault("discovery_max_delay_ms", MAX_DELAY_MS)
    spec = CameraSpec.example().with_network(address=address, discovery_port=port, **network)
    if serial is not None:  # the endpoint UUID derives from the serial number
        spec = spec.model_copy(
            update={"identity": spec.identity.model_copy(update={"serial": serial})})
    return spec


def make_responder(
    address: str = "127.0.0.1",
    port: int | None = None,
    *,
    rng: random.Random | None = None,
    serial: str | None = None,
    group: SharedGroupSocket | None = None,
    **network: Any,
) -> DiscoveryResponder:
    spec = make_spec(address, port or free_udp_port(), serial=serial, **network)
    return DiscoveryResponder(CameraState(spec), address, lambda: [xaddr_of(address)], rng=rng,
                              group=group)


def xaddr_of(address: str) -> str:
    return f"http://{address}:8080/onvif/device_service"


def client_socket() -> socket.socket:
    """What a discovery client opens: an ephemeral port, multicast out through loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.setblocking(False)
    return sock


def group_listener(port: int) -> socket.socket:
    """A passive monitor: joined to the group on loopback, hears Hello and Bye."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, port))
    membership = socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.setblocking(False)
    return sock


async def receive(sock: socket.socket, within: float) -> tuple[bytes, tuple[str, int]] | None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            data, addr = await loop.sock_recvfrom(sock, 65536)
    except TimeoutError:
        return None
    return data, (str(addr[0]), int(addr[1]))


async def receive_all(sock: socket.socket, window: float) -> list[tuple[bytes, tuple[str, int]]]:
    deadline = time.monotonic() + window
    received = []
    while (left := deadline - time.monotonic()) > 0:
        got = await receive(sock, left)
        if got is not None:
            received.append(got)
    return received


async def receive_announcements(listener: socket.socket, window: float) -> list[wsd.Announcement]:
    """Hello/Bye heard by a group listener, skipping the Probes tests multicast themselves."""
    heard = []
    for data, _ in await receive_all(listener, window):
        try:
            heard.append(wsd.parse_hello_bye(data))
        except wsd.InvalidMessage:
            continue
    return heard


async def probe_and_wait(
    client: socket.socket, datagram: bytes, to: tuple[str, int], within: float = SILENCE_S
) -> tuple[bytes, tuple[str, int]] | None:
    client.sendto(datagram, to)
    return await receive(client, within)


def only_match(reply: tuple[bytes, tuple[str, int]] | None) -> wsd.ProbeMatch:
    assert reply is not None, "no ProbeMatches arrived"
    [match] = wsd.parse_probe_matches(reply[0])
    return match


# -- announcements ---------------------------------------------------------------------------------
async def test_hello_on_start_and_bye_on_stop_come_from_the_camera_address() -> None:
    responder = make_responder("127.0.0.2")
    state = responder.state
    with group_listener(responder.port) as listener:
        await responder.start()
        hello_reply = await receive(listener, SILENCE_S)
        await responder.stop()
        bye_reply = await receive(listener, SILENCE_S)
    assert hello_reply is not None, "no Hello on start (DISCOVERY-1-1-2)"
    assert hello_reply[1] == ("127.0.0.2", responder.port)
    hello = wsd.parse_hello_bye(hello_reply[0])
    assert hello.kind == "hello"
    assert hello.endpoint == f"urn:uuid:{state.endpoint_uuid}"
    assert set(hello.types) == {wsd.TYPE_NVT, wsd.TYPE_DEVICE}
    assert list(hello.scopes) == state.all_scopes()
    assert hello.xaddrs == (xaddr_of("127.0.0.2"),)
    assert hello.metadata_version == state.metadata_version
    assert bye_reply is not None, "no Bye on stop (DISCOVERY-1-1-8)"
    assert bye_reply[1] == ("127.0.0.2", responder.port)
    bye = wsd.parse_hello_bye(bye_reply[0])
    assert (bye.kind, bye.endpoint) == ("bye", hello.endpoint)
    assert hello.app_sequence is not None
    assert bye.app_sequence is not None
    assert bye.app_sequence.instance_id == hello.app_sequence.instance_id
    assert bye.app_sequence.message_number > hello.app_sequence.message_number


async def test_reboot_starts_a_new_app_sequence_instance() -> None:
    responder = make_responder()
    with group_listener(responder.port) as listener:
        async with responder:
            first = await receive(listener, SILENCE_S)
            responder.state.reboot()
            await responder.announce_hello()
            second = await receive(listener, SILENCE_S)
    assert first is not None
    assert second is not None
    before = wsd.parse_hello_bye(first[0]).app_sequence
    after = wsd.parse_hello_bye(second[0]).app_sequence
    assert before is not None
    assert after is not None
    assert after.instance_id > before.instance_id
    assert after.message_number == 1


# -- probes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "types",
    [[wsd.TYPE_NVT], [wsd.TYPE_DEVICE], [], [wsd.TYPE_DEVICE, wsd.TYPE_NVT]],
    ids=["dn:NetworkVideoTransmitter", "tds:Device", "no-types", "both"],
)
async def test_multicast_probe_gets_a_probe_match(types: list[wsd.QName]) -> None:
    async with make_responder("127.0.0.2") as responder:
        with client_socket() as client:
            message_id, probe = wsd.build_probe(types)
            started = time.monotonic()
            reply = await probe_and_wait(client, probe, (GROUP, responder.port))
            elapsed = time.monotonic() - started
    match = only_match(reply)
    assert reply is not None
    assert reply[1] == ("127.0.0.2", responder.port)  # the camera's address, not 127.0.0.1
    assert elapsed < MAX_DELAY_MS / 1000 + MARGIN_S
    assert match.relates_to == message_id
    assert match.endpoint == f"urn:uuid:{responder.state.endpoint_uuid}"
    assert match.xaddrs == (xaddr_of("127.0.0.2"),)
    assert list(match.scopes) == responder.state.all_scopes()
    assert set(match.types) == {wsd.TYPE_NVT, wsd.TYPE_DEVICE}
    assert match.metadata_version == responder.state.metadata_version


async def test_hand_written_probe_gets_a_probe_match() -> None:
    async with make_responder() as responder:
        with client_socket() as client:
            reply = await probe_and_wait(
                client, LITERAL_PROBE % b"7f6c0f1e-2b9d-4c57-a0e3-0d5b0d3e9a01",
                (GROUP, responder.port))
    assert only_match(reply).relates_to == "uuid:7f6c0f1e-2b9d-4c57-a0e3-0d5b0d3e9a01"


async def test_scopes_filter_probes() -> None:
    # The example camera has onvif://www.onvif.org/location/country/china/city/wuhan.
    async with make_responder() as responder:
        with client_socket() as client:
            group = (GROUP, responder.port)
            _, elsewhere = wsd.build_probe(scopes=["onvif://www.onvif.org/location/country/fr"])
            _, near_miss = wsd.build_probe(
                scopes=["onvif://www.onvif.org/location/country/chin"])
            prefix_id, prefix = wsd.build_probe(
                [wsd.TYPE_DEVICE], ["onvif://www.onvif.org/location/country/china"])
            full_id, full = wsd.build_probe(
                scopes=["onvif://www.onvif.org/location/country/china/city/wuhan",
                        "onvif://www.onvif.org/Profile/T"])
            for datagram in (elsewhere, near_miss, prefix, full):
                client.sendto(datagram, group)
            replies = await receive_all(client, SILENCE_S)
    related = sorted(only_match(reply).relates_to for reply in replies)
    assert related == sorted([prefix_id, full_id])


async def test_unicast_probe_is_answered_from_the_camera_address() -> None:
    async with make_responder("127.0.0.2") as responder:
        with client_socket() as client:
            message_id, probe = wsd.build_probe([wsd.TYPE_DEVICE])
            reply = await probe_and_wait(client, probe, ("127.0.0.2", responder.port))
    assert only_match(reply).relates_to == message_id
    assert reply is not None
    assert reply[1] == ("127.0.0.2", responder.port)


async def test_invalid_probes_get_no_reply_and_do_not_hurt_the_responder() -> None:
    async with make_responder("127.0.0.2") as responder:
        with client_socket() as client:
            bad = [
                b"",
                b"\x00\xff garbage \xfe",
                b"<Probe/>",
                LITERAL_PROBE[:200],  # truncated
                NOT_A_PROBE,  # well-formed SOAP, but not a Probe
                LITERAL_PROBE.replace(b"/discovery/Probe<", b"/discovery/Hello<"),
                LITERAL_PROBE.replace(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>",
                                      b'<!DOCTYPE x [<!ENTITY e "e">]>'),
                wsd.build_hello("urn:uuid:other", types=[wsd.TYPE_NVT], scopes=[], xaddrs=[],
                                metadata_version=1, app_sequence=wsd.AppSequence(1, 1)),
                b"A" * 60000,
            ]
            for datagram in bad:
                client.sendto(datagram, (GROUP, responder.port))
                client.sendto(datagram, ("127.0.0.2", responder.port))
            assert await receive_all(client, SILENCE_S) == []  # DISCOVERY-1-1-5
            message_id, probe = wsd.build_probe()
            reply = await probe_and_wait(client, probe, (GROUP, responder.port))
    assert only_match(reply).relates_to == message_id  # still serving


async def test_unsupported_matching_rule_faults_on_unicast_only() -> None:
    async with make_responder() as responder:
        with client_socket() as client:
            _, multicast_probe = wsd.build_probe(scopes=["onvif://www.onvif.org"],
                                                 match_by=wsd.MATCH_BY_LDAP)
            assert await probe_and_wait(client, multicast_probe, (GROUP, responder.port)) is None
            message_id, unicast_probe = wsd.build_probe(
                scopes=["onvif://www.onvif.org"], match_by="http://example.org/no-such-rule")
            reply = await probe_and_wait(client, unicast_probe, ("127.0.0.1", responder.port))
    assert reply is not None, "no SOAP fault (DISCOVERY-1-1-10)"
    fault = wsd.parse_fault(reply[0])
    assert fault.code == wsd.QName(wsd.NS_SOAP, "Sender")
    assert fault.subcode == wsd.QName(wsd.NS_DISCOVERY, "MatchingRuleNotSupported")
    assert fault.relates_to == message_id


async def test_a_retransmitted_probe_is_answered_once() -> None:
    async with make_responder() as responder:
        with client_socket() as client:
            _, probe = wsd.build_probe()
            client.sendto(probe, (GROUP, responder.port))
            client.sendto(probe, (GROUP, responder.port))
            replies = await receive_all(client, MAX_DELAY_MS / 1000 + MARGIN_S)
    assert len(replies) == 1


# -- discovery mode --------------------------------------------------------------------------------
async def test_non_discoverable_camera_is_silent() -> None:
    responder = make_responder(discoverable=False)
    with group_listener(responder.port) as listener, client_socket() as client:
        await responder.start()
        _, probe = wsd.build_probe()
        client.sendto(probe, (GROUP, responder.port))
        _, probe = wsd.build_probe()
        client.sendto(probe, ("127.0.0.1", responder.port))
        replies = await receive_all(client, SILENCE_S)
        await responder.stop()
        announcements = await receive_announcements(listener, MARGIN_S)
    assert replies == []  # DISCOVERY-1-1-9, and ONVIF Core for unicast
    assert announcements == []  # no Hello, no Bye


async def test_switching_discovery_mode_announces_and_silences() -> None:
    responder = make_responder()
    with group_listener(responder.port) as listener, client_socket() as client:
        async with responder:
            await responder.set_discoverable(False)
            _, probe = wsd.build_probe()
            assert await probe_and_wait(client, probe, (GROUP, responder.port)) is None
            await responder.set_discoverable(True)
            message_id, probe = wsd.build_probe()
            reply = await probe_and_wait(client, probe, (GROUP, responder.port))
            heard = await receive_announcements(listener, MARGIN_S)
    assert [announcement.kind for announcement in heard] == ["hello", "bye", "hello"]
    assert only_match(reply).relates_to == message_id


# -- timing, fleets, lifecycle ---------------------------------------------------------------------
async def test_multicast_reply_waits_the_random_delay() -> None:
    max_delay_ms = 300
    expected = random.Random(7).uniform(0.0, max_delay_ms / 1000)
    async with make_responder(rng=random.Random(7), discovery_max_delay_ms=max_delay_ms) as cam:
        with client_socket() as client:
            _, probe = wsd.build_probe()
            started = time.monotonic()
            reply = await probe_and_wait(client, probe, (GROUP, cam.port))
            elapsed = time.monotonic() - started
    assert reply is not None
    assert expected - 0.01 <= elapsed <= expected + MARGIN_S


async def test_zero_max_delay_answers_at_once() -> None:
    async with make_responder(discovery_max_delay_ms=0) as responder:
        with client_socket() as client:
            _, probe = wsd.build_probe()
            started = time.monotonic()
            reply = await probe_and_wait(client, probe, (GROUP, responder.port))
            elapsed = time.monotonic() - started
    assert reply is not None
    assert elapsed < 0.1


async def test_cameras_on_one_port_each_answer_from_their_own_address() -> None:
    port = free_udp_port()
    cameras = [make_responder(f"127.0.0.{i}", port, serial=f"SN-{i}") for i in (2, 3, 4)]
    for camera in cameras:
        await camera.start()
    try:
        with client_socket() as client:
            message_id, probe = wsd.build_probe([wsd.TYPE_NVT])
            client.sendto(probe, (GROUP, port))
            replies = await receive_all(client, MAX_DELAY_MS / 1000 + MARGIN_S)
    finally:
        for camera in cameras:
            await camera.stop()
    sources = sorted(addr for _, addr in replies)
    assert sources == [(f"127.0.0.{i}", port) for i in (2, 3, 4)]
    endpoints = {only_match(reply).endpoint for reply in replies}
    assert endpoints == {f"urn:uuid:{camera.state.endpoint_uuid}" for camera in cameras}
    assert {only_match(reply).relates_to for reply in replies} == {message_id}


async def test_lifecycle_guards() -> None:
    responder = make_responder(port=None)
    with pytest.raises(RuntimeError, match="new; start"):
        await responder.announce_hello()
    await responder.start()
    assert responder.lifecycle is ResponderState.RUNNING
    with pytest.raises(RuntimeError, match="already running"):
        await responder.start()
    await responder.stop()
    await responder.stop()  # idempotent
    assert responder.lifecycle.value == "stopped"
    await responder.start()  # a reboot restarts on the same port
    await responder.stop_silently()


async def test_port_zero_picks_one_port_for_both_sockets() -> None:
    responder = make_responder(port=None)
    responder.state.spec = responder.state.spec.with_network(discovery_port=0)
    async with responder:
        assert responder.port != 0
        with client_socket() as client:
            message_id, probe = wsd.build_probe()
            reply = await probe_and_wait(client, probe, (GROUP, responder.port))
    assert only_match(reply).relates_to == message_id


async def test_two_cameras_cannot_share_an_address() -> None:
    port = free_udp_port()
    async with make_responder("127.0.0.6", port):
        with pytest.raises(OSError, match=r"127\.0\.0\.6"):
            await make_responder("127.0.0.6", port, serial="SN-other").start()


def test_only_specific_ipv4_addresses_are_accepted() -> None:
    state = CameraState(CameraSpec.example())
    for address in ("0.0.0.0", "::1", "239.255.255.250"):
        with pytest.raises(ValueError, match="IPv4"):
            DiscoveryResponder(state, address, list)


async def test_shared_group_socket_serves_a_fleet_from_one_socket() -> None:
    port = free_udp_port()
    with group_listener(port) as listener, client_socket() as client:
        async with SharedGroupSocket(port, "127.0.0.1") as group:
            cameras = [make_responder(f"127.0.0.{i}", port, serial=f"SN-{i}", group=group)
                       for i in (2, 3, 4)]
            for camera in cameras:
                await camera.start()
            client.sendto(b"garbage", (GROUP, port))
            message_id, probe = wsd.build_probe([wsd.TYPE_DEVICE])
            client.sendto(probe, (GROUP, port))
            replies = await receive_all(client, MAX_DELAY_MS / 1000 + MARGIN_S)
            await cameras[0].stop()
            _, probe = wsd.build_probe()
            client.sendto(probe, (GROUP, port))
            after_stop = await receive_all(client, MAX_DELAY_MS / 1000 + MARGIN_S)
            for camera in cameras:
                await camera.stop()
        heard = await receive_announcements(listener, MARGIN_S)
    assert sorted(addr for _, addr in replies) == [(f"127.0.0.{i}", port) for i in (2, 3, 4)]
    assert {only_match(reply).relates_to for reply in replies} == {message_id}
    assert sorted(addr for _, addr in after_stop) == [(f"127.0.0.{i}", port) for i in (3, 4)]
    assert sorted(a.kind for a in heard) == ["bye"] * 3 + ["hello"] * 3


async def test_shared_group_socket_must_be_open_and_on_the_camera_port() -> None:
    group = SharedGroupSocket(0, "127.0.0.1")
    with pytest.raises(RuntimeError, match="open its SharedGroupSocket"):
        await make_responder(group=group).start()
    async with group:
        assert group.port != 0
        with pytest.raises(ValueError, match="shared group socket"):
            await make_responder(port=group.port + 1, group=group).start()
        async with make_responder(port=group.port, group=group) as responder:
            assert responder.port == group.port
    await group.close()  # idempotent
