"""HTTP Digest on RTSP (RFC 2326 §D.2 with RFC 2617/7616 Digest): is a request authorized?"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from camfleet.protocols import http_digest as digest
from camfleet.protocols.rtsp import Request

#: username -> password, read at each request so changed or added accounts apply at once.
Credentials = Callable[[], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Verdict:
    user: str | None
    #: ``WWW-Authenticate`` value to send with a 401, when the request is refused.
    challenge: str | None = None


class RtspDigest:
    """Server side: MD5 with ``qop=auth`` offered (what RTSP clients implement), the RFC 2069
    form without qop accepted; SHA-256 answers are accepted too."""

    def __init__(self, realm: str, credentials: Credentials, nonce_ttl_s: float = 300.0) -> None:
        self.realm = realm
        self._credentials = credentials
        self._nonces = digest.NonceIssuer(nonce_ttl_s)

    def check(self, request: Request) -> Verdict:
        header = request.headers.get("Authorization")
        if header is None:
            return self._refuse()
        try:
            answer = digest.parse_authorization(header)
        except digest.InvalidDigest:
            return self._refuse()
        password = self._credentials().get(answer.username)
        # The answer covers the URI it names; it must be this request's, or it was replayed.
        if password is None or answer.uri != request.uri or not digest.check_answer(
                answer, password, request.method, realm=self.realm):
            return self._refuse()
        if not self._nonces.is_fresh(answer.nonce):
            return self._refuse(stale=True)
        return Verdict(answer.username)

    def _refuse(self, *, stale: bool = False) -> Verdict:
        challenge = digest.Challenge(realm=self.realm, nonce=self._nonces.issue(), stale=stale)
        return Verdict(None, digest.format_challenge(challenge))
