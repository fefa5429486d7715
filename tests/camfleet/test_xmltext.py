"""Text that XML can carry: what a device says goes into XML files only through xml_safe."""

from __future__ import annotations

import doctest
import xml.etree.ElementTree as ET

from camfleet import xmltext
from camfleet.xmltext import xml_safe


def test_keeps_text_and_replaces_what_xml_forbids() -> None:
    assert xml_safe("江汉路 <b>\t\n\U0001f600") == "江汉路 <b>\t\n\U0001f600"
    assert xml_safe("a\x00b\x0bc\x1bd\ud800e\ufffe\uffff") == "a\ufffdb\ufffdc\ufffdd\ufffde" \
        "\ufffd\ufffd"


def test_every_code_point_that_survives_parses_back() -> None:
    text = "".join(chr(c) for c in range(0x10000) if not 0xd800 <= c <= 0xdfff) + "\ud800"
    element = ET.Element("p", value=xml_safe(text))
    element.text = xml_safe(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="utf-8"))
    assert parsed.text == xml_safe(text).replace("\r", "\n")  # a parser normalises \r
    assert parsed.get("value") == xml_safe(text)


def test_the_docstring_example() -> None:
    assert doctest.testmod(xmltext).failed == 0
