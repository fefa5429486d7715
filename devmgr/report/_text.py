"""Words and numbers shared by the writers, so JUnit, CSV and HTML say the same thing.

Camera names, addresses and serials come from devices and from filing files: untrusted. Any
of them may hold characters that XML 1.0 cannot carry at all (NUL, ESC ...), and lxml refuses
such strings outright, so one bad name would stop the whole report. :func:`xml_safe` (camfleet's,
shared with hil's JUnit file) replaces them; escaping of ``<`` ``&`` ``"`` is left to the
serializers.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from camfleet.xmltext import xml_safe
from devmgr.compliance.model import CameraAudit, Finding, ViewEvidence

__all__ = [
    "ARTICLE_TITLES",
    "anchor_id",
    "camera_label",
    "compact_json",
    "describe_shift",
    "format_value",
    "sorted_findings",
    "xml_safe",
]

#: What each article asks, in a few words (paraphrased from the Wuhan measures), for headings.
ARTICLE_TITLES: dict[str, str] = {
    "Art. 6": "listed sites must have cameras",
    "Art. 7": "runs effectively; fixed position, relatively fixed view, visible signage",
    "Art. 8": "acceptance before use",
    "Art. 9": "device types and points filed within 30 days of acceptance",
    "Art. 10": "not moved or removed without a replacement plan or a filing",
    "Art. 11": "records archived",
    "Art. 12": "capture not obstructed by greenery, pipes or billboards",
    "Art. 15": "retrievals by authorities registered",
    "Art. 16(3)": "retrievals registered: who, when, how, purpose, destination",
    "Art. 16(5)": "recordings kept 90 days (key targets) or 2 years (important information)",
    "Art. 17": "secure transmission",
    "Art. 18": "no cameras in prohibited private places",
    "Art. 20": "records not altered or destroyed",
    "Art. 21": "anonymised before publication",
}

def compact_json(value: Any) -> str:
    """One-line JSON for evidence cells: keys sorted so two reports diff cleanly."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def format_value(value: Any) -> str:
    """A baseline or today value for a table cell: strings bare, ``None`` as a dash."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return compact_json(value)


def anchor_id(camera_key: str) -> str:
    """The HTML id of a camera's section: its key (an id may hold anything but whitespace)."""
    return re.sub(r"\s", "_", camera_key) or "_"


def camera_label(camera: CameraAudit) -> str:
    """The name people know the camera by, else its key."""
    return camera.name or camera.camera


def sorted_findings(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    """Most urgent first; then by rule, so the order does not depend on rule run order."""
    return sorted(findings, key=lambda f: (f.severity.rank, f.rule, f.message))


def describe_shift(view: ViewEvidence) -> str:
    """The estimated turn, signed and in words: ``pan +3.2°, tilt -0.1° (turned 3.2° right,
    0.1° down)``. ``pan_deg > 0`` is a turn to the right, ``tilt_deg > 0`` a turn up."""
    pan, tilt = view.pan_deg, view.tilt_deg
    if pan is None and tilt is None:
        return "not measured"
    signed = ", ".join(f"{axis} {value:+.1f}°" for axis, value in (("pan", pan), ("tilt", tilt))
                       if value is not None and math.isfinite(value))
    words = [f"{abs(value):.1f}° {pos if value > 0 else neg}"
             for value, pos, neg in ((pan, "right", "left"), (tilt, "up", "down"))
             if value is not None and math.isfinite(value) and round(abs(value), 1) > 0]
    if not signed:
        return "not measured"
    return f"{signed} ({'turned ' + ', '.join(words) if words else 'no turn'})"
