"""Recording service (trc): what Art. 16(5) of the regulation cares about, retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, Routes

ROUTES = Routes("recording")


def recording_configuration(ctx: Context) -> dict[str, Any]:
    spec = ctx.state.spec
    return {
        "Source": {"SourceId": ctx.xaddr("device"), "Name": spec.location.name or spec.id,
                   "Location": spec.location.address, "Description": spec.identity.model,
                   "Address": ctx.xaddr("device")},
        "Content": "continuous",
        "MaximumRetentionTime": timedelta(days=spec.recording.retention_days),
    }


def _tracks() -> dict[str, Any]:
    return {"Track": [{"TrackToken": "VIDEO001",
                       "Configuration": {"TrackType": "Video", "Description": "main video"}}]}


@ROUTES.operation("GetRecordings", Access.READ_MEDIA)
def get_recordings(ctx: Context, request: Any) -> dict[str, Any]:
    return {"RecordingItem": [{
        "RecordingToken": ctx.state.spec.recording.recording_token,
        "Configuration": recording_configuration(ctx),
        "Tracks": _tracks(),
    }]}


@ROUTES.operation("GetRecordingConfiguration", Access.READ_MEDIA)
def get_recording_configuration(ctx: Context, request: Any) -> dict[str, Any]:
    if request.RecordingToken != ctx.state.spec.recording.recording_token:
        raise sender_fault(f"no recording {request.RecordingToken!r}", "ter:InvalidArgVal",
                           "ter:NoRecording")
    return {"RecordingConfiguration": recording_configuration(ctx)}
