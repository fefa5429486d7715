"""Splitting a connection's bytes into RTSP messages and ``$``-interleaved frames."""

from __future__ import annotations

from camfleet.protocols.rtsp._model import (
    _HEAD_END,
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    InterleavedFrame,
    InvalidMessage,
    RawMessage,
    _content_length,
)


# -- framing -------------------------------------------------------------------------------------
class MessageReader:
    """Split an RTSP connection's bytes into :class:`RawMessage` and :class:`InterleavedFrame`.

    ``feed`` returns what became complete. It raises :class:`InvalidMessage` when the framing is
    lost (a head too long, a bad or too large Content-Length); the reader is then unusable and
    the connection should be answered and closed. Buffered bytes never exceed one head plus one
    body (``max_head_bytes + max_body_bytes``) or one interleaved frame.
    """

    def __init__(self, *, max_head_bytes: int = MAX_HEAD_BYTES,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._buffer = bytearray()
        self._max_head = max_head_bytes
        self._max_body = max_body_bytes
        self._failed: InvalidMessage | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[RawMessage | InterleavedFrame]:
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        out: list[RawMessage | InterleavedFrame] = []
        try:
            while (item := self._next()) is not None:
                out.append(item)
        except InvalidMessage as exc:
            self._failed = exc
            self._buffer.clear()
            raise
        return out

    def _next(self) -> RawMessage | InterleavedFrame | None:
        buf = self._buffer
        # Blank lines between messages are tolerated (some clients send a CRLF keepalive).
        skip = 0
        while skip < len(buf) and buf[skip] in b"\r\n":
            skip += 1
        if skip:
            del buf[:skip]
        if not buf:
            return None
        if buf[0] == 0x24:  # "$": interleaved binary data
            if len(buf) < 4:
                return None
            length = int.from_bytes(buf[2:4], "big")
            if len(buf) < 4 + length:
                return None
            frame = InterleavedFrame(buf[1], bytes(buf[4:4 + length]))
            del buf[:4 + length]
            return frame
        match = _HEAD_END.search(buf, 0, self._max_head + 4)
        if match is None:
            if len(buf) > self._max_head:
                raise InvalidMessage(f"message head exceeds {self._max_head} bytes")
            return None
        head = bytes(buf[:match.start()])
        length = _content_length(head, self._max_body)
        end = match.end() + length
        if len(buf) < end:
            return None
        message = RawMessage(head, bytes(buf[match.end():end]))
        del buf[:end]
        return message




def frame_interleaved(channel: int, payload: bytes) -> bytes:
    """``$`` framing of an RTP/RTCP packet on the RTSP connection (RFC 2326 §10.12)."""
    if not 0 <= channel <= 255:
        raise ValueError(f"interleaved channel {channel} is not 0..255")
    if len(payload) > 0xFFFF:
        raise ValueError(f"interleaved packet of {len(payload)} bytes exceeds 65535")
    return b"$" + bytes((channel,)) + len(payload).to_bytes(2, "big") + payload
