"""A tiny element builder over lxml, so the HTML report never concatenates markup.

Every string handed to :func:`h` becomes text or an attribute value of an lxml element, and the
serializer escapes it: a camera named ``<script>alert(1)</script>`` is shown, never run. There
is no way to pass raw markup through here, which is the point.

    >>> from lxml import etree
    >>> etree.tostring(h("p", "a < b ", h("b", "bold"), cls="note"), encoding="unicode")
    '<p class="note">a &lt; b <b>bold</b></p>'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from lxml import etree

from devmgr.report._text import xml_safe

__all__ = ["Child", "h", "joined", "number"]

Child: TypeAlias = "str | etree._Element | Sequence[Child] | None"
Attr: TypeAlias = str | int | float | None


def h(tag: str, *children: Child, **attrs: Attr) -> etree._Element:
    """Element ``tag`` with ``children`` (text, elements, lists of them; ``None`` skipped).

    Attribute names: ``cls`` is ``class``, other underscores become hyphens
    (``stroke_width`` -> ``stroke-width``); ``None`` values are left out, floats are rounded.
    """
    element = etree.Element(tag)
    for name, value in attrs.items():
        if value is not None:
            key = "class" if name == "cls" else name.rstrip("_").replace("_", "-")
            element.set(key, xml_safe(value if isinstance(value, str) else number(value)))
    _append(element, children)
    return element


def joined(items: Sequence[Child], separator: str = ", ") -> list[Child]:
    """``items`` with ``separator`` text between them, for inline lists of links."""
    out: list[Child] = []
    for i, item in enumerate(items):
        out += [separator, item] if i else [item]
    return out


def number(value: float) -> str:
    """Coordinates and sizes: two decimals at most, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _append(parent: etree._Element, children: Sequence[Child]) -> None:
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            _append_text(parent, xml_safe(child))
        elif isinstance(child, etree._Element):
            parent.append(child)
        else:
            _append(parent, child)


def _append_text(parent: etree._Element, text: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
