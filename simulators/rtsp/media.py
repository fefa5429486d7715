"""A live stream: one encoder shared by every session playing it, running only while one does.

:class:`LiveStream` owns nothing while idle: no task, no thread, no encoder. The first
subscriber starts a task that paces pictures at the effective frame rate and hands each to a
single worker thread, which takes a picture from the frame source, encodes and packetizes it;
the task then gives the payloads to each :class:`Subscriber`, which puts its own RTP header on
them, and sends a big frame in bursts spread over half a frame period. When the last
subscriber leaves, the task ends and the encoder is closed.

A new subscriber asks for a keyframe and receives nothing before one, so its decoder starts
clean; one whose connection backs up skips frames until the next keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from camfleet.protocols import rtp_jpeg
from camfleet.protocols.rtp import build_rtp_packet, packetize_h264, split_annexb
from camfleet.protocols.sdp import (
    H264_PAYLOAD_TYPE,
    JPEG_PAYLOAD_TYPE,
    MediaDescription,
    h264_media,
    jpeg_media,
)
from simulators.rtsp.config import StreamConfig
from simulators.rtsp.encoder import Encoder, EncoderError, h264_parameter_sets
from simulators.rtsp.faults import EffectiveStream, EncoderSettings

log = logging.getLogger(__name__)

#: Returns the current picture as a BGR ``uint8`` array (any size; it is scaled). Called on
#: the stream's worker thread, at most at the stream's frame rate, only while someone plays.
FrameSource = Callable[[], np.ndarray]
#: The RTP clock of video (RFC 3551 §5): 90 kHz.
CLOCK_RATE = 90000
#: The control URL of the stream's one track, relative to the Content-Base.
TRACK = "track1"
#: Packets sent back to back before a pause; a frame of more is spread over half a period.
PACKETS_PER_BURST = 32


class RtpSink(Protocol):
    """Where one session's RTP packets go (a UDP destination or an interleaved channel)."""

    def backlog(self) -> int:
        """Bytes queued and not yet sent."""
        ...

    def send(self, packets: Sequence[bytes]) -> None: ...


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    payloads: list[bytes]
    keyframe: bool
    payload_type: int
    #: RTP time of the picture (90 kHz, wrapping), before a subscriber's offset.
    timestamp: int


@dataclass(eq=False, slots=True)
class Subscriber:
    """One session's view of a stream: its SSRC, sequence numbers and timestamp offset."""

    sink: RtpSink
    max_backlog: int
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    sequence: int = field(default_factory=lambda: random.getrandbits(16))
    offset: int = field(default_factory=lambda: random.getrandbits(32))
    waiting_for_keyframe: bool = True
    frames_sent: int = 0
    frames_dropped: int = 0

    def packets_for(self, frame: EncodedFrame) -> list[bytes]:
        """This subscriber's RTP packets of ``frame``; none while it waits for a keyframe."""
        if self.waiting_for_keyframe and not frame.keyframe:
            return []
        if self.sink.backlog() > self.max_backlog:
            # Sending part of a frame would corrupt every picture up to the next keyframe.
            self.waiting_for_keyframe = True
            self.frames_dropped += 1
            return []
        self.waiting_for_keyframe = False
        last = len(frame.payloads) - 1
        timestamp = frame.timestamp + self.offset
        packets = [build_rtp_packet(frame.payload_type, self.sequence + i, timestamp, self.ssrc,
                                    payload, marker=i == last)
                   for i, payload in enumerate(frame.payloads)]
        self.sequence = (self.sequence + len(packets)) & 0xFFFF
        self.frames_sent += 1
        return packets

    def rtp_time(self, now: float) -> int:
        """This subscriber's RTP time at loop time ``now`` (for RTP-Info)."""
        return (int(now * CLOCK_RATE) + self.offset) & 0xFFFFFFFF


