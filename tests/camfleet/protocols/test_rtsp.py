"""RTSP message codec: framing, parsing, building, Transport/Session headers, hostile input."""

from __future__ import annotations

import random

import pytest

from camfleet.protocols import rtsp
from camfleet.protocols.rtsp import InvalidMessage, RawMessage, Transport

DESCRIBE = (b"DESCRIBE rtsp://127.0.0.1:8554/Streaming/Channels/101 RTSP/1.0\r\n"
            b"CSeq: 2\r\nUser-Agent: Lavf59.27.100\r\nAccept: application/sdp\r\n\r\n")


def request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + body


def status_of(data: bytes) -> tuple[int, int | None]:
    with pytest.raises(InvalidMessage) as caught:
        rtsp.parse_request(data)
    return caught.value.status, caught.value.cseq


# -- framing ---------------------------------------------------------------------------------
def test_reader_splits_pipelined_requests_and_interleaved_packets_fed_byte_by_byte() -> None:
    rtcp = bytes.fromhex("81c90007") + bytes(28)
    stream = (DESCRIBE + rtsp.frame_interleaved(1, rtcp)
              + request("SET_PARAMETER rtsp://cam/ RTSP/1.0\nCSeq: 3\nContent-Length: 5\n\n",
                        b"a: b\n"))
    reader = rtsp.MessageReader()
    items: list[RawMessage | rtsp.InterleavedFrame] = []
    for i in range(len(stream)):
        items += reader.feed(stream[i:i + 1])
    assert [type(item) for item in items] == [RawMessage, rtsp.InterleavedFrame, RawMessage]
    assert items[1] == rtsp.InterleavedFrame(1, rtcp)
    assert rtsp.parse_request(items[0]).method == "DESCRIBE"
    last = rtsp.parse_request(items[2])
    assert (last.cseq, last.body) == (3, b"a: b\n")
    assert reader.buffered == 0


def test_reader_accepts_bare_lf_and_blank_lines_between_messages() -> None:
    reader = rtsp.MessageReader()
    [raw] = reader.feed(b"\r\n\r\nOPTIONS * RTSP/1.0\nCSeq: 9\n\n")
    assert rtsp.parse_request(raw).uri == "*"


