"""The RTSP codec's limits, error tree and message types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# -- limits and constants ------------------------------------------------------------------------
VERSION = "RTSP/1.0"
#: Longest request, status or header line. Real ones stay below 1 KiB (Authorization ~300 B).
MAX_LINE_BYTES = 4096
#: Most header lines in one message; clients send fewer than 15.
MAX_HEADERS = 64
#: Largest message head (start line and headers).
MAX_HEAD_BYTES = 16384
#: Default largest body; an SDP answer is ~0.5 KiB. A server passes a smaller cap for requests.
MAX_BODY_BYTES = 65536
#: CSeq is a 31-bit counter in practice (live555, FFmpeg); beyond it is an attack, not a client.
MAX_CSEQ = 2**31 - 1
_MAX_TRANSPORT_ALTERNATIVES = 8
_MAX_SESSION_ID = 64

#: RFC 2326 §10 methods. Anything else is "501 Not Implemented".
METHODS = frozenset({"OPTIONS", "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN",
                     "GET_PARAMETER", "SET_PARAMETER", "REDIRECT", "RECORD"})

#: RFC 2326 §7.1.1 reason phrases.
REASONS: dict[int, str] = {
    100: "Continue", 200: "OK", 201: "Created", 250: "Low on Storage Space",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    303: "See Other", 305: "Use Proxy", 400: "Bad Request", 401: "Unauthorized",
    402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Time-out",
    410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Request Entity Too Large", 414: "Request-URI Too Large",
    415: "Unsupported Media Type", 451: "Parameter Not Understood", 452: "Conference Not Found",
    453: "Not Enough Bandwidth", 454: "Session Not Found", 455: "Method Not Valid in This State",
    456: "Header Field Not Valid for Resource", 457: "Invalid Range",
    458: "Parameter Is Read-Only", 459: "Aggregate operation not allowed",
    460: "Only aggregate operation allowed", 461: "Unsupported transport",
    462: "Destination unreachable", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out",
    505: "RTSP Version not supported", 551: "Option not supported",
}

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SESSION_ID = re.compile(r"[A-Za-z0-9$\-_.+]+")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


# -- errors --------------------------------------------------------------------------------------
class RtspError(Exception):
    """Base for everything this module raises on purpose."""


class InvalidMessage(RtspError, ValueError):
    """The bytes are not an RTSP message we accept.

    ``status`` is the response a server sends (400 unless said otherwise); ``cseq`` is the
    request's CSeq when it could be read, so the answer can carry it.
    """

    def __init__(self, message: str, status: int = 400, cseq: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.cseq = cseq


class UnsupportedTransport(RtspError):
    """None of the Transport alternatives a client offered can be served (answer 461)."""

    status = 461


# -- data model ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Headers:
    """Header fields in arrival order; names compare case-insensitively (RFC 2326 §4.2)."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of ``name``, or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.items if key.lower() == wanted), None)

    def get_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.items if key.lower() == wanted)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One framed message: its head (start line and headers, without the blank line) and body."""

    head: bytes
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class InterleavedFrame:
    """An RTP or RTCP packet carried on the RTSP connection (``$``, channel, 16-bit length)."""

    channel: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    uri: str
    cseq: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def cseq(self) -> int | None:
        value = self.headers.get("CSeq")
        return _parse_cseq(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Transport:
    """One transport-spec of a Transport header (RFC 2326 §12.39), RTP/AVP only.

    ``lower`` is the lower transport: ``UDP`` (client_port/server_port) or ``TCP`` (RTP
    interleaved on the RTSP connection, ``interleaved`` channels).
    """

    lower: Literal["UDP", "TCP"] = "UDP"
    unicast: bool = True
    client_port: tuple[int, int] | None = None
    server_port: tuple[int, int] | None = None
    interleaved: tuple[int, int] | None = None
    ssrc: int | None = None
    destination: str | None = None
    mode: str = "PLAY"


def _content_length(head: bytes, limit: int) -> int:
    values = {line.split(b":", 1)[1].strip() for line in head.split(b"\n")
              if line.split(b":", 1)[0].strip().lower() == b"content-length" and b":" in line}
    if not values:
        return 0
    if len(values) > 1:
        raise InvalidMessage("conflicting Content-Length headers")
    (value,) = values
    if not value.isdigit() or len(value) > 9:
        raise InvalidMessage(f"Content-Length is not a number: {value[:20]!r}")
    length = int(value)
    if length > limit:
        raise InvalidMessage(f"body of {length} bytes exceeds the {limit}-byte limit", 413)
    return length


def _parse_cseq(value: str) -> int:
    if not (value.isdigit() and value.isascii()) or len(value) > 10 or int(value) > MAX_CSEQ:
        raise InvalidMessage(f"CSeq {value[:20]!r} is not a number in 0..{MAX_CSEQ}")
    return int(value)
