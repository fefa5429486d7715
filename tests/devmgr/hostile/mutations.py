"""What the fuzz tests put into a device's replies: values no field should hold, and byte edits
of a whole reply, drawn by Hypothesis."""

from __future__ import annotations

from hypothesis import strategies as st

#: Values a field of a reply should never hold: numbers past every range, dates and durations
#: no calendar holds, markup and terminal control text, and sheer size.
EXTREMES = ["1e309", "-1e309", "NaN", "inf", "-0", "1" + "0" * 30, "-1", "0", "0x10", "",
            " ", "1.5e-400", "P9999999999D", "PT99999999999999999S", "P-1D", "PT", "P1Y2M3DT",
            "9999", "10000", "0000", "13", "32", "61", "-2147483649", "999", "true", "[/oops]",
            "\u009b2J", "\u202e", "%1B", "\ufffd", "a" * 5000]

_PIECES = (st.sampled_from(EXTREMES).map(lambda s: s.encode("utf-8", "surrogatepass"))
           | st.binary(max_size=24)
           | st.sampled_from([b"<", b">", b"</x>", b"<!DOCTYPE x>", b"&amp;", b"&#0;", b"\x00",
                              b"\xff\xfe", b'"', b"xmlns:d=", b"\r\n\r\n", b":", b";", b"\xff"]))

#: One edit: at a fraction of the reply, replace that many bytes (0: insert) with a piece;
#: or repeat the bytes there, or cut the reply short.
EDITS = st.tuples(st.sampled_from(["replace", "repeat", "cut"]), st.floats(0, 1),
                  st.integers(0, 16), _PIECES)


def mutate(data: bytes, edits: list[tuple[str, float, int, bytes]]) -> bytes:
    """``data`` with ``edits`` applied in turn (see :data:`EDITS`)."""
    for kind, where, length, piece in edits:
        at = int(where * len(data))
        if kind == "cut":
            data = data[:at]
        elif kind == "repeat":
            data = data[:at] + data[at:at + length + 1] * 100 + data[at:]
        else:
            data = data[:at] + piece + data[at + length:]
    return data
