"""What the audit keeps of a camera's stream and events: evidence records for the rules and
the reports (JSON-able, stored in the registry with the audit result)."""

from __future__ import annotations

from datetime import datetime

from camfleet.model import Model
from devmgr.inventory.model import VideoEncoder

__all__ = ["CameraEvent", "StreamEvidence", "tamper_summary"]


class StreamEvidence(Model):
    """The main stream, played for a few seconds by the audit: what was configured and what
    was decoded (or why nothing was)."""

    profile: str
    #: The stream URI as played (the camera's path on the address the camera answered at),
    #: without credentials.
    uri: str
    configured: VideoEncoder | None = None
    #: Empty when a picture was decoded; else the classified kind and the player's words.
    error_kind: str = ""
    error: str = ""
    codec: str = ""
    width: int = 0
    height: int = 0
    first_frame_s: float | None = None
    frames: int = 0
    span_s: float = 0.0
    fps: float | None = None
    #: Whether any picture differed from the first (:data:`devmgr.media.stream.CHANGE_LEVEL`).
    changed: bool = False
    mean_luma: float | None = None
    played_s: float = 0.0

    @property
    def played(self) -> bool:
        return not self.error_kind

    def seen(self) -> str:
        """What was seen, in a few words, for findings and tables."""
        if not self.played:
            return f"no picture ({self.error_kind}: {self.error})"
        fps = f"{self.fps:.1f} fps" if self.fps is not None else "one picture"
        luma = f", mean luma {self.mean_luma:.0f}" if self.mean_luma is not None else ""
        return (f"{self.codec} {self.width}x{self.height}, {self.frames} pictures over "
                f"{self.span_s:.1f} s ({fps}), {'changing' if self.changed else 'unchanged'}"
                f"{luma}")


class CameraEvent(Model):
    """One event the camera raised itself (ONVIF notification), as received."""

    #: The camera's key in the audit (filing id, else target id).
    camera: str
    target_id: str = ""
    #: The topic as the camera wrote it (``tns1:VideoSource/GlobalSceneChange/...``).
    topic: str
    #: The ``State`` (or first) data item: ``true``/``false`` for tamper and motion.
    state: str = ""
    #: ``Initialized`` (the state when subscribing), ``Changed`` or ``Deleted``.
    operation: str = ""
    #: The camera's own time stamp (UtcTime), if it gave a valid one.
    utc_time: datetime | None = None
    #: When we received it (our clock).
    received_at: datetime
    #: Source items, e.g. ``VideoSourceConfigurationToken=VideoSourceConfig_1``.
    source: str = ""
    #: Who received it: ``monitor`` (``devmgr monitor --events``) or ``audit``.
    via: str = ""


def tamper_summary(events: list[CameraEvent]) -> str:
    """What the camera said about its own view, in one line: per topic its last state, and
    whether it was ever true in these events (``GlobalSceneChange: true (since 10:02:11,
    monitor)``; ``ImageTooBlurry: false``)."""
    last: dict[str, CameraEvent] = {}
    raised: dict[str, CameraEvent] = {}
    for event in sorted(events, key=lambda e: e.received_at):
        name = event.topic.split("/")[1].rpartition(":")[2] if "/" in event.topic \
            else event.topic
        last[name] = event
        if event.state.lower() == "true":
            raised.setdefault(name, event)
    parts = []
    for name, event in sorted(last.items()):
        words = f"{name}: {event.state or '?'}"
        first = raised.get(name)
        if first is not None:
            at = (first.utc_time or first.received_at).isoformat(timespec="seconds")
            words += f" (true at {at}, {first.via})"
        parts.append(words)
    return "; ".join(parts)
