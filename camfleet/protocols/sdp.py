"""SDP (RFC 4566) session descriptions for RTSP DESCRIBE: one live video stream per camera path.

A server builds the description with :func:`build_sdp` from :func:`h264_media` (RFC 6184:
``packetization-mode=1``, ``profile-level-id``, ``sprop-parameter-sets``) or
:func:`jpeg_media` (RFC 2435, static payload type 26); a client reads one with
:func:`parse_sdp`. No socket is opened here.

    >>> from camfleet.protocols import sdp
    >>> text = sdp.build_sdp([sdp.jpeg_media(framerate=25)], origin_address="127.0.0.1")
    >>> [media] = sdp.parse_sdp(text).media
    >>> media.encoding, media.payload_type, media.control
    ('JPEG', 26, 'track1')

Parsing is bounded (:data:`MAX_SDP_BYTES`, :data:`MAX_SDP_LINES`) and strict about line syntax
(``<type>=<value>``); unknown line types and attributes are kept or ignored as RFC 4566 allows.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "H264_PAYLOAD_TYPE",
    "JPEG_PAYLOAD_TYPE",
    "MAX_SDP_BYTES",
    "MAX_SDP_LINES",
    "InvalidSdp",
    "MediaDescription",
    "SessionDescription",
    "build_sdp",
    "h264_media",
    "jpeg_media",
    "parse_fmtp",
    "parse_sdp",
    "sprop_parameter_sets",
]

#: RFC 3551 static payload type of JPEG (RFC 2435).
JPEG_PAYLOAD_TYPE = 26
#: The first dynamic payload type (RFC 3551 §6); H.264 has no static one.
H264_PAYLOAD_TYPE = 96
MAX_SDP_BYTES = 16384
MAX_SDP_LINES = 256


class InvalidSdp(ValueError):
    """The bytes are not a session description we can use."""


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section, reduced to what an RTP video receiver needs."""

    kind: str
    payload_type: int
    encoding: str
    clock_rate: int = 90000
    #: ``a=fmtp`` parameters for the payload type, as given.
    fmtp: str = ""
    #: ``a=control``: relative to the Content-Base (or the request URL), or absolute.
    control: str = "track1"
    framerate: float | None = None
    port: int = 0
    proto: str = "RTP/AVP"


@dataclass(frozen=True, slots=True)
class SessionDescription:
    name: str
    control: str | None
    media: tuple[MediaDescription, ...]


def h264_media(sps: bytes, pps: bytes, *, payload_type: int = H264_PAYLOAD_TYPE,
               control: str = "track1", framerate: float | None = None) -> MediaDescription:
    """H.264 video (RFC 6184 §8.1) with the parameter sets a decoder needs before the first IDR."""
    if len(sps) < 4 or sps[0] & 0x1F != 7:
        raise ValueError("the SPS must be a NAL unit of type 7 (without start code)")
    if not pps or pps[0] & 0x1F != 8:
        raise ValueError("the PPS must be a NAL unit of type 8 (without start code)")
    sprop = ",".join(base64.b64encode(nal).decode() for nal in (sps, pps))
    fmtp = (f"packetization-mode=1;profile-level-id={sps[1:4].hex().upper()};"
            f"sprop-parameter-sets={sprop}")
    return MediaDescription("video", payload_type, "H264", fmtp=fmtp, control=control,
                            framerate=framerate)


def jpeg_media(*, control: str = "track1", framerate: float | None = None) -> MediaDescription:
    """Motion JPEG (RFC 2435); size and tables travel in every packet, so no fmtp."""
    return MediaDescription("video", JPEG_PAYLOAD_TYPE, "JPEG", control=control,
                            framerate=framerate)


def build_sdp(media: Sequence[MediaDescription], *, origin_address: str,
              name: str = "Live", session_id: int | None = None) -> bytes:
    """A session description with a session-level aggregate control (``a=control:*``)."""
    family = "IP6" if ipaddress.ip_address(origin_address).version == 6 else "IP4"
    sid = session_id if session_id is not None else time.time_ns() // 1000
    lines = ["v=0", f"o=- {sid} 1 IN {family} {origin_address}", f"s={name}",
             f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}", "t=0 0",
             "a=control:*", "a=range:npt=now-"]
    for m in media:
        lines.append(f"m={m.kind} {m.port} {m.proto} {m.payload_type}")
        lines.append(f"a=rtpmap:{m.payload_type} {m.encoding}/{m.clock_rate}")
        if m.fmtp:
            lines.append(f"a=fmtp:{m.payload_type} {m.fmtp}")
        if m.framerate is not None:
            lines.append(f"a=framerate:{m.framerate:g}")
        lines.append(f"a=control:{m.control}")
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(f"line break inside SDP line {line!r}")
    return ("\r\n".join(lines) + "\r\n").encode()


