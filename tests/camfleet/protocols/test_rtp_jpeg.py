"""RFC 2435 JPEG payloads, from JPEGs made by two independent encoders (FFmpeg and libjpeg)."""

from __future__ import annotations

import contextlib
import struct
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from camfleet.protocols import rtp_jpeg
from camfleet.protocols.rtp_jpeg import UnsupportedJpeg


def picture(width: int = 320, height: int = 240) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (7, 7), 0)


def libjpeg(image: np.ndarray, *params: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, list(params))
    assert ok
    return data.tobytes()


def ffmpeg_mjpeg(image: np.ndarray, **options: str) -> bytes:
    ctx = av.CodecContext.create("mjpeg", "w")
    ctx.width, ctx.height = image.shape[1], image.shape[0]
    ctx.pix_fmt = "yuvj420p"
    ctx.time_base = Fraction(1, 25)
    ctx.thread_count = 1
    ctx.options = options
    ctx.open()
    frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420),
                                       format="yuvj420p")
    frame.pts = 0
    return bytes(ctx.encode(frame)[0])


def dqt_tables(data: bytes) -> dict[int, bytes]:
    """Quantization tables by id, found independently of the codec's marker walk."""
    tables = {}
    start = 0
    while (start := data.find(b"\xff\xdb", start)) >= 0:
        length = int.from_bytes(data[start + 2:start + 4], "big")
        segment = data[start + 4:start + 2 + length]
        for offset in range(0, len(segment), 65):
            tables[segment[offset] & 0x0F] = segment[offset + 1:offset + 65]
        start += 2 + length
    return tables


@pytest.mark.parametrize("encoder", ["libjpeg", "ffmpeg"])
def test_standard_baseline_jpegs_are_accepted(encoder: str) -> None:
    image = picture()
    data = libjpeg(image) if encoder == "libjpeg" else ffmpeg_mjpeg(image, huffman="default")
    frame = rtp_jpeg.parse_jpeg(data)
    assert (frame.type, frame.width, frame.height) == (1, 320, 240)  # 4:2:0
    tables = dqt_tables(data)
    # libjpeg gives chroma its own table; FFmpeg shares one, which is then sent twice.
    assert frame.qtables == (tables[0], tables[1] if encoder == "libjpeg" else tables[0])
    assert frame.scan.endswith(data[-2 - 16:-2])  # the scan runs to the EOI, without it
    assert not data.endswith(frame.scan)


def test_422_is_type_0() -> None:
    data = libjpeg(picture(), cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                   cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422)
    assert rtp_jpeg.parse_jpeg(data).type == 0


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: libjpeg(picture(), cv2.IMWRITE_JPEG_PROGRESSIVE, 1), "baseline"),
    (lambda: libjpeg(picture(), cv2.IMWRITE_JPEG_OPTIMIZE, 1), "Huffman"),
    (lambda: libjpeg(picture(), cv2.IMWRITE_JPEG_RST_INTERVAL, 4), "restart"),
    (lambda: libjpeg(picture(), cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                     cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444), "sampling"),
    (lambda: libjpeg(cv2.cvtColor(picture(), cv2.COLOR_BGR2GRAY)), "components"),
    (lambda: libjpeg(picture(100, 100)), "multiple of 8"),
    (lambda: libjpeg(picture(2048, 16)), "multiple of 8"),
    (lambda: ffmpeg_mjpeg(picture()), "Huffman"),  # FFmpeg's default: optimal tables
    (lambda: libjpeg(picture())[:300], "truncated|runs past|marker"),
    (lambda: b"GIF89a", "SOI"),
    (lambda: b"\xff\xd8\xff\xd9", "EOI"),
    (lambda: b"\xff\xd8\xff\xda\x00\x02", "SOS before"),
])
def test_jpegs_rfc_2435_cannot_carry_are_refused(make: object, reason: str) -> None:
    assert callable(make)
    with pytest.raises(UnsupportedJpeg, match=reason):
        rtp_jpeg.parse_jpeg(make())


def test_mutated_jpegs_raise_only_unsupported_jpeg() -> None:
    seed = libjpeg(picture(64, 64))
    rng = np.random.default_rng(5)
    for _ in range(500):
        data = bytearray(seed[:700])
        for position in rng.integers(0, len(data), 4):
            data[position] = int(rng.integers(0, 256))
        with contextlib.suppress(UnsupportedJpeg):
            rtp_jpeg.parse_jpeg(bytes(data))


def test_packets_carry_header_tables_once_and_contiguous_offsets() -> None:
    data = libjpeg(picture(640, 480), cv2.IMWRITE_JPEG_QUALITY, 90)
    frame = rtp_jpeg.parse_jpeg(data)
    assert len(frame.qtables) == 2  # libjpeg: own chroma table
    payloads = rtp_jpeg.packetize_jpeg(frame, max_payload=1000)
    assert len(payloads) > 10
    scan = b""
    for index, payload in enumerate(payloads):
        assert len(payload) <= 1000
        spec, offset_hi, offset_lo, kind, q, width, height = struct.unpack_from("!BBHBBBB",
                                                                                payload)
        assert (spec, kind, q, width, height) == (0, 1, 255, 80, 60)
        assert (offset_hi << 16) | offset_lo == len(scan)
        body = payload[8:]
        if index == 0:
            mbz, precision, length = struct.unpack_from("!BBH", body)
            assert (mbz, precision, length) == (0, 0, 128)
            assert body[4:132] == frame.qtables[0] + frame.qtables[1]
            body = body[132:]
        scan += body
    assert scan == frame.scan


def test_packetizer_needs_room_for_the_tables() -> None:
    frame = rtp_jpeg.parse_jpeg(libjpeg(picture()))
    with pytest.raises(ValueError, match="no room"):
        rtp_jpeg.packetize_jpeg(frame, max_payload=100)
