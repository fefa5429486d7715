"""Catalog bytes to text, strictly, so that a bad byte is reported on its own line."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from devmgr.filings.problems import Collector, FilingImportError

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_GB_FAMILY = {"gb2312", "gbk", "gb18030"}


#: Lines with undecodable bytes reported at most: enough to see the pattern, and a bound on
#: the work a hostile file can cause.
MAX_BAD_LINES = 20


def _bad_lines(raw: bytes, encoding: str) -> Iterator[tuple[int, int, bytes, str]]:
    """(line, byte column, bad bytes, reason) for the first undecodable bytes of each line."""
    pos, last_line, reported = 0, 0, 0
    while pos < len(raw) and reported < MAX_BAD_LINES:
        try:
            raw[pos:].decode(encoding)
            return
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + max(exc.end, exc.start + 1)
            line = raw.count(b"\n", 0, start) + 1
            if line != last_line:
                column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
                yield line, column, raw[start:end], exc.reason
                last_line, reported = line, reported + 1
            pos = end


def _line_as(raw: bytes, line: int, encoding: str) -> str | None:
    text = raw.split(b"\n")[line - 1]
    try:
        return text.decode(encoding).strip()
    except UnicodeDecodeError:
        return None


def decode(raw: bytes, col: Collector, encoding: str | None) -> str:
    """The document's text, decoded strictly; a problem per line with undecodable bytes."""
    if encoding is not None:
        label, why = encoding, "the encoding asked for"
    elif raw.startswith(codecs.BOM_UTF8):
        label, why = "utf-8-sig", "as its byte-order mark says"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        label, why = "utf-16", "as its byte-order mark says"
    elif (m := _DECLARED.match(raw[:256])) is not None:
        label, why = m.group(1).decode("ascii"), "the encoding the document declares"
    else:
        label, why = "utf-8", "the default, as no encoding is declared"
    try:
        name = codecs.lookup(label).name
        text = raw.decode(name)
    except LookupError:
        col.problem(1, None, f"unknown encoding {label!r} ({why})")
        raise FilingImportError(col.problems) from None
    except UnicodeDecodeError:
        for line, column, bad, reason in _bad_lines(raw, name):
            message = (f"bytes {bad.hex(' ')} at byte {column} of the line are not valid "
                       f"{label}, {why} ({reason})")
            for other in ("gbk", "gb18030") if name in _GB_FAMILY or name == "utf-8" else ():
                if other != name and (as_other := _line_as(raw, line, other)) is not None:
                    message += (f"; the line is valid {other.upper()}: {as_other[:80]} (read "
                                f"the file as {other.upper()}: --encoding {other})")
                    break
            col.problem(line, None, message)
        raise FilingImportError(col.problems) from None
    return text
