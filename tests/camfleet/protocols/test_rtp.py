"""RTP packets and H.264 packetization (RFC 3550, RFC 6184)."""

from __future__ import annotations

import pytest

from camfleet.protocols import rtp


def test_packet_round_trip() -> None:
    packet = rtp.build_rtp_packet(96, 70000, 2**32 + 5, 0xDEADBEEF, b"payload", marker=True)
    header, payload = rtp.parse_rtp_packet(packet)
    assert header == rtp.RtpHeader(96, 70000 & 0xFFFF, 5, 0xDEADBEEF, True)
    assert payload == b"payload"
    assert packet[0] == 0x80  # V=2, no padding, extension or CSRC


def test_parse_skips_csrcs_extension_and_padding() -> None:
    header = bytes([0xB2, 26]) + (1).to_bytes(2, "big") + (2).to_bytes(4, "big") + \
        (3).to_bytes(4, "big")
    csrcs = bytes(8)
    extension = bytes.fromhex("bede0001") + bytes(4)
    packet = header + csrcs + extension + b"data" + b"\x00\x00\x03"
    parsed, payload = rtp.parse_rtp_packet(packet)
    assert (parsed.payload_type, parsed.sequence, payload) == (26, 1, b"data")


@pytest.mark.parametrize("packet", [
    b"", bytes(11), bytes([0x40]) + bytes(11),  # short; version 1
    bytes([0x8F]) + bytes(11),  # 15 CSRCs announced, none there
    bytes([0x90]) + bytes(11) + bytes.fromhex("bede00ff"),  # extension runs past the end
    bytes([0xA0]) + bytes(11) + b"\x00",  # zero padding count
    bytes([0xA0]) + bytes(11) + b"ab\x10",  # padding longer than the payload
])
def test_malformed_packets_are_refused(packet: bytes) -> None:
    with pytest.raises(rtp.InvalidPacket):
        rtp.parse_rtp_packet(packet)


def test_rtcp_is_told_from_rtp() -> None:
    receiver_report = bytes.fromhex("81c90007") + bytes(28)
    assert rtp.is_rtcp(receiver_report)
    assert not rtp.is_rtcp(rtp.build_rtp_packet(96, 1, 1, 1, b"x"))
    assert not rtp.is_rtcp(b"\x81\xc9")


def test_split_annexb_handles_both_start_codes_and_trailing_zeros() -> None:
    stream = bytes.fromhex("00000001 6742 0000 000001 68ce 00000001 65888001 000001")
    assert rtp.split_annexb(stream) == [bytes.fromhex("6742"), bytes.fromhex("68ce"),
                                        bytes.fromhex("65888001")]
    assert rtp.split_annexb(b"no start code") == []


def test_small_nal_units_travel_whole() -> None:
    nals = [bytes.fromhex("6742c01e"), bytes.fromhex("68ce3c80")]
    assert rtp.packetize_h264(nals, max_payload=100) == nals


def test_big_nal_unit_is_fragmented_into_fu_a() -> None:
    nal = bytes([0x65]) + bytes(range(256)) * 20  # IDR slice, NRI 3
    payloads = rtp.packetize_h264([nal], max_payload=1000)
    assert all(len(p) <= 1000 for p in payloads)
    assert all(p[0] == (0x60 | 28) for p in payloads)  # F=0, NRI kept, type FU-A
    assert payloads[0][1] == 0x80 | 5  # start bit, NAL type 5
    assert payloads[-1][1] == 0x40 | 5  # end bit
    assert all(p[1] == 5 for p in payloads[1:-1])
    assert bytes([0x65]) + b"".join(p[2:] for p in payloads) == nal


def test_packetizer_needs_room() -> None:
    with pytest.raises(ValueError, match="FU-A"):
        rtp.packetize_h264([b"\x65abc"], max_payload=2)
