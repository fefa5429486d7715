"""The Transport, Session and RTP-Info headers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from camfleet.protocols.rtsp._model import (
    _MAX_SESSION_ID,
    _MAX_TRANSPORT_ALTERNATIVES,
    _SESSION_ID,
    InvalidMessage,
    Transport,
    UnsupportedTransport,
)


# -- Transport, Session, RTP-Info -----------------------------------------------------------------
def parse_transport(value: str) -> tuple[Transport, ...]:
    """The RTP/AVP alternatives of a Transport header, in the client's order of preference.

    Specs of other profiles (RTP/SAVP, vendor ones) are skipped; :class:`UnsupportedTransport`
    if none is left. A malformed parameter of an RTP/AVP spec raises :class:`InvalidMessage`.
    """
    specs = [spec.strip() for spec in value.split(",")]
    if len(specs) > _MAX_TRANSPORT_ALTERNATIVES:
        raise InvalidMessage(f"more than {_MAX_TRANSPORT_ALTERNATIVES} transport alternatives")
    result = [t for spec in specs if (t := _parse_transport_spec(spec)) is not None]
    if not result:
        raise UnsupportedTransport(f"no RTP/AVP transport offered in {value[:120]!r}")
    return tuple(result)


def _parse_transport_spec(spec: str) -> Transport | None:
    protocol, *params = spec.split(";")
    names = protocol.strip().upper().split("/")
    if names[:2] != ["RTP", "AVP"] or len(names) > 3:
        return None
    lower = names[2] if len(names) == 3 else "UDP"
    if lower not in ("UDP", "TCP"):
        return None
    fields: dict[str, str | None] = {}
    for param in params:
        name, sep, raw = param.strip().partition("=")
        key = name.strip().lower()
        if not key:
            continue
        if key in fields:
            raise InvalidMessage(f"transport parameter {key!r} given twice")
        fields[key] = raw.strip() if sep else None
    unicast = "multicast" not in fields
    ssrc = fields.get("ssrc")
    if ssrc is not None and not re.fullmatch(r"[0-9A-Fa-f]{1,8}", ssrc):
        raise InvalidMessage(f"transport ssrc {ssrc[:20]!r} is not 8 hex digits")
    return Transport(
        lower="TCP" if lower == "TCP" else "UDP",
        unicast=unicast,
        client_port=_port_pair(fields.get("client_port"), "client_port", 1, 65535),
        server_port=_port_pair(fields.get("server_port"), "server_port", 1, 65535),
        interleaved=_port_pair(fields.get("interleaved"), "interleaved", 0, 255),
        ssrc=int(ssrc, 16) if ssrc is not None else None,
        destination=fields.get("destination"),
        mode=(fields.get("mode") or "PLAY").strip('"').upper(),
    )


def _port_pair(text: str | None, what: str, low: int, high: int) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, second = text.partition("-")
    values = (first, second) if sep else (first,)
    if not all(v.isdigit() and v.isascii() and len(v) <= 5 for v in values):
        raise InvalidMessage(f"transport {what}={text[:20]!r} is not a number or a range")
    a = int(first)
    b = int(second) if sep else a + 1
    if not (low <= a <= high and low <= b <= high):
        raise InvalidMessage(f"transport {what}={text[:20]!r} is outside {low}..{high}")
    return a, b


def format_transport(t: Transport) -> str:
    """The Transport header value for one spec (a server's answer echoes the chosen one)."""
    parts = ["RTP/AVP/TCP" if t.lower == "TCP" else "RTP/AVP",
             "unicast" if t.unicast else "multicast"]
    if t.destination:
        parts.append(f"destination={t.destination}")
    for name, pair in (("client_port", t.client_port), ("server_port", t.server_port),
                       ("interleaved", t.interleaved)):
        if pair is not None:
            parts.append(f"{name}={pair[0]}-{pair[1]}")
    if t.ssrc is not None:
        parts.append(f"ssrc={t.ssrc:08X}")
    if t.mode != "PLAY":
        parts.append(f'mode="{t.mode}"')
    return ";".join(parts)


def new_session_id() -> str:
    """A fresh, unguessable session identifier (RFC 2326 §3.4: at least eight octets)."""
    return secrets.token_hex(8).upper()


def parse_session(value: str) -> tuple[str, int | None]:
    """``id[;timeout=N]`` (RFC 2326 §12.37) -> (id, timeout seconds or ``None``)."""
    session, _, rest = value.partition(";")
    session = session.strip()
    if not session or len(session) > _MAX_SESSION_ID or not _SESSION_ID.fullmatch(session):
        raise InvalidMessage(f"Session {session[:20]!r} is not a session identifier")
    timeout: int | None = None
    name, _, number = rest.partition("=")
    number = number.strip()
    if name.strip().lower() == "timeout" and number.isdigit() and len(number) <= 6:
        timeout = int(number)
    return session, timeout


def format_session(session: str, timeout_s: int) -> str:
    return f"{session};timeout={timeout_s}"


def format_rtp_info(entries: Sequence[tuple[str, int, int]]) -> str:
    """RTP-Info (RFC 2326 §12.33) from (stream URL, first sequence number, its RTP time)."""
    return ",".join(f"url={url};seq={seq & 0xFFFF};rtptime={rtptime & 0xFFFFFFFF}"
                    for url, seq, rtptime in entries)
