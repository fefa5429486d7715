"""Authentication as ONVIF devices do it: WS-Security UsernameToken and HTTP Digest.

UsernameToken digest (WSS UsernameToken Profile 1.0, 3.1): ``Base64(SHA1(nonce + created +
password))``. A camera rejects a token whose ``Created`` is too far from its own clock, which is
why clients measure the offset with the pre-auth GetSystemDateAndTime first, and it refuses a
nonce it has already seen (replay).

HTTP Digest (RFC 7616) with ``qop=auth``, MD5 or SHA-256. Nonces are self-validating
(timestamp + HMAC) so the server keeps no per-client state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from lxml import etree

from simulators.soap.envelope import WSSE_NS, WSU_NS, not_authorized
from simulators.spec import User

PASSWORD_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
                   "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(raw).decode()


def parse_xsd_datetime(text: str) -> datetime:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class NonceCache:
    """Recently seen nonces, bounded, so a captured token cannot be replayed."""

    def __init__(self, size: int = 4096) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._size = size

    def check_and_add(self, nonce: bytes) -> bool:
        """True if the nonce is fresh (and remember it), False if it was seen before."""
        if nonce in self._seen:
            return False
        self._seen[nonce] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


def verify_username_token(header: etree._Element | None, users: Mapping[str, User],
                          device_now: datetime, max_skew_s: float,
                          nonces: NonceCache) -> User | None:
    """Return the authenticated user, ``None`` if the request carries no token.

    Raises ``SoapFault`` (ter:NotAuthorized) for a token that is present but wrong.
    """
    if header is None:
        return None
    token = header.find(f"{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken")
    if token is None:
        return None
    username = (token.findtext(f"{{{WSSE_NS}}}Username") or "").strip()
    password_el = token.find(f"{{{WSSE_NS}}}Password")
    user = users.get(username)
    if user is None or password_el is None:
        raise not_authorized("The security token could not be authenticated or authorized")
    supplied = (password_el.text or "").strip()
    kind = password_el.get("Type", PASSWORD_TEXT)
    if kind == PASSWORD_DIGEST:
        nonce_text = token.findtext(f"{{{WSSE_NS}}}Nonce")
        created = token.findtext(f"{{{WSU_NS}}}Created")
        if not nonce_text or not created:
            raise not_authorized("A digest UsernameToken needs Nonce and Created")
        try:
            nonce = base64.b64decode(nonce_text.strip(), validate=True)
            created_at = parse_xsd_datetime(created)
        except (binascii.Error, ValueError) as exc:
            raise not_authorized(f"Malformed UsernameToken: {exc}") from exc
        skew = abs((created_at - device_now).total_seconds())
        if skew > max_skew_s:
            raise not_authorized(
                f"UsernameToken Created {created.strip()} is {skew:.0f} s from the device "
                f"clock ({device_now:%Y-%m-%dT%H:%M:%SZ}); limit {max_skew_s:.0f} s")
        expected = password_digest(nonce, created.strip(), user.password)
        if not hmac.compare_digest(expected, supplied):
            raise not_authorized("The security token could not be authenticated or authorized")
        if not nonces.check_and_add(nonce):
            raise not_authorized("UsernameToken nonce was already used (replay)")
        return user
    if kind == PASSWORD_TEXT:
        # ONVIF devices take PasswordDigest only; a clear-text password is refused even when
        # it is right (SECURITY-1-1-1).
        raise not_authorized("PasswordText is not accepted; use PasswordDigest")
    raise not_authorized(f"Unsupported password type {kind}")


class DigestAuthenticator:
    """Server side of HTTP Digest (RFC 7616), stateless nonces valid for ``nonce_ttl_s``."""

    ALGORITHMS: ClassVar[dict[str, Callable[..., Any]]] = {"MD5": hashlib.md5,
                                                          "SHA-256": hashlib.sha256}

    def __init__(self, realm: str, nonce_ttl_s: float = 300.0,
                 algorithms: Sequence[str] = ("MD5",)) -> None:
        self.realm = realm
        #: Challenged in this order; an answer with another algorithm is refused.
        self.algorithms = tuple(algorithms)
        self._key = os.urandom(16)
        self._ttl = nonce_ttl_s

    def _nonce(self, stamp: int) -> str:
        mac = hmac.new(self._key, str(stamp).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp:x}.{mac}"

    def _nonce_valid(self, nonce: str) -> bool:
        stamp_hex, _, _mac = nonce.partition(".")
        try:
            stamp = int(stamp_hex, 16)
        except ValueError:
            return False
        fresh = 0 <= time.time() - stamp <= self._ttl
        return fresh and hmac.compare_digest(self._nonce(stamp), nonce)

    def challenges(self, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values, in the configured order (a client picks one it
        knows; a naive one the first)."""
        nonce = self._nonce(int(time.time()))
        extra = ", stale=true" if stale else ""
        return [f'Digest realm="{self.realm}", qop="auth", algorithm={alg}, '
                f'nonce="{nonce}"{extra}' for alg in self.algorithms]

    def verify(self, authorization: str, method: str, users: Mapping[str, User]) -> User | None:
        """Return the user for a valid ``Authorization: Digest ...`` header, else ``None``."""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "digest":
            return None
        fields = parse_auth_params(rest)
        user = users.get(fields.get("username", ""))
        algorithm = fields.get("algorithm", "MD5").upper()
        hash_fn = self.ALGORITHMS.get(algorithm) if algorithm in self.algorithms else None
        nonce = fields.get("nonce", "")
        if user is None or hash_fn is None or fields.get("realm") != self.realm:
            return None
        if not self._nonce_valid(nonce):
            return None

        def h(text: str) -> str:
            return str(hash_fn(text.encode()).hexdigest())

        ha1 = h(f"{user.username}:{self.realm}:{user.password}")
        ha2 = h(f"{method}:{fields.get('uri', '')}")
        qop = fields.get("qop")
        if qop == "auth":
            expected = h(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:"
                         f"auth:{ha2}")
        elif qop is None:
            expected = h(f"{ha1}:{nonce}:{ha2}")
        else:
            return None
        if hmac.compare_digest(expected, fields.get("response", "")):
            return user
        return None


