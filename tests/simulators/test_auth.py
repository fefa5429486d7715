"""Authentication primitives against published constructions."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from simulators.soap.auth import (
    PASSWORD_DIGEST,
    DigestAuthenticator,
    NonceCache,
    parse_auth_params,
    password_digest,
    verify_username_token,
)
from simulators.soap.envelope import WSSE_NS, WSU_NS, SoapFault
from simulators.spec import User

USERS = {"admin": User(username="admin", password="secret")}
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def token_header(created: str, nonce: bytes = b"0123456789abcdef",
                 password: str = "secret") -> etree._Element:
    digest = password_digest(nonce, created, password)
    xml = f"""<h xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}"><wsse:Security><wsse:UsernameToken>
      <wsse:Username>admin</wsse:Username>
      <wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>
      <wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>
      <wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></h>"""
    return etree.fromstring(xml)


def test_password_digest_is_the_wss_construction() -> None:
    nonce, created = b"nonce", "2026-11-29T12:00:00Z"
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw").digest())
    assert password_digest(nonce, created, "pw") == expected.decode()


def test_valid_token_accepted_once() -> None:
    nonces = NonceCache()
    header = token_header("2026-11-29T12:00:10Z")
    assert verify_username_token(header, USERS, NOW, 300, nonces) == USERS["admin"]
    with pytest.raises(SoapFault, match="replay"):
        verify_username_token(header, USERS, NOW, 300, nonces)


def test_token_from_a_skewed_clock_is_refused() -> None:
    late = (NOW + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(SoapFault, match="600 s from the device clock") as caught:
        verify_username_token(token_header(late), USERS, NOW, 300, NonceCache())
    assert caught.value.subcodes == ("ter:NotAuthorized",)


def test_wrong_password_is_refused() -> None:
    with pytest.raises(SoapFault, match="could not be authenticated"):
        verify_username_token(token_header("2026-11-29T12:00:00Z", password="guess"), USERS,
                              NOW, 300, NonceCache())


def test_no_header_means_no_token() -> None:
    assert verify_username_token(None, USERS, NOW, 300, NonceCache()) is None


def rfc_response(fields: dict[str, str], password: str, method: str = "GET") -> str:
    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = h(f"{fields['username']}:{fields['realm']}:{password}")
    ha2 = h(f"{method}:{fields['uri']}")
    return h(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")


def test_http_digest_round_trip() -> None:
    auth = DigestAuthenticator("cam")
    challenge = next(c for c in auth.challenges() if "MD5" in c)
    params = parse_auth_params(challenge.removeprefix("Digest "))
    fields = {"username": "admin", "realm": params["realm"], "nonce": params["nonce"],
              "uri": "/onvif/snapshot", "nc": "00000001", "cnonce": "abc"}
    good = dict(fields, response=rfc_response(fields, "secret"), qop="auth", algorithm="MD5")
    header = "Digest " + ", ".join(f'{k}="{v}"' for k, v in good.items())
    assert auth.verify(header, "GET", USERS) == USERS["admin"]
    bad = dict(good, response=rfc_response(fields, "guess"))
    assert auth.verify("Digest " + ", ".join(f'{k}="{v}"' for k, v in bad.items()), "GET",
                       USERS) is None
    forged = dict(good, nonce="1.deadbeef")
    assert auth.verify("Digest " + ", ".join(f'{k}="{v}"' for k, v in forged.items()), "GET",
                       USERS) is None


def test_auth_params_with_quoted_commas() -> None:
    assert parse_auth_params('realm="a, b", qop=auth, nonce="x\\"y"') == {
        "realm": "a, b", "qop": "auth", "nonce": 'x"y'}
