"""RTSP/1.0 (RFC 2326) message codec, for the simulated cameras' server and our own clients.

This module turns bytes into typed requests and responses and back; it opens no socket. A
connection's byte stream goes through :class:`MessageReader`, which splits it into whole
messages and ``$``-framed interleaved RTP/RTCP packets (RFC 2326 §10.12); :func:`parse_request`
and :func:`parse_response` validate one message each. The Transport and Session headers have
their own parsers, since a server decides on them.

    >>> from camfleet.protocols import rtsp
    >>> reader = rtsp.MessageReader()
    >>> [raw] = reader.feed(b"OPTIONS rtsp://cam/ RTSP/1.0\\r\\nCSeq: 1\\r\\n\\r\\n")
    >>> request = rtsp.parse_request(raw)
    >>> request.method, request.cseq
    ('OPTIONS', 1)
    >>> rtsp.build_response(200, request.cseq, [("Public", "OPTIONS, DESCRIBE")])[:15]
    b'RTSP/1.0 200 OK'

Everything parsed may come from anyone on the network, so every size is bounded (line, head,
header count, body, CSeq) and anything unexpected raises :class:`InvalidMessage` carrying the
status a server answers with. :class:`MessageReader` raises it only when the framing itself is
lost (the connection must close); :func:`parse_request` raises it for a message whose framing
was fine, so the server answers and keeps the connection.

Error tree::

    RtspError
     +-- InvalidMessage          not a message we accept; ``.status`` is the answer (400, 413, 505)
     +-- UnsupportedTransport    no Transport alternative we can serve (461)
"""

from __future__ import annotations

from camfleet.protocols.rtsp._framing import MessageReader, frame_interleaved
from camfleet.protocols.rtsp._headers import (
    format_rtp_info,
    format_session,
    format_transport,
    new_session_id,
    parse_session,
    parse_transport,
)
from camfleet.protocols.rtsp._message import (
    build_request,
    build_response,
    parse_request,
    parse_response,
    request_path,
)
from camfleet.protocols.rtsp._model import (
    MAX_BODY_BYTES,
    MAX_CSEQ,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_LINE_BYTES,
    METHODS,
    REASONS,
    VERSION,
    Headers,
    InterleavedFrame,
    InvalidMessage,
    RawMessage,
    Request,
    Response,
    RtspError,
    Transport,
    UnsupportedTransport,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CSEQ",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_LINE_BYTES",
    "METHODS",
    "REASONS",
    "VERSION",
    "Headers",
    "InterleavedFrame",
    "InvalidMessage",
    "MessageReader",
    "RawMessage",
    "Request",
    "Response",
    "RtspError",
    "Transport",
    "UnsupportedTransport",
    "build_request",
    "build_response",
    "format_rtp_info",
    "format_session",
    "format_transport",
    "frame_interleaved",
    "new_session_id",
    "parse_request",
    "parse_response",
    "parse_session",
    "parse_transport",
    "request_path",
]
