"""Matching a Probe against a target's Types and Scopes (WS-Discovery 2005, Probe)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from camfleet.protocols.wsdiscovery._model import (
    MATCH_BY_RFC2396,
    MATCH_BY_RFC3986,
    MATCH_BY_STRCMP0,
    SUPPORTED_MATCHING_RULES,
    MatchingRuleNotSupported,
    Probe,
    QName,
)


def matches(probe: Probe, types: Iterable[QName], scopes: Iterable[str]) -> bool:
    """Does a target with these Types and Scopes match the Probe? (WS-Discovery 2005, Probe)

    Every Type in the Probe must be among ``types`` (QName equality: namespace + local name,
    whatever prefix either side used); every Scope in the Probe must match at least one of
    ``scopes`` under the Probe's MatchBy rule. Omitted Types/Scopes match anything.

    Raises :class:`MatchingRuleNotSupported` for a MatchBy we do not implement, before
    looking at Types, so a unicast responder can always fault (DISCOVERY-1-1-10).
    """
    rule = probe.match_by or MATCH_BY_RFC3986
    if rule not in SUPPORTED_MATCHING_RULES:
        raise MatchingRuleNotSupported(rule)
    offered = set(types)
    if any(wanted not in offered for wanted in probe.types):
        return False
    if not probe.scopes:
        return True
    target_scopes = list(scopes)
    return all(any(scope_matches(wanted, have, rule) for have in target_scopes)
               for wanted in probe.scopes)


def scope_matches(probe_scope: str, target_scope: str, match_by: str | None = None) -> bool:
    """Does one Probe scope match one target scope under ``match_by`` (default rfc3986)?

    rfc3986/rfc2396: scheme and authority equal ignoring case, and the Probe's path segments
    are a segment-wise prefix of the target's (``/location/city`` matches
    ``/location/city/wuhan``, not ``/location/cityhall``); segments compare case-sensitively
    after percent-decoding; query and fragment are ignored; a ``.`` or ``..`` segment on
    either side never matches. strcmp0: case-sensitive string equality.
    """
    rule = match_by or MATCH_BY_RFC3986
    if rule == MATCH_BY_STRCMP0:
        return probe_scope == target_scope
    if rule not in (MATCH_BY_RFC3986, MATCH_BY_RFC2396):
        raise MatchingRuleNotSupported(rule)
    wanted = _split_scope(probe_scope)
    have = _split_scope(target_scope)
    if wanted is None or have is None:
        return False
    scheme, authority, segments = wanted
    return (scheme == have[0] and authority == have[1]
            and have[2][: len(segments)] == segments)


def _split_scope(uri: str) -> tuple[str, str, tuple[str, ...]] | None:
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unbalanced IPv6 bracket in the authority
        return None
    segments = parts.path.split("/")
    if parts.path.startswith("/"):
        segments = segments[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]  # "/location/" means the same as "/location"
    decoded = tuple(unquote(segment) for segment in segments)
    if any(segment in (".", "..") for segment in decoded):
        return None
    return parts.scheme.lower(), unquote(parts.netloc).lower(), decoded