class _Producer:
    """The worker thread's side: the frame source, the encoder and the held picture."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self._encoder: Encoder | None = None
        self._held: np.ndarray | None = None
        self._source_failed = False

    @property
    def encoder_open(self) -> bool:
        return self._encoder is not None

    def produce(self, effective: EffectiveStream, keyframe: bool,
                timestamp: int) -> EncodedFrame | None:
        settings = effective.settings
        # A local reference: the previous run's worker may still close the producer (it
        # ends when the last player leaves) while a new player's run encodes.
        encoder = self._encoder
        if encoder is None or encoder.settings != settings:
            encoder = self._encoder = Encoder(settings)
            keyframe = True
        image = self._picture(effective)
        payloads: list[bytes] = []
        is_key = False
        for data, key in encoder.encode(image, keyframe=keyframe):
            is_key = is_key or key
            if settings.codec == "H264":
                payloads += packetize_h264(split_annexb(data))
            else:
                payloads += rtp_jpeg.packetize_jpeg(rtp_jpeg.parse_jpeg(data))
        if not payloads:
            return None
        payload_type = H264_PAYLOAD_TYPE if settings.codec == "H264" else JPEG_PAYLOAD_TYPE
        return EncodedFrame(payloads, is_key or settings.codec == "JPEG", payload_type,
                            timestamp)

    def _picture(self, effective: EffectiveStream) -> np.ndarray:
        s = effective.settings
        if effective.picture == "black":
            return np.zeros((s.height, s.width, 3), np.uint8)
        if effective.picture == "frozen" and self._held is not None:
            return self._held
        try:
            image = self._source()
        except Exception:  # the camera's renderer failing must not end the stream
            if not self._source_failed:
                log.exception("frame source failed; sending black until it recovers")
            self._source_failed = True
            return np.zeros((s.height, s.width, 3), np.uint8)
        self._source_failed = False
        self._held = image
        return image

    def close(self) -> None:
        self._encoder = None  # PyAV frees the codec context with its last reference


class LiveStream:
    """One configured stream, its subscribers and (while they exist) its encoding task."""

    def __init__(self, config: StreamConfig, source: FrameSource,
                 effective: Callable[[], EffectiveStream]) -> None:
        self.config = config
        self._effective = effective
        self._producer = _Producer(source)
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._keyframe_wanted = False
        self._parameter_sets: dict[EncoderSettings, tuple[bytes, bytes]] = {}
        self.frames_encoded = 0

    @property
    def encoding(self) -> bool:
        """Is an encoder open (a client plays, or the last one left a moment ago)?"""
        return self._producer.encoder_open or (self._task is not None and not self._task.done())

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def describe(self) -> MediaDescription:
        """The SDP media section, with the parameter sets the current settings produce."""
        effective = self._effective()
        if effective.settings.codec == "JPEG":
            return jpeg_media(control=TRACK, framerate=effective.settings.fps)
        sets = self._parameter_sets.get(effective.settings)
        if sets is None:
            sets = await asyncio.to_thread(h264_parameter_sets, effective.settings)
            if len(self._parameter_sets) > 8:  # faults come and go; keep the cache small
                self._parameter_sets.clear()
            self._parameter_sets[effective.settings] = sets
        return h264_media(*sets, control=TRACK, framerate=effective.settings.fps)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)
        self._keyframe_wanted = True
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rtsp-stream-{self.config.token}")

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if not self._subscribers:
            self._wake.set()

    async def aclose(self) -> None:
        self._subscribers.clear()
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        worker = ThreadPoolExecutor(1, thread_name_prefix=f"rtsp-{self.config.token}")
        next_at = loop.time()
        try:
            while self._subscribers:
                effective = self._effective()
                now = loop.time()
                if now < next_at:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(next_at - now):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
                    continue
                period = 1.0 / effective.settings.fps
                # Stamped with the tick it was due at, so timestamps are regular. A tick late
                # by a whole period is not made up for: pictures are skipped, as an
                # overloaded camera does, rather than sent in a burst.
                tick = next_at if now - next_at < period else now
                next_at = tick + period
                keyframe, self._keyframe_wanted = self._keyframe_wanted, False
                timestamp = int(tick * CLOCK_RATE) & 0xFFFFFFFF
                frame = await self._encode(loop, worker, effective, keyframe, timestamp)
                if frame is None:
                    continue
                self.frames_encoded += 1
                await self._deliver(frame, period)
        finally:
            # Closed on the worker thread, after any picture still being encoded there.
            worker.submit(self._producer.close)
            worker.shutdown(wait=False)

    async def _deliver(self, frame: EncodedFrame, period: float) -> None:
        """Send ``frame`` to every subscriber, a keyframe's burst spread over half a period.

        A 1080p keyframe is a few hundred datagrams; sent at once it overflows the default
        receive buffer of a player that is just starting (FFmpeg's), which then shows a
        corrupt picture. Cameras pace their packets too.
        """
        batches = [(s.sink, packets) for s in list(self._subscribers)
                   if (packets := s.packets_for(frame))]
        chunks = -(-len(frame.payloads) // PACKETS_PER_BURST)
        for index in range(chunks):
            if index:
                await asyncio.sleep(period / 2 / chunks)
            window = slice(index * PACKETS_PER_BURST, (index + 1) * PACKETS_PER_BURST)
            for sink, packets in batches:
                sink.send(packets[window])

    async def _encode(self, loop: asyncio.AbstractEventLoop, worker: ThreadPoolExecutor,
                      effective: EffectiveStream, keyframe: bool,
                      timestamp: int) -> EncodedFrame | None:
        try:
            return await loop.run_in_executor(worker, self._producer.produce, effective,
                                              keyframe, timestamp)
        except (EncoderError, rtp_jpeg.UnsupportedJpeg) as exc:
            log.error("stream %s: %s", self.config.token, exc)
        except Exception:  # a bug here must cost this picture, not every client's stream
            log.exception("stream %s: encoding failed", self.config.token)
        await asyncio.sleep(1.0)  # do not spin on a broken encoder
        return None
