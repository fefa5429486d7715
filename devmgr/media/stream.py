"""A camera's RTSP stream as a field team's player sees it: FFmpeg's RTSP client through PyAV.

:func:`sample_stream` plays a stream for a few seconds and reports what was decoded: codec,
picture size, the time to the first decoded picture, the frame rate by the pictures'
timestamps, the bitrate, and whether the picture changed (a live camera's on-screen clock
does; a frozen pipeline's does not). It blocks: call it in a thread from async code. The
acceptance suite (``hil``) and the audit (:mod:`devmgr.media.liveness`) both play streams
with it, so they judge a picture the same way.

The URI and everything the stream carries come from the device: only ``rtsp://`` is played
(FFmpeg would open a ``file:`` or ``http:`` URI as readily), FFmpeg may not switch to other
protocols, time is bounded, and a picture larger than :data:`MAX_PIXELS` stops the play.
Failures are a :class:`StreamError` with the :class:`~camfleet.errors.ErrorKind` of why.

    sample = sample_stream("rtsp://127.0.0.1:554/Streaming/Channels/101", "admin", "pw")
    sample.codec, sample.width, sample.fps
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import quote, urlsplit, urlunsplit

import numpy as np

from camfleet.errors import ErrorKind

__all__ = ["BLACK_LUMA", "LIVE_SPAN_S", "MAX_PIXELS", "StreamError", "StreamSample",
           "sample_stream", "with_credentials"]

#: Two pictures differ when, in some 8x8 block, they differ by more than CHANGE_LEVEL grey
#: levels on average: a changed digit of a burnt-in clock does, while an encoder refining an
#: unchanged picture from one frame to the next moves a block's mean by a few levels.
CHANGE_LEVEL = 35.0
BLOCK = 8
#: Timestamps must span this long for liveness to be judged (a burnt-in clock ticks each second).
LIVE_SPAN_S = 1.5
#: Mean luma (0..255) at or below which a picture is black (video black is 16).
BLACK_LUMA = 20.0
#: Largest picture analysed: 8K (7680 x 4320) and then some. Beyond it, a claimed size is a
#: device's lie, not a picture (and would cost memory to look at).
MAX_PIXELS = 8192 * 8192
#: What FFmpeg may speak for an RTSP stream, and nothing else.
PROTOCOLS = "rtsp,rtp,udp,tcp"


class StreamError(RuntimeError):
    """The stream could not be played: refused, unauthorized, or no picture decoded.
    ``kind`` says why, as for any other exchange with a camera."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.PROTOCOL) -> None:
        super().__init__(message)
        self.kind = kind


def _kind_of(exc: Exception) -> ErrorKind:
    """FFmpeg's error, in camfleet's classification."""
    import av  # noqa: PLC0415

    if isinstance(exc, ConnectionRefusedError):
        return ErrorKind.UNREACHABLE
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return ErrorKind.AUTH
    if isinstance(exc, TimeoutError | av.error.ExitError):  # ExitError: our timeout fired
        return ErrorKind.TIMEOUT
    if isinstance(exc, ConnectionResetError | BrokenPipeError | av.error.EOFError):
        return ErrorKind.DISCONNECTED
    if isinstance(exc, OSError) and "unreachable" in str(exc).lower():
        return ErrorKind.UNREACHABLE
    return ErrorKind.PROTOCOL


@dataclass(frozen=True, slots=True)
class StreamSample:
    codec: str
    #: Size of the decoded pictures (what the encoder really sent).
    width: int
    height: int
    #: From the start of the RTSP exchange to the first decoded picture.
    first_frame_s: float
    frames: int
    #: Seconds between the first and the last picture, by their timestamps.
    span_s: float
    #: Pictures per second by their RTP timestamps (nan with fewer than two).
    fps: float
    #: Payload bitrate over the sampled pictures' timestamp span.
    bitrate_kbps: float
    #: Whether any picture differed from the first (a live picture changes).
    changed: bool
    #: Mean luma of the last picture, 0..255 (a black picture is ~16 or below).
    mean_luma: float


