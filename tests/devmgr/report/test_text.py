"""Shared wording: the turn in words, and text that XML can carry."""

from __future__ import annotations

import pytest

from devmgr.compliance.model import ViewEvidence
from devmgr.report._text import describe_shift, xml_safe


@pytest.mark.parametrize(("pan", "tilt", "words"), [
    (3.2, -0.1, "pan +3.2°, tilt -0.1° (turned 3.2° right, 0.1° down)"),
    (-1.5, 2.0, "pan -1.5°, tilt +2.0° (turned 1.5° left, 2.0° up)"),
    (0.0, 0.01, "pan +0.0°, tilt +0.0° (no turn)"),
    (4.0, None, "pan +4.0° (turned 4.0° right)"),
    (None, None, "not measured"),
    (float("nan"), None, "not measured"),
])
def test_describe_shift(pan: float | None, tilt: float | None, words: str) -> None:
    assert describe_shift(ViewEvidence(name="home", pan_deg=pan, tilt_deg=tilt)) == words


def test_xml_safe_keeps_text_and_replaces_what_xml_forbids() -> None:
    assert xml_safe("江汉路 <b>\t\n") == "江汉路 <b>\t\n"
    assert xml_safe("a\x00b\x1bc\ufffe") == "a\ufffdb\ufffdc\ufffd"
