"""Stream faults, declared as data, and the effective stream they leave.

Like the camera's other faults (:mod:`simulators.faults`), a stream fault is a small typed
record; :func:`effective_stream` folds the faults in force into what a stream actually sends,
so clearing them restores the configured stream exactly.

* ``stream_down``: the RTSP server refuses connections (the port is closed, sessions end).
* ``frozen``: the same picture is sent again and again at the configured rate.
* ``black``: black pictures.
* ``low_fps``: pictures at ``fps`` instead of the configured rate.
* ``wrong_resolution``: pictures of another size than the profile announces (half of it unless
  ``width``/``height`` say otherwise).

Per-stream faults may be limited to some profile tokens (``streams``).

    >>> from simulators.rtsp.faults import parse_stream_fault
    >>> parse_stream_fault({"kind": "low_fps", "fps": 2}).fps
    2.0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from simulators.fault_base import FaultBase
from simulators.faults import (
    Black,
    Frozen,
    LowFps,
    StreamDown,
    StreamFault,
    WrongResolution,
)
from simulators.rtsp.config import Codec, StreamConfig

Picture = Literal["live", "frozen", "black"]


AnyStreamFault = Annotated[StreamDown | Frozen | Black | LowFps | WrongResolution,
                           Field(discriminator="kind")]
STREAM_FAULT_ADAPTER: TypeAdapter[AnyStreamFault] = TypeAdapter(AnyStreamFault)


def parse_stream_fault(data: Any) -> AnyStreamFault:
    """Validate one stream fault from JSON/YAML data or a kind name."""
    if isinstance(data, str):
        data = {"kind": data}
    return STREAM_FAULT_ADAPTER.validate_python(data)


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    """What an encoder is opened with; a change means a new encoder (and a new SPS)."""

    codec: Codec
    width: int
    height: int
    fps: float
    bitrate_kbps: int
    gop_length: int
    jpeg_quality: int

    @classmethod
    def of(cls, config: StreamConfig) -> EncoderSettings:
        return cls(config.codec, config.width, config.height, config.fps, config.bitrate_kbps,
                   config.gop_length, config.jpeg_quality)


@dataclass(frozen=True, slots=True)
class EffectiveStream:
    settings: EncoderSettings
    picture: Picture = "live"


def refuses_connections(faults: Iterable[FaultBase]) -> bool:
    return any(isinstance(fault, StreamDown) for fault in faults)


def effective_stream(config: StreamConfig, faults: Iterable[FaultBase]) -> EffectiveStream:
    """What ``config``'s stream sends with these faults in force (others are ignored)."""
    settings = EncoderSettings.of(config)
    picture: Picture = "live"
    for fault in faults:
        if not isinstance(fault, StreamFault) or not fault.applies_to(config.token):
            continue
        if isinstance(fault, Frozen) and picture == "live":
            picture = "frozen"
        elif isinstance(fault, Black):
            picture = "black"
        elif isinstance(fault, LowFps):
            settings = replace(settings, fps=min(settings.fps, fault.fps))
        elif isinstance(fault, WrongResolution):
            width, height = _other_size(config, fault)
            settings = replace(settings, width=width, height=height)
    return EffectiveStream(settings, picture)


def _other_size(config: StreamConfig, fault: WrongResolution) -> tuple[int, int]:
    # Halved, then rounded down to what the codec can carry (RTP/JPEG: multiples of 8).
    step = 8 if config.codec == "JPEG" else 2
    width = fault.width or config.width // 2
    height = fault.height or config.height // 2
    return max(step * 2, width // step * step), max(step * 2, height // step * step)
