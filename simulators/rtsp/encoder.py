"""Encoders for the streams: FFmpeg's libx264 and mjpeg through PyAV, one per playing stream.

Why PyAV in-process rather than an FFmpeg process per stream: the same libraries, without
piping raw pictures through a pipe (``bench/streams.py`` measures both). Each encoder runs on
one thread, so that 2 cores serve as many streams as possible instead of one stream faster,
and because FFmpeg's sliced MJPEG threads insert restart markers RFC 2435 receivers refuse.

Pictures arrive as BGR arrays of any size; they are scaled to the encoder's size and converted
to I420 with OpenCV, ten times cheaper than swscale's BGR path here.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
from av.codec.context import CodecContext, Flags
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType

from camfleet.protocols.rtp import split_annexb
from simulators.rtsp.faults import EncoderSettings

__all__ = ["Encoder", "EncoderError", "h264_parameter_sets", "to_i420"]

#: x264's cheapest preset; zerolatency: no B-frames or lookahead, one picture in, one out.
X264_OPTIONS = {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1",
                # SPS/PPS in front of every IDR too, for clients that join mid-stream.
                "x264-params": "repeat-headers=1"}

# JPEG is full-range (JFIF); OpenCV's I420 is video range (Y 16..235, C 16..240).
_FULL_RANGE_Y = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(np.uint8)
_FULL_RANGE_C = np.clip((np.arange(256) - 128) * 255.0 / 224.0 + 128.5, 0, 255).astype(np.uint8)


class EncoderError(RuntimeError):
    """The encoder could not be opened or refused a picture."""


def to_i420(image: np.ndarray, width: int, height: int, *, full_range: bool = False) -> np.ndarray:
    """A BGR picture scaled to ``width`` x ``height`` as one I420 plane array."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise EncoderError(f"expected a BGR uint8 picture, got {image.dtype} {image.shape}")
    if image.shape[1] != width or image.shape[0] != height:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    planes: np.ndarray = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
    if full_range:
        planes[:height] = cv2.LUT(planes[:height], _FULL_RANGE_Y)
        planes[height:] = cv2.LUT(planes[height:], _FULL_RANGE_C)
    return planes


def _open(settings: EncoderSettings, *, global_header: bool = False) -> VideoCodecContext:
    fps = Fraction(settings.fps).limit_denominator(1001)
    try:
        if settings.codec == "H264":
            ctx = CodecContext.create("libx264", "w")
            ctx.pix_fmt = "yuv420p"
            ctx.bit_rate = settings.bitrate_kbps * 1000
            ctx.gop_size = settings.gop_length
            ctx.options = dict(X264_OPTIONS)
            if global_header:
                ctx.flags |= Flags.global_header
        else:
            ctx = CodecContext.create("mjpeg", "w")
            ctx.pix_fmt = "yuvj420p"
            # FFmpeg's qscale 2 (best) .. 31; one fixed scale: camera MJPEG has no rate control.
            qscale = str(round(31 - (settings.jpeg_quality - 1) * 29 / 99))
            ctx.options = {"huffman": "default", "qmin": qscale, "qmax": qscale}
        ctx.width, ctx.height = settings.width, settings.height
        ctx.time_base = 1 / fps
        ctx.framerate = fps
        ctx.thread_count = 1
        ctx.open()
    except av.FFmpegError as exc:
        raise EncoderError(f"cannot open the {settings.codec} encoder: {exc}") from exc
    return ctx


def h264_parameter_sets(settings: EncoderSettings) -> tuple[bytes, bytes]:
    """The SPS and PPS an encoder with these settings emits (for SDP sprop-parameter-sets).

    x264 writes them deterministically from its settings, so an encoder opened only to read
    its global header gives the ones the live encoder will send in-band.
    """
    ctx = _open(settings, global_header=True)
    nals = split_annexb(bytes(ctx.extradata or b""))
    sps = next((nal for nal in nals if nal[0] & 0x1F == 7), None)
    pps = next((nal for nal in nals if nal[0] & 0x1F == 8), None)
    if sps is None or pps is None:
        raise EncoderError("libx264 gave no SPS/PPS in its global header")
    return sps, pps


class Encoder:
    """One stream's encoder: BGR pictures in, encoded frames (Annex B or JPEG) out.

    Not thread-safe: one thread at a time (the stream's worker) calls :meth:`encode`.
    """

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings
        self._ctx = _open(settings)
        self._pts = 0

    def encode(self, image: np.ndarray, *, keyframe: bool = False) -> list[tuple[bytes, bool]]:
        """(bitstream, is keyframe) of what the encoder gives back for this picture."""
        s = self.settings
        planes = to_i420(image, s.width, s.height, full_range=s.codec == "JPEG")
        frame = av.VideoFrame.from_ndarray(planes, format=self._ctx.pix_fmt or "yuv420p")
        frame.pts = self._pts
        self._pts += 1
        if keyframe:
            frame.pict_type = PictureType.I
        try:
            packets = self._ctx.encode(frame)
        except av.FFmpegError as exc:
            raise EncoderError(f"{s.codec} encoder refused a picture: {exc}") from exc
        return [(bytes(packet), bool(packet.is_keyframe)) for packet in packets]