def _block_change(picture: np.ndarray, reference: np.ndarray) -> float:
    """The largest mean absolute difference of any BLOCK x BLOCK block."""
    rows, cols = picture.shape[0] // BLOCK, picture.shape[1] // BLOCK
    if not rows or not cols:
        return 0.0
    diff = np.abs(picture[:rows * BLOCK, :cols * BLOCK] - reference[:rows * BLOCK, :cols * BLOCK])
    return float(diff.reshape(rows, BLOCK, cols, BLOCK).mean(axis=(1, 3)).max())


def with_credentials(url: str, username: str, password: str) -> str:
    """``url`` with ``username:password@`` (percent-encoded) for FFmpeg's Digest login."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def sample_stream(url: str, username: str | None = None, password: str | None = None, *,
                  transport: str = "tcp", seconds: float = 3.0,
                  timeout_s: float = 10.0) -> StreamSample:
    """Play ``url`` for ``seconds`` after its first picture (at most ``timeout_s`` to get
    there) and report what was decoded. Raises :class:`StreamError` if nothing was."""
    import av  # noqa: PLC0415 (FFmpeg's libraries load only where a stream is played)

    if urlsplit(url).scheme.lower() != "rtsp":
        raise StreamError(f"{url[:200]!r}: not an rtsp:// URI (refused)")
    target = with_credentials(url, username, password or "") if username else url
    # No probing beyond the SDP (which names codec, size parameters and clock): the first
    # picture is decoded as soon as it arrives, as a viewer's player shows it.
    options = {"rtsp_transport": transport, "timeout": str(int(timeout_s * 1e6)),
               "analyzeduration": "0", "probesize": "32768",
               "protocol_whitelist": PROTOCOLS}
    started = time.monotonic()
    first_at: float | None = None
    pts: list[float] = []
    payload = 0
    first: np.ndarray | None = None
    last: np.ndarray | None = None
    changed = False
    size = (0, 0)
    try:
        with av.open(target, options=options, timeout=timeout_s) as container:
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            time_base = stream.time_base or Fraction(1, 90000)
            for packet in container.demux(stream):
                if time.monotonic() - started > timeout_s + seconds:
                    break
                for frame in packet.decode():
                    if frame.pts is None:  # FFmpeg's RTP demuxer: first packet unstamped
                        continue
                    if frame.width * frame.height > MAX_PIXELS:
                        raise StreamError(f"{url}: a {frame.width}x{frame.height} picture "
                                          f"(more than {MAX_PIXELS} pixels: refused)")
                    now = time.monotonic()
                    if first_at is None:
                        first_at = now
                    else:
                        payload += packet.size
                    pts.append(float(frame.pts * time_base))
                    grey = frame.to_ndarray(format="gray").astype(np.int16)
                    size = (frame.width, frame.height)
                    if first is None:
                        first = grey
                    elif not changed and grey.shape == first.shape:
                        changed = _block_change(grey, first) > CHANGE_LEVEL
                    last = grey
                if first_at is not None and time.monotonic() - first_at >= seconds:
                    break
    except av.FFmpegError as exc:
        raise StreamError(f"{url}: {exc}", _kind_of(exc)) from exc
    if first_at is None or last is None:
        raise StreamError(f"{url}: no picture decoded within {timeout_s:g} s")
    span = pts[-1] - pts[0] if len(pts) > 1 else 0.0
    return StreamSample(
        codec=codec, width=size[0], height=size[1], first_frame_s=first_at - started,
        frames=len(pts), span_s=span, fps=(len(pts) - 1) / span if span > 0 else float("nan"),
        bitrate_kbps=payload * 8 / span / 1000 if span > 0 else float("nan"),
        changed=changed, mean_luma=float(last.mean()))
