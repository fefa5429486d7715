"""Parsing and building RTSP requests and responses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from camfleet.protocols.rtsp._model import (
    _CONTROL,
    _HEAD_END,
    _TOKEN,
    MAX_BODY_BYTES,
    MAX_CSEQ,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_LINE_BYTES,
    REASONS,
    VERSION,
    Headers,
    InvalidMessage,
    RawMessage,
    Request,
    Response,
    _content_length,
    _parse_cseq,
)


# -- parsing -------------------------------------------------------------------------------------
def parse_request(message: RawMessage | bytes) -> Request:
    """Validate one request; raise :class:`InvalidMessage` with the status to answer."""
    raw = _as_raw(message)
    start, headers = _parse_head(raw)
    cseq_values = headers.get_all("CSeq")
    if len(cseq_values) != 1:
        raise InvalidMessage("a request needs exactly one CSeq header (RFC 2326 §12.17)")
    cseq = _parse_cseq(cseq_values[0])
    parts = start.split(" ")
    if len(parts) != 3:
        raise InvalidMessage(f"request line is not 'METHOD URI RTSP/1.0': {start[:80]!r}",
                             cseq=cseq)
    method, uri, version = parts
    if not _TOKEN.fullmatch(method) or len(method) > 32:
        raise InvalidMessage(f"method {method[:40]!r} is not a token", cseq=cseq)
    _check_version(version, cseq)
    if uri != "*" and not uri.lower().startswith(("rtsp://", "rtsps://", "rtspu://")):
        raise InvalidMessage(f"Request-URI {uri[:80]!r} is neither '*' nor an rtsp URL",
                             cseq=cseq)
    return Request(method, uri, cseq, headers, raw.body)


def parse_response(message: RawMessage | bytes) -> Response:
    """Validate one response (the client side); raise :class:`InvalidMessage` otherwise."""
    raw = _as_raw(message)
    start, headers = _parse_head(raw)
    version, _, rest = start.partition(" ")
    _check_version(version, None)
    code, _, reason = rest.partition(" ")
    if not (len(code) == 3 and code.isdigit() and code.isascii()) or not 100 <= int(code) <= 599:
        raise InvalidMessage(f"status line has no valid status code: {start[:80]!r}")
    if len(headers.get_all("CSeq")) > 1:
        raise InvalidMessage("response carries more than one CSeq")
    response = Response(int(code), reason, headers, raw.body)
    _ = response.cseq  # validates it
    return response


def _as_raw(message: RawMessage | bytes) -> RawMessage:
    if isinstance(message, RawMessage):
        return message
    if not isinstance(message, bytes | bytearray):
        raise TypeError(f"expected bytes, got {type(message).__name__}")
    match = _HEAD_END.search(message)
    if match is None:
        raise InvalidMessage("message head is not terminated by an empty line")
    head = bytes(message[:match.start()])
    body = bytes(message[match.end():])
    if len(head) > MAX_HEAD_BYTES:
        raise InvalidMessage(f"message head exceeds {MAX_HEAD_BYTES} bytes")
    if len(body) != _content_length(head, MAX_BODY_BYTES):
        raise InvalidMessage("body length differs from Content-Length")
    return RawMessage(head, body)


def _parse_head(raw: RawMessage) -> tuple[str, Headers]:
    try:
        text = raw.head.decode("utf-8")  # RFC 2326 §15.1: text is UTF-8
    except UnicodeDecodeError as exc:
        raise InvalidMessage("message head is not UTF-8") from exc
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if len(lines) - 1 > MAX_HEADERS:
        raise InvalidMessage(f"more than {MAX_HEADERS} header lines")
    items: list[tuple[str, str]] = []
    for line in lines:
        if len(line.encode()) > MAX_LINE_BYTES:
            raise InvalidMessage(f"a line exceeds {MAX_LINE_BYTES} bytes")
        if _CONTROL.search(line):
            raise InvalidMessage("control character in the message head")
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            # Obsolete line folding: refusing it keeps one header per line, nothing to smuggle.
            raise InvalidMessage("folded header lines are not accepted")
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise InvalidMessage(f"malformed header line: {line[:80]!r}")
        items.append((name, value.strip(" \t")))
    headers = Headers(tuple(items))
    cseq_values = headers.get_all("CSeq")
    cseq = _parse_cseq(cseq_values[0]) if len(cseq_values) == 1 else None
    if not lines[0] or lines[0] != lines[0].strip():
        raise InvalidMessage("empty or padded start line", cseq=cseq)
    return lines[0], headers




def _check_version(version: str, cseq: int | None) -> None:
    if version == VERSION:
        return
    if re.fullmatch(r"RTSP/\d\.\d", version):
        raise InvalidMessage(f"{version} is not supported; this is {VERSION}", 505, cseq)
    raise InvalidMessage(f"not an RTSP version: {version[:20]!r}", cseq=cseq)


def request_path(uri: str) -> str:
    """The path an rtsp:// Request-URI names, without query and trailing slash (``/`` at least).

    ``rtsp://user@cam:554/Streaming/Channels/101/?x=1`` gives ``/Streaming/Channels/101``.
    """
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise InvalidMessage(f"Request-URI {uri[:80]!r} does not parse: {exc}") from exc
    if parts.scheme.lower() not in ("rtsp", "rtsps", "rtspu"):
        raise InvalidMessage(f"Request-URI {uri[:80]!r} is not an rtsp URL")
    path = parts.path.rstrip("/")
    return path or "/"


# -- building ------------------------------------------------------------------------------------
HeaderItems = Iterable[tuple[str, str]]


def build_response(status: int, cseq: int | None, headers: HeaderItems = (), body: bytes = b"",
                   *, reason: str | None = None) -> bytes:
    """A response; CSeq first (when known), Content-Length added for a body."""
    if not 100 <= status <= 599:
        raise ValueError(f"status {status} is not 100..599")
    start = f"{VERSION} {status} {reason or REASONS.get(status, 'Unknown')}"
    return _serialize(start, cseq, headers, body)


def build_request(method: str, uri: str, cseq: int, headers: HeaderItems = (),
                  body: bytes = b"") -> bytes:
    """A request, for the client side."""
    if not _TOKEN.fullmatch(method) or " " in uri or _CONTROL.search(uri):
        raise ValueError(f"cannot send {method!r} {uri!r}")
    return _serialize(f"{method} {uri} {VERSION}", cseq, headers, body)


def _serialize(start: str, cseq: int | None, headers: HeaderItems, body: bytes) -> bytes:
    lines = [start]
    if cseq is not None:
        if not 0 <= cseq <= MAX_CSEQ:
            raise ValueError(f"CSeq {cseq} is not 0..{MAX_CSEQ}")
        lines.append(f"CSeq: {cseq}")
    for name, value in headers:
        # A CR or LF in a value would let one header smuggle another (response splitting).
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            raise ValueError(f"unsafe header {name!r}: {value!r}")
        if name.lower() in ("cseq", "content-length"):
            raise ValueError(f"{name} is set by the codec")
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
