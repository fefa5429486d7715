"""The size a JPEG claims, read from its frame header without decoding a pixel.

A snapshot is a device's answer like any other: a header claiming 20000 x 20000 pixels makes a
decoder allocate 400 MP (1.2 GB in colour) before it finds the data is missing. Callers check
:func:`jpeg_dimensions` against :data:`MAX_PIXELS` first and refuse what is larger.

    >>> jpeg_dimensions(b"\\xff\\xd8\\xff\\xc0\\x00\\x11\\x08\\x01\\xe0\\x02\\x80\\x03")
    (640, 480)
"""

from __future__ import annotations

__all__ = ["MAX_PIXELS", "jpeg_dimensions"]

#: The most pixels a camera snapshot may have: 8K UHD (33 MP) and some margin.
MAX_PIXELS = 40_000_000
#: SOFn markers (frame headers); C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: Markers without a length field (RSTn, SOI, EOI, TEM).
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first frame header; None if ``data`` is no JPEG or has none
    before its scan data."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker == 0xDA:  # start of scan: no frame header came first
            return None
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height = int.from_bytes(data[at + 5:at + 7], "big")
            width = int.from_bytes(data[at + 7:at + 9], "big")
            return width, height
        if length < 2:
            return None
        at += 2 + length
    return None
