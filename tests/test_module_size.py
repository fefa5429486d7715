"""Files stay small: no module of the product over MAX_LINES lines unless its docstring says why.

A module that must be longer states it in its module docstring, on a line of its own::

    Long file: <the reason, in a sentence>

so the reason is read by whoever opens the file, and reviewed when it changes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("camfleet", "devmgr", "simulators", "hil", "scenarios")
MAX_LINES = 500
MARKER = "Long file:"

def stated_reason(source: str) -> str | None:
    """The reason after MARKER in the module docstring, or None."""
    docstring = ast.get_docstring(ast.parse(source)) or ""
    for line in docstring.splitlines():
        text = line.strip()
        if text.startswith(MARKER) and text.removeprefix(MARKER).strip():
            return text.removeprefix(MARKER).strip()
    return None


def too_long() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            source = path.read_text(encoding="utf-8")
            lines = len(source.splitlines())
            if lines > MAX_LINES and stated_reason(source) is None:
                found.append(f"{name}: {lines} lines")
    return found


def test_modules_are_short_or_say_why() -> None:
    long = too_long()
    assert not long, (f"over {MAX_LINES} lines without '{MARKER} <reason>' in the module "
                      "docstring (split the file, or state why it is one unit):\n"
                      + "\n".join(long))


@pytest.mark.parametrize(("source", "reason"), [
    ('"""Codec.\n\nLong file: one state machine, split it and the states scatter.\n"""\n',
     "one state machine, split it and the states scatter."),
    ('"""Codec.\n\nLong file:\n"""\n', None),  # a marker without a reason is no reason
    ('"""Codec, with no reason."""\n', None),
    ("x = 1  # Long file: not in the docstring\n", None),
])
def test_the_reason_is_read_from_the_docstring(source: str, reason: str | None) -> None:
    assert stated_reason(source) == reason
