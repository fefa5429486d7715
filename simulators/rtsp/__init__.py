"""RTSP streaming for simulated cameras: live H.264 or JPEG over RTP, encoded only while played.

One :class:`RtspServer` per camera serves a stream per media profile (:class:`StreamConfig`)
from a frame source, the camera's renderer; stream faults (:mod:`simulators.rtsp.faults`) are
data set with :meth:`RtspServer.set_faults`.

    >>> import asyncio, numpy as np
    >>> async def main() -> None:
    ...     config = StreamConfig(token="Profile_1", path="/Streaming/Channels/101",
    ...                           width=640, height=360)
    ...     async with RtspServer("127.0.0.1") as server:
    ...         server.add_stream(config, lambda: np.zeros((360, 640, 3), np.uint8))
    ...         # ffprobe rtsp://127.0.0.1:<server.port>/Streaming/Channels/101
    ...         await server.set_faults([parse_stream_fault("black")])
    >>> asyncio.run(main())
"""

from simulators.faults import Black, Frozen, LowFps, StreamDown, WrongResolution
from simulators.rtsp.config import Codec, RtspLimits, StreamConfig
from simulators.rtsp.faults import AnyStreamFault, parse_stream_fault
from simulators.rtsp.media import FrameSource
from simulators.rtsp.server import RtspServer

__all__ = [
    "AnyStreamFault",
    "Black",
    "Codec",
    "FrameSource",
    "Frozen",
    "LowFps",
    "RtspLimits",
    "RtspServer",
    "StreamConfig",
    "StreamDown",
    "WrongResolution",
    "parse_stream_fault",
]
