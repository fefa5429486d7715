"""Device text as a terminal shows it: everything a terminal acts on is escaped, the rest kept."""

from __future__ import annotations

import pytest

from camfleet.printable import printable


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[2J", "\\x1b[2J"),                 # CSI by ESC
    ("\x9b2J", "\\x9b2J"),                   # CSI as one C1 character
    ("\x9d0;title\x07", "\\x9d0;title\\x07"),  # OSC, ended by BEL
    ("abc\u202edef", "abc\\u202edef"),       # right-to-left override
    ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # bidi isolates
    ("line\u2028break", "line\\u2028break"),
    ("tab\tnew\nline\r", "tab\\x09new\\x0aline\\x0d"),
    ("\ud800", "\\ud800"),                   # a lone surrogate no terminal encoding writes
    ("[/oops] [bold]", "[/oops] [bold]"),    # markup is not a terminal's concern: kept
    ("大华 Ünïcode café", "大华 Ünïcode café"),
])
def test_controls_are_escaped_and_text_kept(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(raw).isprintable()
