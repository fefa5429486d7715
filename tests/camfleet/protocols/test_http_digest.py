"""HTTP Digest: the RFCs' worked examples, nonces, and hostile headers."""

from __future__ import annotations

import pytest

from camfleet.protocols import http_digest as digest


def test_rfc_2617_example() -> None:
    # RFC 2617 §3.5 (its "Circle Of Life" example, MD5, qop=auth).
    answer = digest.parse_authorization(
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    assert digest.check_answer(answer, "Circle Of Life", "GET", realm="testrealm@host.com")
    assert not digest.check_answer(answer, "Circle of Life", "GET", realm="testrealm@host.com")
    assert not digest.check_answer(answer, "Circle Of Life", "POST", realm="testrealm@host.com")
    assert not digest.check_answer(answer, "Circle Of Life", "GET", realm="other")


@pytest.mark.parametrize(("algorithm", "response"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc_7616_examples(algorithm: str, response: str) -> None:
    # RFC 7616 §3.9.1.
    challenge = digest.Challenge(realm="http-auth@example.org", algorithm=algorithm,
                                 nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                                 opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    header = digest.answer_challenge(challenge, "Mufasa", "Circle of Life", "GET",
                                     "/dir/index.html",
                                     cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    answer = digest.parse_authorization(header)
    assert answer.response == response
    assert (answer.nc, answer.qop, answer.opaque) == ("00000001", "auth", challenge.opaque)


def test_rfc_2069_answer_without_qop() -> None:
    challenge = digest.parse_challenge('Digest realm="cam", nonce="abc"')
    assert challenge.qop == ()
    answer = digest.parse_authorization(
        digest.answer_challenge(challenge, "admin", "pw", "DESCRIBE", "rtsp://cam/1"))
    assert answer.qop is None
    assert digest.check_answer(answer, "pw", "DESCRIBE", realm="cam")


def test_challenge_round_trip() -> None:
    challenge = digest.Challenge(realm='say "cheese"', nonce="n1", stale=True, opaque="o")
    text = digest.format_challenge(challenge)
    assert text.startswith('Digest realm="say \\"cheese\\"", nonce="n1", algorithm=MD5')
    assert digest.parse_challenge(text) == challenge


def test_nonces_expire_and_cannot_be_forged() -> None:
    now = [1000.0]
    issuer = digest.NonceIssuer(ttl_s=60, clock=lambda: now[0])
    nonce = issuer.issue()
    assert issuer.is_fresh(nonce)
    stamp, _, mac = nonce.partition(".")
    assert not issuer.is_fresh(f"{int(stamp, 16) + 1:x}.{mac}")
    assert not digest.NonceIssuer(clock=lambda: now[0]).is_fresh(nonce)  # another key
    now[0] += 61
    assert not issuer.is_fresh(nonce)
    for junk in ("", ".", "zz.zz", "f" * 40 + ".x", "1" * 17):
        assert not issuer.is_fresh(junk)


def test_answers_to_unsupported_options_fail() -> None:
    base = ('Digest username="a", realm="r", nonce="n", uri="/", response="x", nc=00000001, '
            'cnonce="c"')
    assert not digest.check_answer(digest.parse_authorization(base + ", qop=auth-int"),
                                   "pw", "GET", realm="r")
    assert not digest.check_answer(digest.parse_authorization(base + ", algorithm=SHA-512-256"),
                                   "pw", "GET", realm="r")
    with pytest.raises(digest.InvalidDigest, match="auth"):
        digest.answer_challenge(digest.Challenge("r", "n", qop=("auth-int",)), "a", "p", "GET",
                                "/")


@pytest.mark.parametrize("value", [
    "Basic YWRtaW46cHc=", 'Digest username="a"', 'Digest username="a, realm=r',
    'Digest username="a", username="b", realm="r", nonce="n", uri="/", response="x"',
    "Digest " + ", ".join(f"k{i}=v" for i in range(20)), "Digest " + "a" * 5000,
    "Digest novalue",
])
def test_hostile_authorization_headers(value: str) -> None:
    with pytest.raises(digest.InvalidDigest):
        digest.parse_authorization(value)
