"""A camera's stream and its own events in the HTML report: what the audit played, and what
the camera said about itself (tamper events) beside what the audit saw (the views).

Device text (topics, states, sources) goes through :func:`~devmgr.report._dom.h`, which
escapes it; control characters are replaced by ``xml_safe`` there too.
"""

from __future__ import annotations

from lxml import etree

from devmgr.compliance.model import CameraAudit
from devmgr.report._dom import h

__all__ = ["events_table", "stream_table", "stream_words"]


def stream_words(camera: CameraAudit) -> str:
    """The stream in a few words for a table cell (``—`` when not checked)."""
    return camera.stream.seen() if camera.stream is not None else "—"


def stream_table(camera: CameraAudit) -> etree._Element | None:
    stream = camera.stream
    if stream is None:
        return None
    configured = stream.configured.describe() if stream.configured is not None else "—"
    first = f"{stream.first_frame_s:.2f} s" if stream.first_frame_s is not None else "—"
    rows = [("Profile", stream.profile), ("URI", stream.uri), ("Configured", configured),
            ("Seen", stream.seen()), ("First picture after", first),
            ("Played", f"{stream.played_s:.1f} s")]
    return h("table", h("caption", "Main stream (played by the audit)"),
             [h("tr", h("th", k, scope="row"), h("td", v)) for k, v in rows],
             cls="facts stream")


def events_table(camera: CameraAudit) -> etree._Element | None:
    """The camera's own tamper events since the last audit, oldest first."""
    if not camera.camera_events:
        return None
    header = h("tr", [h("th", t) for t in ("Camera time (UTC)", "Received", "Topic", "State",
                                            "Operation", "Via")])
    rows = [h("tr", h("td", e.utc_time.isoformat(timespec="seconds") if e.utc_time else "—"),
              h("td", e.received_at.isoformat(timespec="seconds")), h("td", h("code", e.topic)),
              h("td", e.state or "—"), h("td", e.operation or "—"), h("td", e.via or "—"))
            for e in camera.camera_events]
    return h("table", h("caption", "The camera's own tamper events since the last audit "
                                   "(its verdict, beside the views compared by the audit)"),
             header, rows, cls="events")
