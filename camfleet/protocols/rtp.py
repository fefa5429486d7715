"""RTP (RFC 3550) packets and H.264 payloads (RFC 6184), as bytes in and bytes out.

A sender cuts an encoded access unit into payloads with :func:`packetize_h264` (one payload
per small NAL unit, FU-A fragments for big ones, ``packetization-mode=1``) and puts each behind
a header with :func:`build_rtp_packet`; the last payload of a frame carries the marker bit. JPEG
frames have their own packetizer in :mod:`camfleet.protocols.rtp_jpeg`.

    >>> from camfleet.protocols import rtp
    >>> nals = rtp.split_annexb(bytes.fromhex("00000001 6742001f 000001 68ce"))
    >>> [nal.hex() for nal in nals]
    ['6742001f', '68ce']
    >>> packet = rtp.build_rtp_packet(96, 7, 9000, 0x1234, rtp.packetize_h264(nals)[0])
    >>> rtp.parse_rtp_packet(packet)[0].sequence
    7

Parsing (for receivers and tests) checks the version, CSRC list, extension and padding
against the datagram's length and raises :class:`InvalidPacket` for anything inconsistent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "InvalidPacket",
    "RtpHeader",
    "build_rtp_packet",
    "is_rtcp",
    "packetize_h264",
    "parse_rtp_packet",
    "split_annexb",
]

#: Payload bytes per packet: 1500-byte Ethernet MTU less IP, UDP, RTP headers and some slack
#: for tunnels; also what keeps an interleaved frame well under its 64 KiB limit.
MAX_PAYLOAD_BYTES = 1400
_HEADER = struct.Struct("!BBHII")
_FU_A = 28
_START_CODE = b"\x00\x00\x01"


class InvalidPacket(ValueError):
    """The bytes are not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpHeader:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool = False


def build_rtp_packet(payload_type: int, sequence: int, timestamp: int, ssrc: int,
                     payload: bytes, *, marker: bool = False) -> bytes:
    """A version-2 RTP packet without CSRCs, extension or padding."""
    if not 0 <= payload_type <= 127:
        raise ValueError(f"payload type {payload_type} is not 0..127")
    return _HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, sequence & 0xFFFF,
                        timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


def parse_rtp_packet(data: bytes) -> tuple[RtpHeader, bytes]:
    """The header and payload of one packet."""
    if len(data) < _HEADER.size:
        raise InvalidPacket(f"{len(data)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise InvalidPacket(f"RTP version {first >> 6}, expected 2")
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise InvalidPacket("truncated header extension")
        offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
    end = len(data)
    if first & 0x20:
        padding = data[-1] if data else 0
        if padding == 0 or end - padding < offset:
            raise InvalidPacket(f"padding of {padding} bytes does not fit the packet")
        end -= padding
    if offset > end:
        raise InvalidPacket("CSRC list or extension runs past the packet")
    header = RtpHeader(second & 0x7F, sequence, timestamp, ssrc, bool(second & 0x80))
    return header, bytes(data[offset:end])


def is_rtcp(data: bytes) -> bool:
    """Does this datagram look like RTCP (version 2, packet type SR..APP or feedback)?"""
    return len(data) >= 8 and data[0] >> 6 == 2 and 200 <= data[1] <= 207


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes removed, empty units dropped)."""
    nals: list[bytes] = []
    start = data.find(_START_CODE)
    while start >= 0:
        begin = start + len(_START_CODE)
        nxt = data.find(_START_CODE, begin)
        end = nxt if nxt >= 0 else len(data)
        # Zero bytes before the next start code are its leading zero / trailing_zero_8bits.
        nal = data[begin:end].rstrip(b"\x00") if nxt >= 0 else data[begin:end]
        if nal:
            nals.append(bytes(nal))
        start = nxt
    return nals


def packetize_h264(nals: Iterable[bytes], max_payload: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """RTP payloads for one access unit (RFC 6184 §5.6 single NAL unit, §5.8 FU-A).

    The caller sets the marker bit on the last payload (RFC 6184 §5.1).
    """
    if max_payload < 3:
        raise ValueError("an FU-A needs room for two header bytes and some data")
    payloads: list[bytes] = []
    for nal in nals:
        if not nal:
            continue
        if len(nal) <= max_payload:
            payloads.append(nal)
            continue
        indicator = bytes(((nal[0] & 0xE0) | _FU_A,))
        kind = nal[0] & 0x1F
        body = memoryview(nal)[1:]
        step = max_payload - 2
        for offset in range(0, len(body), step):
            start = 0x80 if offset == 0 else 0
            end = 0x40 if offset + step >= len(body) else 0
            payloads.append(indicator + bytes((start | end | kind,)) + body[offset:offset + step])
    return payloads
