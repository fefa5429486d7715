"""RTP payload format for JPEG (RFC 2435): from a baseline JPEG to RTP payloads.

RFC 2435 sends only the entropy-coded scan: the receiver rebuilds the JPEG headers from an
8-byte main header (type, width/8, height/8, Q) and, with ``Q >= 128``, quantization tables
carried in the first packet of each frame. That works only for the JPEGs it can describe:
baseline, 8-bit, three components with 4:2:2 (type 0) or 4:2:0 (type 1) luma sampling, the
standard Huffman tables of ITU-T T.81 Annex K.3, no restart interval (types 64..127 exist, but
FFmpeg's receiver rejects them), width and height multiples of 8 up to 2040. :func:`parse_jpeg`
checks all that and raises :class:`UnsupportedJpeg` otherwise, so an encoder must be set up to
produce such JPEGs (FFmpeg's ``mjpeg`` with ``huffman=default`` and one thread does).

    >>> from camfleet.protocols import rtp_jpeg
    >>> frame = rtp_jpeg.parse_jpeg(jpeg_bytes)                    # doctest: +SKIP
    >>> payloads = rtp_jpeg.packetize_jpeg(frame, max_payload=1400)  # doctest: +SKIP

Every byte is checked against the buffer's length; a JPEG larger than :data:`MAX_JPEG_BYTES`
(the 24-bit fragment offset) is refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from camfleet.protocols.rtp import MAX_PAYLOAD_BYTES

__all__ = [
    "MAX_DIMENSION",
    "MAX_JPEG_BYTES",
    "STANDARD_HUFFMAN_TABLES",
    "JpegFrame",
    "UnsupportedJpeg",
    "packetize_jpeg",
    "parse_jpeg",
]

#: The fragment offset has 24 bits.
MAX_JPEG_BYTES = 1 << 24
#: Width and height travel divided by 8 in one byte.
MAX_DIMENSION = 2040
#: Q >= 128 says tables follow in the first packet; 255 says they may change every frame.
_Q_DYNAMIC_TABLES = 255


def _table(bits: str, values: str) -> tuple[bytes, bytes]:
    return bytes.fromhex(bits), bytes.fromhex(values)


#: ITU-T T.81 Annex K.3 tables by (class, id): class 0 = DC, 1 = AC; id 0 = luma, 1 = chroma.
#: RFC 2435 §3.1.3: the receiver assumes these, so a frame coded with others cannot be sent.
STANDARD_HUFFMAN_TABLES: dict[tuple[int, int], tuple[bytes, bytes]] = {
    (0, 0): _table("00010501010101010100000000000000", "000102030405060708090a0b"),
    (0, 1): _table("00030101010101010101010000000000", "000102030405060708090a0b"),
    (1, 0): _table(
        "0002010303020403050504040000017d",
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f024336272"
        "82090a161718191a25262728292a3435363738393a434445464748494a53545556575859"
        "5a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3"
        "a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2"
        "e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"),
    (1, 1): _table(
        "00020102040403040705040400010277",
        "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d1"
        "0a162434e125f11718191a262728292a35363738393a434445464748494a535455565758"
        "595a636465666768696a737475767778797a82838485868788898a92939495969798999a"
        "a2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9da"
        "e2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa"),
}

_SOI, _EOI, _SOS, _DQT, _DHT, _DRI = 0xD8, 0xD9, 0xDA, 0xDB, 0xC4, 0xDD
_SOF_BASELINE, _SOF_EXTENDED = 0xC0, 0xC1
#: SOFn markers of processes RFC 2435 cannot carry (progressive, lossless, arithmetic).
_SOF_OTHER = frozenset({0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
#: Markers without a length field.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_MAIN_HEADER = struct.Struct("!BBHBBBB")  # type-specific, offset (24 bits as 8+16), type, Q, w, h


class UnsupportedJpeg(ValueError):
    """Not a JPEG that RFC 2435 can carry (or not a JPEG at all); the message says why."""


@dataclass(frozen=True, slots=True)
class JpegFrame:
    """What RFC 2435 sends of a JPEG: its type, size, quantization tables and scan."""

    #: 0: luma sampled 2x1 (4:2:2); 1: luma sampled 2x2 (4:2:0).
    type: int
    width: int
    height: int
    #: 64-byte tables in zig-zag order as in DQT: luma, then chroma. Always two: a JPEG whose
    #: chroma shares the luma table gets it twice, since FFmpeg 5 refuses a single table.
    qtables: tuple[bytes, ...]
    #: Entropy-coded data after the SOS header, without the EOI marker.
    scan: bytes


def parse_jpeg(data: bytes) -> JpegFrame:
    """Check that ``data`` is a JPEG RFC 2435 can carry and extract what it sends."""
    if len(data) > MAX_JPEG_BYTES:
        raise UnsupportedJpeg(f"JPEG of {len(data)} bytes exceeds {MAX_JPEG_BYTES}")
    if data[:2] != b"\xff\xd8":
        raise UnsupportedJpeg("no SOI marker: not a JPEG")
    tables: dict[int, bytes] = {}
    frame: tuple[int, int, int, tuple[int, int]] | None = None  # type, width, height, (qY, qC)
    pos = 2
    while True:
        marker, segment, pos = _next_segment(data, pos)
        if marker == _SOS:
            if frame is None:
                raise UnsupportedJpeg("SOS before any SOF")
            _check_scan_header(segment)
            break
        if marker == _DQT:
            _read_dqt(segment, tables)
        elif marker == _DHT:
            _check_dht(segment)
        elif marker == _DRI:
            if len(segment) != 2:
                raise UnsupportedJpeg("malformed DRI segment")
            if int.from_bytes(segment, "big"):
                raise UnsupportedJpeg("restart interval set: encode without restart markers")
        elif marker in (_SOF_BASELINE, _SOF_EXTENDED):
            frame = _read_sof(segment)
        elif marker in _SOF_OTHER:
            raise UnsupportedJpeg(f"SOF{marker - 0xC0}: RFC 2435 carries baseline JPEG only")
        elif marker == _EOI:
            raise UnsupportedJpeg("EOI before the scan")
    kind, width, height, wanted = frame
    missing = [q for q in wanted if q not in tables]
    if missing:
        raise UnsupportedJpeg(f"quantization table {missing[0]} is used but not defined")
    end = len(data)
    if data[end - 2:end] == b"\xff\xd9":
        end -= 2
    return JpegFrame(kind, width, height, tuple(tables[q] for q in wanted), bytes(data[pos:end]))


def _next_segment(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(marker, segment payload, position after it), skipping fill bytes."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise UnsupportedJpeg(f"expected a marker at byte {pos}")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise UnsupportedJpeg("truncated before the scan")
    marker = data[pos]
    pos += 1
    if marker in _STANDALONE or marker in (_SOI, _EOI):
        return marker, b"", pos
    if pos + 2 > len(data):
        raise UnsupportedJpeg(f"truncated length of marker 0x{marker:02X}")
    length = int.from_bytes(data[pos:pos + 2], "big")
    if length < 2 or pos + length > len(data):
        raise UnsupportedJpeg(f"segment 0x{marker:02X} length {length} runs past the data")
    return marker, bytes(data[pos + 2:pos + length]), pos + length


def _read_dqt(segment: bytes, tables: dict[int, bytes]) -> None:
    pos = 0
    while pos < len(segment):
        precision, table_id = segment[pos] >> 4, segment[pos] & 0x0F
        if precision != 0:
            raise UnsupportedJpeg("16-bit quantization tables: encode with 8-bit tables")
        if table_id > 3 or pos + 65 > len(segment):
            raise UnsupportedJpeg("malformed DQT segment")
        tables[table_id] = segment[pos + 1:pos + 65]
        pos += 65


def _check_dht(segment: bytes) -> None:
    pos = 0
    while pos < len(segment):
        if pos + 17 > len(segment):
            raise UnsupportedJpeg("malformed DHT segment")
        table_class, table_id = segment[pos] >> 4, segment[pos] & 0x0F
        bits = segment[pos + 1:pos + 17]
        count = sum(bits)
        values = segment[pos + 17:pos + 17 + count]
        if len(values) != count:
            raise UnsupportedJpeg("malformed DHT segment")
        if STANDARD_HUFFMAN_TABLES.get((table_class, table_id)) != (bits, values):
            raise UnsupportedJpeg(
                f"Huffman table class {table_class} id {table_id} is not the T.81 K.3 "
                "standard table RFC 2435 receivers assume (FFmpeg: -huffman default)")
        pos += 17 + count


def _read_sof(segment: bytes) -> tuple[int, int, int, tuple[int, int]]:
    if len(segment) < 6 or segment[0] != 8:
        raise UnsupportedJpeg("only 8-bit samples can be carried")
    height, width, components = (int.from_bytes(segment[1:3], "big"),
                                 int.from_bytes(segment[3:5], "big"), segment[5])
    if components != 3 or len(segment) != 6 + 3 * components:
        raise UnsupportedJpeg(f"{components} components: RFC 2435 carries YCbCr (3) only")
    sampling = [segment[7 + 3 * i] for i in range(3)]
    quant = [segment[8 + 3 * i] for i in range(3)]
    if sampling[1:] != [0x11, 0x11] or sampling[0] not in (0x21, 0x22):
        raise UnsupportedJpeg(f"sampling {[f'{s:02X}' for s in sampling]}: RFC 2435 carries "
                              "4:2:2 (21 11 11) and 4:2:0 (22 11 11)")
    if quant[1] != quant[2]:
        raise UnsupportedJpeg("Cb and Cr use different quantization tables")
    for what, size in (("width", width), ("height", height)):
        if not 8 <= size <= MAX_DIMENSION or size % 8:
            raise UnsupportedJpeg(f"{what} {size} is not a multiple of 8 in 8..{MAX_DIMENSION}")
    return (0 if sampling[0] == 0x21 else 1), width, height, (quant[0], quant[1])


def _check_scan_header(segment: bytes) -> None:
    # Y uses DC/AC table 0, Cb and Cr tables 1: what an RFC 2435 receiver writes back.
    expected = [0x00, 0x11, 0x11]
    if (len(segment) != 10 or segment[0] != 3
            or [segment[2 + 2 * i] for i in range(3)] != expected
            or segment[7:10] != b"\x00\x3f\x00"):
        raise UnsupportedJpeg("scan header is not one sequential scan of Y, Cb, Cr with "
                              "Huffman tables 0 (luma) and 1 (chroma)")


def packetize_jpeg(frame: JpegFrame, max_payload: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """RTP payloads of one frame (RFC 2435 §3.1); the caller marks the last one."""
    tables = b"".join(frame.qtables)
    # Quantization Table header (§3.1.8): MBZ, precision bits (all 8-bit), length.
    first_extra = struct.pack("!BBH", 0, 0, len(tables)) + tables
    if max_payload <= _MAIN_HEADER.size + len(first_extra):
        raise ValueError(f"max_payload {max_payload} leaves no room for scan data")
    payloads: list[bytes] = []
    offset = 0
    scan = memoryview(frame.scan)
    while offset < len(scan) or not payloads:
        extra = first_extra if offset == 0 else b""
        room = max_payload - _MAIN_HEADER.size - len(extra)
        header = _MAIN_HEADER.pack(0, offset >> 16, offset & 0xFFFF, frame.type,
                                   _Q_DYNAMIC_TABLES, frame.width // 8, frame.height // 8)
        payloads.append(header + extra + scan[offset:offset + room])
        offset += room
    return payloads
