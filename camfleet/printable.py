"""Device text as a terminal shows it: literally, with nothing a terminal would act on.

Manufacturer names, serials, scopes, hostnames and fault reasons come from devices: hostile.
Written raw to a terminal, an ESC or a C1 CSI (U+009B) starts a control sequence (colours,
cursor moves, an OSC that sets the window title or a hyperlink), a right-to-left override
(U+202E) reverses what follows, and a line separator breaks a table row. :func:`printable`
escapes every such character visibly, Python-style (``\\x1b``, ``\\u202e``), so what the device
sent can still be read and reported; everything else, non-Latin scripts included, is kept.
Markup (``[/oops]`` to rich) is the caller's concern: rich's ``Text`` never interprets it
(``devmgr.cli`` wraps every device value in one).

    >>> printable("Acme\\x1b[31m red\\u202eevil\\x9b2J")
    'Acme\\\\x1b[31m red\\\\u202eevil\\\\x9b2J'
    >>> printable("大华 DH-SD")
    '大华 DH-SD'
"""

from __future__ import annotations

import logging
import re
import unicodedata

__all__ = ["PrintableRecords", "device_logger", "printable"]

#: Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width ones),
#: line and paragraph separators, and lone surrogates (which no terminal encoding can write).
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_PLAIN = re.compile(r"[\x20-\x7e]*")


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as its escape."""
    if _PLAIN.fullmatch(text):  # the common case, ASCII without controls: nothing to do
        return text
    return "".join(_escaped(c) if unicodedata.category(c) in _ESCAPED_CATEGORIES else c
                   for c in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class PrintableRecords(logging.Filter):
    """Makes a log record's message and traceback printable: a log line quotes device text
    (a fault reason, a scope, an exception's message) and ends up on a terminal or in a
    journal a terminal shows. The arguments are merged into the message first, so what a
    handler formats is already escaped."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = printable(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = printable(self._tracebacks.formatException(record.exc_info))
        return True


_PRINTABLE = PrintableRecords()


def device_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` for a module whose log lines quote device text: every
    record it logs is made printable (:class:`PrintableRecords`)."""
    logger = logging.getLogger(name)
    if _PRINTABLE not in logger.filters:
        logger.addFilter(_PRINTABLE)
    return logger
