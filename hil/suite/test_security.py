"""Authentication (ONVIF Core 5.12, Art. 17 secure transmission): each mechanism on its own.

devmgr's session falls back from WS-Security to HTTP Digest when a camera insists; these tests
must not, so they send prepared envelopes as they are (``Camera.post_raw``) and look at exactly
what came back. Every refused login counts against the camera account's lockout: the tests
that cause them say how many (``hil_auth_failures``), run under ``--hil-read-only`` only with
``--hil-negative-auth``, and stop at ``--hil-auth-failures``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest

from camfleet.errors import ErrorKind
from camfleet.http import HttpAuth, HttpResponse
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.soap import SOAP12, parse_body, security_header, template
from hil.camera import Camera
from hil.spec import BASE, conformance
from hil.suite.helpers import text

WRONG = "hil-wrong-password-7f3a"
#: SECURITY-1-1-1/1-1-2 send "a request that requires authentication (e.g. GetUsers)".
OPERATION = "GetUsers"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"


def _envelope(header: bytes, operation: str = OPERATION) -> bytes:
    return template("device", operation, ()).render(header, {})


def _now(camera: Camera) -> datetime:
    return datetime.now(UTC) + camera.session.clock_offset


def malformed_token(camera: Camera, password: str, *, nonce: bool = True, created: bool = True,
                    text_password: bool = False) -> bytes:
    """A UsernameToken with a part left out or the plain-text password type (SECURITY-1-1-1);
    what is present is computed correctly."""
    raw_nonce = os.urandom(16)
    stamp = _now(camera).strftime("%Y-%m-%dT%H:%M:%SZ")
    if text_password:
        kind, value = "PasswordText", escape(password)
    else:
        digest = hashlib.sha1((raw_nonce if nonce else b"") + (stamp.encode() if created else b"")
                              + password.encode()).digest()
        kind, value = "PasswordDigest", base64.b64encode(digest).decode()
    parts = [f"<wsse:Username>{escape(camera.target.onvif.username)}</wsse:Username>",
             f'<wsse:Password Type="{_PROFILE}#{kind}">{value}</wsse:Password>']
    if nonce:
        parts.append(f"<wsse:Nonce>{base64.b64encode(raw_nonce).decode()}</wsse:Nonce>")
    if created:
        parts.append(f"<wsu:Created>{stamp}</wsu:Created>")
    return (f'<wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}" s:mustUnderstand="true" '
            f'xmlns:s="{SOAP12}"><wsse:UsernameToken>{"".join(parts)}</wsse:UsernameToken>'
            "</wsse:Security>").encode()


def _answered(reply: HttpResponse, operation: str = OPERATION) -> bool:
    """A proper response to the operation came back."""
    if reply.status != 200:
        return False
    try:
        parse_body(reply.body, operation)
    except OnvifError:
        return False
    return True


def _refused(reply: HttpResponse, operation: str) -> bool:
    """HTTP 401/403, or a SOAP fault that says NotAuthorized."""
    if reply.status in (401, 403):
        return True
    try:
        parse_body(reply.body, operation)
    except OnvifError as exc:
        return exc.kind is ErrorKind.AUTH
    return False


def _password(camera: Camera) -> str:
    return camera.session.password or ""


@pytest.mark.hil_auth_failures(3)
@conformance("SECURITY-1-1-1", BASE, "USER TOKEN PROFILE", checks="""
    GetUsers with a UsernameToken without nonce, without timestamp (Created), and with the
    password type PasswordText is rejected each time; with a correct UsernameToken (digest,
    nonce, Created) it is accepted. No other authentication is used""")
def test_SECURITY_1_1_1_username_token(camera: Camera) -> None:
    password = _password(camera)
    wrong = {
        "without nonce": malformed_token(camera, password, nonce=False),
        "without timestamp (Created)": malformed_token(camera, password, created=False),
        "with password type PasswordText": malformed_token(camera, password,
                                                           text_password=True),
    }
    accepted = [what for what, header in wrong.items()
                if _answered(camera.post_raw("device", _envelope(header)))]
    assert not accepted, (f"{camera}: accepted GetUsers with a UsernameToken "
                          f"{', '.join(accepted)} (SECURITY-1-1-1)")
    good = camera.post_raw("device", _envelope(security_header(
        camera.target.onvif.username, password, _now(camera))))
    assert _answered(good), (
        f"{camera}: rejected GetUsers with a correct UsernameToken (HTTP {good.status}) "
        "(SECURITY-1-1-1)")


def _says_http_digest(camera: Camera) -> bool:
    caps = camera.must_call("device", "GetServiceCapabilities").find(".//{*}Security")
    return caps is not None and caps.get("HttpDigest", "").lower() in ("true", "1")


@conformance("SECURITY-1-1-2", BASE, "DIGEST AUTHENTICATION", checks="""
    where GetServiceCapabilities says HttpDigest (the pre-requisite): GetUsers without any
    authentication is rejected with HTTP 401 and a WWW-Authenticate Digest challenge with realm
    and nonce; with valid HTTP Digest credentials it is accepted. No UsernameToken is used""")
def test_SECURITY_1_1_2_http_digest(camera: Camera) -> None:
    if not _says_http_digest(camera):
        pytest.skip(f"{camera.id} does not say HttpDigest (GetServiceCapabilities)")
    plain = camera.post_raw("device", _envelope(b""))
    assert plain.status == 401, (f"{camera}: GetUsers without authentication: HTTP "
                                 f"{plain.status}, not 401 (SECURITY-1-1-2 step 4)")
    digest = [c for c in plain.challenges if c.lower().startswith("digest")]
    complete = bool(digest) and all(f"{field}=" in digest[0].lower()
                                    for field in ("realm", "nonce"))
    assert complete, (
        f"{camera}: WWW-Authenticate {list(plain.challenges)} is no Digest challenge with realm "
        "and nonce (SECURITY-1-1-2 step 5)")
    good = camera.post_raw("device", _envelope(b""), auth=HttpAuth(
        "digest", camera.target.onvif.username, _password(camera)))
    assert _answered(good), f"{camera}: valid HTTP Digest credentials were refused " \
                            f"(HTTP {good.status}) (SECURITY-1-1-2)"


def test_CAMFLEET_no_anonymous_access(camera: Camera) -> None:
    """GetDeviceInformation without any credentials is refused (Art. 17: no anonymous access)."""
    operation = "GetDeviceInformation"
    reply = camera.post_raw("device", _envelope(b"", operation))
    assert _refused(reply, operation), (f"{camera}: {operation} answered without credentials "
                                        f"(HTTP {reply.status})")


@pytest.mark.hil_auth_failures(2)
def test_CAMFLEET_wrong_password_refused(camera: Camera) -> None:
    """A wrong password is refused, by WS-Security UsernameToken and by HTTP Digest where the
    camera offers Digest (the official cases send none)."""
    operation = "GetDeviceInformation"
    user = camera.target.onvif.username
    wrong = camera.post_raw("device", _envelope(security_header(user, WRONG, _now(camera)),
                                                operation))
    assert _refused(wrong, operation), (f"{camera}: a UsernameToken with a wrong password was "
                                        f"accepted (HTTP {wrong.status})")
    plain = camera.post_raw("device", _envelope(b"", operation))
    if any(c.lower().startswith("digest") for c in plain.challenges):
        wrong = camera.post_raw("device", _envelope(b"", operation),
                                auth=HttpAuth("digest", user, WRONG))
        assert _refused(wrong, operation), f"{camera}: HTTP Digest with a wrong password was " \
                                           "accepted"


def test_CAMFLEET_profile_t_offers_digest(camera: Camera) -> None:
    """A camera that claims Profile T offers HTTP Digest (mandatory there)."""
    scopes = [text(s, "{*}ScopeItem")
              for s in camera.must_call("device", "GetScopes").iterfind("{*}Scopes")]
    if not any(s.endswith("/Profile/T") for s in scopes):
        pytest.skip(f"{camera.id} does not claim Profile T")
    plain = camera.post_raw("device", _envelope(b"", "GetDeviceInformation"))
    assert any(c.lower().startswith("digest") for c in plain.challenges), (
        f"{camera}: claims Profile T, which makes HTTP Digest mandatory, but offers no Digest "
        "challenge")
