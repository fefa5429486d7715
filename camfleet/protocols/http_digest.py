"""HTTP Digest access authentication (RFC 7616, RFC 2617), as RTSP uses it (RFC 2326 §D.2).

Pure functions for both sides: a server issues challenges with :class:`NonceIssuer` (stateless
nonces: a timestamp and an HMAC, so the server remembers nothing per client) and checks an
``Authorization`` header with :func:`check_answer`; a client reads a ``WWW-Authenticate``
challenge with :func:`parse_challenge` and answers it with :func:`answer_challenge`.

    >>> from camfleet.protocols import http_digest as digest
    >>> issuer = digest.NonceIssuer()
    >>> challenge = digest.Challenge(realm="cam", nonce=issuer.issue())
    >>> header = digest.answer_challenge(challenge, "admin", "secret", "DESCRIBE",
    ...                                  "rtsp://cam/1", cnonce="0a4f113b")
    >>> answer = digest.parse_authorization(header)
    >>> digest.check_answer(answer, "secret", "DESCRIBE", realm="cam")
    True

MD5 is the default algorithm (RFC 2617 and every RTSP client); SHA-256 (RFC 7616) is known
too. With ``qop=auth`` the answer covers a client nonce and count; without qop it is the
RFC 2069 form older RTSP clients send. Header values are bounded (:data:`MAX_HEADER_CHARS`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ALGORITHMS",
    "MAX_HEADER_CHARS",
    "Challenge",
    "DigestAnswer",
    "InvalidDigest",
    "NonceIssuer",
    "answer_challenge",
    "check_answer",
    "format_challenge",
    "parse_auth_params",
    "parse_authorization",
    "parse_challenge",
]

#: Hash functions by algorithm name (RFC 7616 §3.3); the ``-sess`` variants are not offered.
ALGORITHMS: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "MD5": hashlib.md5, "SHA-256": hashlib.sha256}
#: Longest challenge or Authorization value we read; real ones are ~300 characters.
MAX_HEADER_CHARS = 4096
_MAX_PARAMS = 16


class InvalidDigest(ValueError):
    """A challenge or an Authorization header that is not well-formed Digest."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """One ``WWW-Authenticate: Digest ...`` challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    #: Offered qop values; empty means the RFC 2069 form without qop.
    qop: tuple[str, ...] = ("auth",)
    opaque: str | None = None
    #: The nonce of the refused answer had expired; the credentials were right.
    stale: bool = False


@dataclass(frozen=True, slots=True)
class DigestAnswer:
    """The fields of an ``Authorization: Digest ...`` header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str = ""
    cnonce: str = ""
    opaque: str | None = None


class NonceIssuer:
    """Stateless nonces: ``<hex timestamp>.<HMAC>``, valid for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = 300.0, *, key: bytes | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = key or os.urandom(16)
        self._ttl = ttl_s
        self._clock = clock

    def issue(self) -> str:
        return self._sign(int(self._clock()))

    def is_fresh(self, nonce: str) -> bool:
        """Did we issue this nonce, less than ``ttl_s`` ago?"""
        stamp_hex, _, _ = nonce.partition(".")
        if not 0 < len(stamp_hex) <= 16:
            return False
        try:
            stamp = int(stamp_hex, 16)
        except ValueError:
            return False
        age = self._clock() - stamp
        return 0 <= age <= self._ttl and hmac.compare_digest(self._sign(stamp), nonce)

    def _sign(self, stamp: int) -> str:
        mac = hmac.new(self._key, str(stamp).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp:x}.{mac}"


def format_challenge(challenge: Challenge) -> str:
    """The ``WWW-Authenticate`` value for a challenge."""
    parts = [f'realm="{_quote(challenge.realm)}"', f'nonce="{_quote(challenge.nonce)}"',
             f"algorithm={challenge.algorithm}"]
    if challenge.qop:
        parts.append(f'qop="{",".join(challenge.qop)}"')
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quote(challenge.opaque)}"')
    if challenge.stale:
        parts.append("stale=true")
    return "Digest " + ", ".join(parts)


def parse_challenge(value: str) -> Challenge:
    """Read a ``WWW-Authenticate: Digest ...`` value (the client side)."""
    params = _digest_params(value)
    if "realm" not in params or "nonce" not in params:
        raise InvalidDigest("a Digest challenge needs realm and nonce")
    qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(realm=params["realm"], nonce=params["nonce"],
                     algorithm=params.get("algorithm", "MD5").upper(), qop=qop,
                     opaque=params.get("opaque"),
                     stale=params.get("stale", "").lower() == "true")


