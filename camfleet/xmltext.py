"""Text that XML 1.0 can carry, for every XML file camfleet writes (JUnit, HTML).

Names, messages and identities come from devices and from files people wrote: untrusted. Any of
them may hold characters XML 1.0 cannot carry at all (NUL, ESC, other control characters, lone
surrogates, U+FFFE/U+FFFF); lxml refuses such strings outright and ElementTree writes a file no
parser reads back, so one bad name would spoil the whole report. :func:`xml_safe` replaces them
with U+FFFD (visibly: something was there); escaping ``<`` ``&`` ``"`` is the serializer's job.

    >>> xml_safe("gate <1>\\x00\\x1b[0m") == "gate <1>\\ufffd\\ufffd[0m"
    True
"""

from __future__ import annotations

import re

__all__ = ["xml_safe"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
