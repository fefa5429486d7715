"""Imaging service (timg): the settings a field engineer checks (IR cut, exposure, focus)."""

from __future__ import annotations

from typing import Any

from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services.media import VIDEO_SOURCE

ROUTES = Routes("imaging")


@ROUTES.operation("GetImagingSettings", Access.READ_MEDIA)
def get_imaging_settings(ctx: Context, request: Any) -> dict[str, Any]:
    if request.VideoSourceToken != VIDEO_SOURCE:
        raise sender_fault(f"no video source {request.VideoSourceToken!r}", "ter:InvalidArgVal",
                           "ter:NoSource")
    return {"ImagingSettings": {
        "BacklightCompensation": {"Mode": "OFF"},
        "Brightness": 50.0, "ColorSaturation": 50.0, "Contrast": 50.0, "Sharpness": 50.0,
        "Exposure": {"Mode": "AUTO"},
        "Focus": {"AutoFocusMode": "AUTO"},
        "IrCutFilter": "AUTO",
        "WideDynamicRange": {"Mode": "OFF"},
        "WhiteBalance": {"Mode": "AUTO"},
    }}