def parse_authorization(value: str) -> DigestAnswer:
    """Read an ``Authorization: Digest ...`` value (the server side)."""
    params = _digest_params(value)
    missing = [name for name in ("username", "realm", "nonce", "uri", "response")
               if name not in params]
    if missing:
        raise InvalidDigest(f"Digest answer lacks {', '.join(missing)}")
    return DigestAnswer(username=params["username"], realm=params["realm"],
                        nonce=params["nonce"], uri=params["uri"], response=params["response"],
                        algorithm=params.get("algorithm", "MD5").upper(),
                        qop=params.get("qop"), nc=params.get("nc", ""),
                        cnonce=params.get("cnonce", ""), opaque=params.get("opaque"))


def _digest_params(value: str) -> dict[str, str]:
    if len(value) > MAX_HEADER_CHARS:
        raise InvalidDigest(f"header value longer than {MAX_HEADER_CHARS} characters")
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise InvalidDigest(f"scheme {scheme[:20]!r} is not Digest")
    return parse_auth_params(rest)


def parse_auth_params(text: str) -> dict[str, str]:
    """``key=token, key="quoted, \\"value\\""`` auth parameters (RFC 7235 §2.1), keys lower-case.

    Raises :class:`InvalidDigest` for an unterminated quote, a repeated key or too many keys.
    """
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise InvalidDigest(f"auth parameter without '=': {text[i:i + 20]!r}")
        key = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            chars: list[str] = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise InvalidDigest(f"unterminated quoted value of {key!r}")
            i += 1
            value = "".join(chars)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            i = end
        if not key or key in params or len(params) >= _MAX_PARAMS:
            raise InvalidDigest(f"auth parameter {key!r} empty, repeated or one too many")
        params[key] = value
    return params


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _expected(answer: DigestAnswer, password: str, method: str) -> str:
    """The response field ``answer`` must carry (RFC 7616 §3.4.1; RFC 2069 without qop)."""
    hash_fn = ALGORITHMS.get(answer.algorithm)
    if hash_fn is None:
        raise InvalidDigest(f"algorithm {answer.algorithm!r} is not one of "
                            f"{', '.join(ALGORITHMS)}")

    def h(text: str) -> str:
        return hash_fn(text.encode()).hexdigest()

    ha1 = h(f"{answer.username}:{answer.realm}:{password}")
    ha2 = h(f"{method}:{answer.uri}")
    if answer.qop is None:
        return h(f"{ha1}:{answer.nonce}:{ha2}")
    if answer.qop != "auth":
        raise InvalidDigest(f"qop {answer.qop!r} is not supported (auth only)")
    return h(f"{ha1}:{answer.nonce}:{answer.nc}:{answer.cnonce}:auth:{ha2}")


def check_answer(answer: DigestAnswer, password: str, method: str, *, realm: str) -> bool:
    """Is ``answer`` right for this password, method and realm? (Nonce freshness and the
    request URI are the caller's to check: they depend on its issuer and its request.)"""
    if answer.realm != realm or answer.algorithm not in ALGORITHMS:
        return False
    if answer.qop is not None and (answer.qop != "auth" or not answer.nc or not answer.cnonce):
        return False
    return hmac.compare_digest(_expected(answer, password, method), answer.response.lower())


def answer_challenge(challenge: Challenge, username: str, password: str, method: str,
                     uri: str, *, cnonce: str | None = None, nc: int = 1) -> str:
    """The ``Authorization`` value answering ``challenge`` (the client side)."""
    qop = "auth" if "auth" in challenge.qop else None
    if challenge.qop and qop is None:
        raise InvalidDigest(f"challenge offers only qop {challenge.qop}, not auth")
    unsigned = DigestAnswer(username=username, realm=challenge.realm, nonce=challenge.nonce,
                            uri=uri, response="", algorithm=challenge.algorithm, qop=qop,
                            nc=f"{nc:08x}", cnonce=cnonce or os.urandom(8).hex())
    response = _expected(unsigned, password, method)
    parts = [f'username="{_quote(username)}"', f'realm="{_quote(challenge.realm)}"',
             f'nonce="{_quote(challenge.nonce)}"', f'uri="{_quote(uri)}"',
             f'response="{response}"', f"algorithm={challenge.algorithm}"]
    if qop:
        parts += [f"qop={qop}", f"nc={unsigned.nc}", f'cnonce="{unsigned.cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quote(challenge.opaque)}"')
    return "Digest " + ", ".join(parts)