@pytest.mark.parametrize(("data", "status"), [
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + b"a" * 20000, 400),  # head never ends
    (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 999999\r\n\r\n", 413),
    (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -5\r\n\r\n", 400),
    (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1e3\r\n\r\n", 400),
    (b"SET_PARAMETER * RTSP/1.0\r\nContent-Length: 1\r\nContent-length: 2\r\n\r\n", 400),
])
def test_reader_gives_up_when_framing_is_lost(data: bytes, status: int) -> None:
    reader = rtsp.MessageReader()
    with pytest.raises(InvalidMessage) as caught:
        reader.feed(data)
    assert caught.value.status == status
    with pytest.raises(InvalidMessage):  # the connection cannot be resynchronised
        reader.feed(b"OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n")
    assert reader.buffered == 0


def test_reader_caps_what_it_buffers() -> None:
    reader = rtsp.MessageReader(max_head_bytes=1024, max_body_bytes=100)
    for _ in range(10):
        reader.feed(b"x" * 100)
    assert reader.buffered == 1000
    with pytest.raises(InvalidMessage):
        reader.feed(b"x" * 100)
    assert reader.buffered == 0


# -- parsing ---------------------------------------------------------------------------------
def test_request_round_trip_through_builder() -> None:
    data = rtsp.build_request("SETUP", "rtsp://cam/s/track1", 4,
                              [("Transport", "RTP/AVP;unicast;client_port=5000-5001")])
    req = rtsp.parse_request(data)
    assert (req.method, req.uri, req.cseq) == ("SETUP", "rtsp://cam/s/track1", 4)
    assert req.headers.get("transport") == "RTP/AVP;unicast;client_port=5000-5001"
    assert "TRANSPORT" in req.headers


def test_response_round_trip_carries_cseq_and_body() -> None:
    data = rtsp.build_response(200, 7, [("Content-Type", "application/sdp")], b"v=0\r\n")
    resp = rtsp.parse_response(data)
    assert (resp.status, resp.reason, resp.cseq, resp.body) == (200, "OK", 7, b"v=0\r\n")
    assert resp.headers.get("Content-Length") == "5"
    assert rtsp.build_response(461, None).startswith(b"RTSP/1.0 461 Unsupported transport\r\n")


@pytest.mark.parametrize(("head", "status", "cseq"), [
    ("OPTIONS * RTSP/1.0\nUser-Agent: x\n\n", 400, None),  # no CSeq
    ("OPTIONS * RTSP/1.0\nCSeq: 99999999999999999999\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 2147483648\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: -1\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: ١٢\n\n", 400, None),  # Arabic-Indic digits are not digits here
    ("OPTIONS * RTSP/1.0\nCSeq: 1\nCSeq: 2\n\n", 400, None),
    ("OPTIONS * RTSP/2.0\nCSeq: 5\n\n", 505, 5),
    ("OPTIONS * HTTP/1.1\nCSeq: 5\n\n", 400, 5),
    ("OPTIONS  * RTSP/1.0\nCSeq: 5\n\n", 400, 5),
    ("OPT(IONS * RTSP/1.0\nCSeq: 5\n\n", 400, 5),
    ("DESCRIBE http://cam/ RTSP/1.0\nCSeq: 5\n\n", 400, 5),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\n folded: continuation\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\nNo colon here\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\nX: a\x00b\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\nX: a\rb\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\nX: " + "a" * 5000 + "\n\n", 400, None),
    ("OPTIONS * RTSP/1.0\nCSeq: 5\n" + "X: a\n" * 70 + "\n", 400, None),
])
def test_hostile_requests_get_a_status_and_the_cseq_when_it_was_readable(
        head: str, status: int, cseq: int | None) -> None:
    assert status_of(request(head)) == (status, cseq)


def test_non_utf8_head_is_refused() -> None:
    assert status_of(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: \xff\xfe\r\n\r\n")[0] == 400


def test_mutated_requests_raise_only_invalid_message() -> None:
    rng = random.Random(12)
    seed = DESCRIBE + b"Authorization: Digest username=\"a\", nonce=\"n\"\r\n\r\n"
    statuses: list[int] = []
    for _ in range(3000):
        data = bytearray(seed)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        statuses.append(outcome(bytes(data)))
    assert set(statuses) <= {200, 400, 413, 505}
    assert statuses.count(200) > 20  # some mutations of header values still parse


def outcome(data: bytes) -> int:
    """200 if every message in ``data`` parses, else the status of the first refusal."""
    try:
        for raw in rtsp.MessageReader().feed(data):
            if isinstance(raw, RawMessage):
                rtsp.parse_request(raw)
    except InvalidMessage as exc:
        return exc.status
    return 200


def test_response_status_line_is_checked() -> None:
    for bad in (b"RTSP/1.0 2000 OK\r\n\r\n", b"RTSP/1.0 OK\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\n",
                b"RTSP/1.0 200 OK\r\nCSeq: x\r\n\r\n"):
        with pytest.raises(InvalidMessage):
            rtsp.parse_response(bad)


def test_builders_refuse_header_injection() -> None:
    with pytest.raises(ValueError, match="unsafe header"):
        rtsp.build_response(200, 1, [("Session", "1\r\nX-Injected: yes")])
    with pytest.raises(ValueError, match="set by the codec"):
        rtsp.build_response(200, 1, [("Content-Length", "0")])
    with pytest.raises(ValueError, match="CSeq"):
        rtsp.build_request("OPTIONS", "*", rtsp.MAX_CSEQ + 1)
    with pytest.raises(ValueError, match="cannot send"):
        rtsp.build_request("OPTIONS", "rtsp://cam/ x", 1)


def test_request_path_normalises_the_url() -> None:
    assert rtsp.request_path("rtsp://u:p@cam:554/Streaming/Channels/101/?a=1") == \
        "/Streaming/Channels/101"
    assert rtsp.request_path("rtsp://cam") == "/"
    with pytest.raises(InvalidMessage):
        rtsp.request_path("http://cam/x")
    with pytest.raises(InvalidMessage):
        rtsp.request_path("rtsp://[::1/x")


def test_interleaved_frame_bounds() -> None:
    assert rtsp.frame_interleaved(2, b"ab") == b"$\x02\x00\x02ab"
    with pytest.raises(ValueError, match="channel"):
        rtsp.frame_interleaved(256, b"")
    with pytest.raises(ValueError, match="65535"):
        rtsp.frame_interleaved(0, bytes(70000))


# -- Transport, Session, RTP-Info ----------------------------------------------------------------
def test_transport_alternatives_in_client_order() -> None:
    offered = rtsp.parse_transport(
        "RTP/SAVP;unicast;client_port=4000-4001, RTP/AVP/UDP;unicast;client_port=5000-5001;"
        "mode=\"PLAY\",RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=0000BEEF")
    assert offered == (
        Transport("UDP", client_port=(5000, 5001)),
        Transport("TCP", interleaved=(2, 3), ssrc=0xBEEF),
    )


def test_transport_single_port_and_multicast() -> None:
    (udp,) = rtsp.parse_transport("RTP/AVP;client_port=6970")
    assert udp.client_port == (6970, 6971)
    (multicast,) = rtsp.parse_transport("RTP/AVP;multicast;destination=232.0.0.1")
    assert not multicast.unicast


@pytest.mark.parametrize("value", [
    "RTP/AVP;unicast;client_port=abc", "RTP/AVP;unicast;client_port=0-1",
    "RTP/AVP;unicast;client_port=70000-70001", "RTP/AVP/TCP;interleaved=300-301",
    "RTP/AVP;unicast;client_port=1-2;client_port=3-4", "RTP/AVP;ssrc=XYZ",
    ",".join(["RTP/AVP"] * 9),
])
def test_malformed_transport_is_a_bad_request(value: str) -> None:
    with pytest.raises(InvalidMessage):
        rtsp.parse_transport(value)


def test_transport_without_rtp_avp_is_unsupported() -> None:
    with pytest.raises(rtsp.UnsupportedTransport):
        rtsp.parse_transport("RAW/RAW/UDP;unicast;client_port=1-2, RTP/AVP/SCTP")


def test_transport_answer_round_trips() -> None:
    answer = Transport("UDP", client_port=(5000, 5001), server_port=(6000, 6001), ssrc=7)
    text = rtsp.format_transport(answer)
    assert text == "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=00000007"
    assert rtsp.parse_transport(text) == (answer,)


def test_session_header() -> None:
    session = rtsp.new_session_id()
    assert len(session) >= 16
    assert session != rtsp.new_session_id()
    assert rtsp.parse_session(rtsp.format_session(session, 60)) == (session, 60)
    assert rtsp.parse_session("ABC") == ("ABC", None)
    assert rtsp.parse_session("ABC;timeout=9999999") == ("ABC", None)
    for bad in ("", ";timeout=5", "a b", "x" * 65, "é"):
        with pytest.raises(InvalidMessage):
            rtsp.parse_session(bad)


def test_rtp_info_wraps_sequence_and_time() -> None:
    assert rtsp.format_rtp_info([("rtsp://cam/s/track1", 65536 + 5, 2**32 + 9)]) == \
        "url=rtsp://cam/s/track1;seq=5;rtptime=9"
