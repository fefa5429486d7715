"""The size a JPEG header claims, read without decoding: what the image-bomb check rests on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfleet.protocols.jpeg_header import jpeg_dimensions


def jpeg(width: int, height: int) -> bytes:
    ok, data = cv2.imencode(".jpg", np.zeros((height, width, 3), np.uint8))
    assert ok
    return bytes(data)


def test_the_size_of_a_real_jpeg() -> None:
    assert jpeg_dimensions(jpeg(320, 240)) == (320, 240)


def test_a_header_claiming_a_bomb_is_read_as_claimed() -> None:
    data = bytearray(jpeg(64, 48))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = (20000).to_bytes(2, "big") + (20000).to_bytes(2, "big")
    assert jpeg_dimensions(bytes(data)) == (20000, 20000)


@pytest.mark.parametrize("data", [
    b"", b"\xff\xd8", b"GIF89a", b"\xff\xd8\xff\xc0\x00",  # cut inside the frame header
    b"\xff\xd8\xff\xda\x00\x02",  # scan data before any frame header
    b"\xff\xd8\xff\xe0\x00\x01",  # a segment length below its own size
    b"\xff\xd8\x00\x00\x00\x00",  # not a marker where one must be
])
def test_no_frame_header_reads_as_none(data: bytes) -> None:
    assert jpeg_dimensions(data) is None
