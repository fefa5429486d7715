"""Authentication (ONVIF Core 5.12, Art. 17 secure transmission): each mechanism on its own.

devmgr's session falls back from WS-Security to HTTP Digest when a camera insists; these tests
must not, so they send prepared envelopes as they are (``Camera.post_raw``) and look at exactly
what came back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from devmgr.inventory.model import ErrorKind
from devmgr.onvif.session import OnvifError, parse_body, security_header, template
from hil.camera import Camera, RawReply

WRONG = "hil-wrong-password-7f3a"


def _envelope(camera: Camera, username: str | None, password: str | None) -> bytes:
    header = b""
    if username is not None and password is not None:
        now = datetime.now(UTC) + camera.session.clock_offset
        header = security_header(username, password, now)
    return template("device", "GetDeviceInformation", ()).render(header, {})


def _answered(reply: RawReply) -> bool:
    """A proper GetDeviceInformation response came back."""
    if reply.status != 200:
        return False
    try:
        parse_body(reply.body, "GetDeviceInformation")
    except OnvifError:
        return False
    return True


def _refused(reply: RawReply) -> bool:
    """HTTP 401/403, or a SOAP fault that says NotAuthorized."""
    if reply.status in (401, 403):
        return True
    try:
        parse_body(reply.body, "GetDeviceInformation")
    except OnvifError as exc:
        return exc.kind is ErrorKind.AUTH
    return False


def test_SECURITY_1_1_1_username_token(camera: Camera) -> None:
    """A valid WS-Security UsernameToken is accepted, a wrong password refused."""
    user, password = camera.target.onvif.username, camera.session.password or ""
    good = camera.post_raw("device", _envelope(camera, user, password))
    assert _answered(good), (
        f"{camera}: a valid UsernameToken was not accepted (HTTP {good.status}"
        f"{', asks for ' + good.challenges[0] if good.challenges else ''})")
    wrong = camera.post_raw("device", _envelope(camera, user, WRONG))
    assert _refused(wrong), f"{camera}: a UsernameToken with a wrong password was accepted " \
                            f"(HTTP {wrong.status})"


def test_CAMFLEET_no_anonymous_access(camera: Camera) -> None:
    """GetDeviceInformation without any credentials is refused (Art. 17: no anonymous access)."""
    reply = camera.post_raw("device", _envelope(camera, None, None))
    assert _refused(reply), f"{camera}: GetDeviceInformation answered without credentials " \
                            f"(HTTP {reply.status})"


def test_SECURITY_1_1_2_http_digest(camera: Camera) -> None:
    """HTTP Digest: offered when credentials are missing, valid ones accepted, wrong refused."""
    plain = camera.post_raw("device", _envelope(camera, None, None))
    offers = any(c.lower().startswith("digest") for c in plain.challenges)
    profile_t = any(s.endswith("/Profile/T") for s in (camera.facts.scopes
                                                      if camera.facts else ()))
    if not offers:
        assert not profile_t, f"{camera}: claims Profile T, which makes HTTP Digest " \
                              "mandatory, but offers no Digest challenge"
        pytest.skip(f"{camera} offers no HTTP Digest (not a Profile T device)")
    user, password = camera.target.onvif.username, camera.session.password or ""
    good = camera.post_raw("device", _envelope(camera, None, None),
                           middlewares=(aiohttp.DigestAuthMiddleware(user, password),))
    assert _answered(good), f"{camera}: valid HTTP Digest credentials were refused " \
                            f"(HTTP {good.status})"
    wrong = camera.post_raw("device", _envelope(camera, None, None),
                            middlewares=(aiohttp.DigestAuthMiddleware(user, WRONG),))
    assert _refused(wrong), f"{camera}: HTTP Digest with a wrong password was accepted"