def parse_sdp(data: bytes) -> SessionDescription:
    """The session name, aggregate control and media sections of a description."""
    if len(data) > MAX_SDP_BYTES:
        raise InvalidSdp(f"description of {len(data)} bytes exceeds {MAX_SDP_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSdp("description is not UTF-8") from exc
    lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if len(lines) > MAX_SDP_LINES:
        raise InvalidSdp(f"more than {MAX_SDP_LINES} lines")
    if not lines or lines[0] != "v=0":
        raise InvalidSdp("a description starts with v=0")
    name = ""
    session_control: str | None = None
    sections: list[list[tuple[str, str]]] = []
    for line in lines:
        kind, sep, value = line.partition("=")
        if not sep or len(kind) != 1 or not kind.isalpha():
            raise InvalidSdp(f"not an SDP line: {line[:80]!r}")
        if kind == "m":
            sections.append([])
        if sections:
            sections[-1].append((kind, value))
        elif kind == "s":
            name = value
        elif kind == "a" and value.startswith("control:"):
            session_control = value[len("control:"):]
    return SessionDescription(name, session_control,
                              tuple(_parse_media(section) for section in sections))


def _parse_media(section: list[tuple[str, str]]) -> MediaDescription:
    _, m_line = section[0]
    fields = m_line.split()
    if len(fields) < 4 or not fields[1].split("/")[0].isdigit():
        raise InvalidSdp(f"malformed m= line: {m_line[:80]!r}")
    payload_type = _int(fields[3], "payload type", 0, 127)
    encoding = "JPEG" if payload_type == JPEG_PAYLOAD_TYPE else ""
    clock_rate, fmtp, control, framerate = 90000, "", "", None
    for kind, value in section[1:]:
        if kind != "a":
            continue
        attribute, _, rest = value.partition(":")
        if attribute == "rtpmap":
            pt, _, mapping = rest.partition(" ")
            if _int(pt, "rtpmap payload type", 0, 127) == payload_type:
                encoding, _, rate = mapping.partition("/")
                clock_rate = _int(rate.partition("/")[0], "clock rate", 1, 10**7)
        elif attribute == "fmtp":
            pt, _, params = rest.partition(" ")
            if pt == str(payload_type):
                fmtp = params.strip()
        elif attribute == "control":
            control = rest
        elif attribute == "framerate":
            try:
                framerate = float(rest)
            except ValueError as exc:
                raise InvalidSdp(f"a=framerate:{rest[:20]!r} is not a number") from exc
    return MediaDescription(fields[0], payload_type, encoding.upper(), clock_rate, fmtp,
                            control, framerate, int(fields[1].split("/")[0]), fields[2])


def _int(text: str, what: str, low: int, high: int) -> int:
    value = text.strip()
    if not (value.isdigit() and value.isascii()) or len(value) > 8 or not (
            low <= int(value) <= high):
        raise InvalidSdp(f"{what} {text[:20]!r} is not in {low}..{high}")
    return int(value)


def parse_fmtp(fmtp: str) -> dict[str, str]:
    """``a=fmtp`` parameters (``key=value;key=value``), keys lower-cased."""
    params: dict[str, str] = {}
    for item in fmtp.split(";"):
        key, _, value = item.strip().partition("=")
        if key:
            params[key.lower()] = value.strip()
    return params


def sprop_parameter_sets(media: MediaDescription) -> tuple[bytes, ...]:
    """The SPS/PPS NAL units an H.264 description carries (RFC 6184 §8.1)."""
    text = parse_fmtp(media.fmtp).get("sprop-parameter-sets", "")
    try:
        return tuple(base64.b64decode(part, validate=True) for part in text.split(",") if part)
    except binascii.Error as exc:
        raise InvalidSdp(f"sprop-parameter-sets is not base64: {text[:40]!r}") from exc