def digest_authorization(challenges: list[str] | tuple[str, ...], method: str, uri: str,
                         username: str, password: str) -> str | None:
    """The client's answer to the first Digest challenge it can meet (RFC 7616, qop=auth),
    for an ``Authorization`` header; None if no challenge is one."""
    for challenge in challenges:
        scheme, _, rest = challenge.partition(" ")
        fields = parse_auth_params(rest)
        algorithm = fields.get("algorithm", "MD5").upper()
        if scheme.lower() == "digest" and algorithm in DigestAuthenticator.ALGORITHMS:
            return _digest_answer(fields, algorithm, f"{method}:{uri}", username, password)
    return None


def _digest_answer(fields: dict[str, str], algorithm: str, a2: str, username: str,
                   password: str) -> str:
    hash_fn = DigestAuthenticator.ALGORITHMS[algorithm]

    def h(text: str) -> str:
        return str(hash_fn(text.encode()).hexdigest())

    realm, nonce, cnonce, nc = fields.get("realm", ""), fields.get("nonce", ""), \
        os.urandom(8).hex(), "00000001"
    response = h(f"{h(f'{username}:{realm}:{password}')}:{nonce}:{nc}:{cnonce}:auth:"
                 f"{h(a2)}")
    uri = a2.partition(":")[2]
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", '
            f'response="{response}"')


def parse_auth_params(text: str) -> dict[str, str]:
    """Parse ``key=value, key="quoted, value"`` auth parameters (RFC 7235 2.1)."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            i += 1
            params[key] = "".join(value)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            params[key] = text[i:end].strip()
            i = end
    return params
