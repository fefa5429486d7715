"""Stream configuration, stream faults as data, the encoders, and a live stream without sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from camfleet.protocols import rtp_jpeg
from camfleet.protocols.rtp import parse_rtp_packet, split_annexb
from simulators.faults import Latency
from simulators.rtsp import (
    Black,
    Frozen,
    LowFps,
    StreamConfig,
    StreamDown,
    WrongResolution,
    parse_stream_fault,
)
from simulators.rtsp.encoder import Encoder, h264_parameter_sets
from simulators.rtsp.faults import EffectiveStream, EncoderSettings, effective_stream
from simulators.rtsp.media import LiveStream, Subscriber

MAIN = StreamConfig(token="Profile_1", path="/Streaming/Channels/101")
SUB = StreamConfig(token="Profile_2", path="/Streaming/Channels/102", codec="JPEG",
                   width=640, height=360, fps=10)


# -- configuration and faults --------------------------------------------------------------------
@pytest.mark.parametrize(("update", "message"), [
    ({"codec": "JPEG", "width": 1921}, "multiples of 8"),
    ({"codec": "JPEG", "width": 2560, "height": 1440}, "2040"),
    ({"width": 641}, "even"),
    ({"path": "/a/"}, "trailing"),
    ({"path": "/a//b"}, "empty segment"),
    ({"path": "no-slash"}, "pattern"),
    ({"fps": 0}, "greater than 0"),
])
def test_configs_a_stream_cannot_carry_are_refused(update: dict[str, object],
                                                   message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StreamConfig.model_validate({**MAIN.model_dump(), **update})


def test_no_fault_is_the_configured_stream_and_clearing_restores_it() -> None:
    configured = EffectiveStream(EncoderSettings.of(MAIN))
    assert effective_stream(MAIN, []) == configured
    assert effective_stream(MAIN, [Black(), LowFps(fps=2)]) != configured
    assert effective_stream(MAIN, []) == configured
    # Faults of other families do not touch the stream.
    assert effective_stream(MAIN, [Latency(ms=100), StreamDown()]) == configured


def test_faults_fold_into_the_effective_stream() -> None:
    folded = effective_stream(MAIN, [Frozen(), Black(), LowFps(fps=5), LowFps(fps=30)])
    assert folded.picture == "black"  # black wins over frozen, whatever the order
    assert effective_stream(MAIN, [Black(), Frozen()]).picture == "black"
    assert folded.settings.fps == 5  # the lowest rate; never above the configured one
    assert effective_stream(MAIN, [LowFps(fps=50)]).settings.fps == MAIN.fps


def test_wrong_resolution_halves_or_sets_a_size_the_codec_can_carry() -> None:
    assert effective_stream(MAIN, [WrongResolution()]).settings.width == 960
    assert effective_stream(MAIN, [WrongResolution()]).settings.height == 540
    jpeg = effective_stream(SUB, [WrongResolution()]).settings
    assert (jpeg.width, jpeg.height) == (320, 176)  # 180 is no multiple of 8
    custom = effective_stream(SUB, [WrongResolution(width=333, height=250)]).settings
    assert (custom.width, custom.height) == (328, 248)


def test_faults_can_name_the_streams_they_hit() -> None:
    only_sub = [Black(streams=("Profile_2",))]
    assert effective_stream(MAIN, only_sub).picture == "live"
    assert effective_stream(SUB, only_sub).picture == "black"


def test_stream_faults_parse_from_data() -> None:
    assert parse_stream_fault("frozen") == Frozen()
    assert parse_stream_fault({"kind": "wrong_resolution", "width": 352, "height": 288}) == \
        WrongResolution(width=352, height=288)
    for bad in ({"kind": "low_fps", "fps": 0}, {"kind": "melted"}, {"kind": "black", "x": 1}):
        with pytest.raises(ValidationError):
            parse_stream_fault(bad)


# -- encoders ------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_sdp_parameter_sets_are_the_ones_sent_in_band(size: tuple[int, int]) -> None:
    settings = EncoderSettings("H264", size[0], size[1], 25.0, 1024, 50, 75)
    sps, pps = h264_parameter_sets(settings)
    encoder = Encoder(settings)
    [(data, keyframe)] = encoder.encode(np.full((size[1], size[0], 3), 90, np.uint8))
    assert keyframe
    nals = split_annexb(data)
    assert sps in nals
    assert pps in nals
    [(later, _)] = encoder.encode(np.zeros((100, 100, 3), np.uint8), keyframe=True)
    assert sps in split_annexb(later), "every IDR repeats the parameter sets"


def test_jpeg_encoder_makes_full_range_rfc_2435_jpegs() -> None:
    encoder = Encoder(EncoderSettings("JPEG", 320, 240, 10.0, 0, 1, 90))
    picture = np.zeros((480, 640, 3), np.uint8)
    picture[:, 320:] = 255
    [(data, keyframe)] = encoder.encode(picture)
    assert keyframe
    frame = rtp_jpeg.parse_jpeg(data)
    assert (frame.type, frame.width, frame.height) == (1, 320, 240)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    # JFIF is full range: black decodes to ~0 and white to ~255, not 16 and 235.
    assert decoded[:, :150].mean() < 4
    assert decoded[:, 170:].mean() > 251


def test_jpeg_quality_trades_size() -> None:
    picture = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 255, (240, 320, 3),
                                                                  dtype=np.uint8), (5, 5), 0)
    sizes = [len(Encoder(EncoderSettings("JPEG", 320, 240, 10.0, 0, 1, q)).encode(picture)[0][0])
             for q in (10, 50, 95)]
    assert sizes == sorted(sizes)
    assert sizes[2] > 2 * sizes[0]


# -- a live stream, without sockets ---------------------------------------------------------------
class Collector:
    """An RTP sink that keeps what it is sent, and when."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.sends: list[tuple[float, list[bytes]]] = []

    def backlog(self) -> int:
        return 0

    def send(self, packets: Sequence[bytes]) -> None:
        self.packets += packets
        self.sends.append((time.monotonic(), list(packets)))


def failing_source() -> np.ndarray:
    raise RuntimeError("renderer crashed")


async def play_for(seconds: float, config: StreamConfig, source: Callable[[], np.ndarray],
                   sink: Collector, *, max_backlog: int = 1 << 30) -> Subscriber:
    """Subscribe ``sink`` to a stream for ``seconds``, then close the stream."""
    stream = LiveStream(config, source, lambda: effective_stream(config, []))
    subscriber = Subscriber(sink, max_backlog)
    stream.subscribe(subscriber)
    await asyncio.sleep(seconds)
    await stream.aclose()
    return subscriber


async def test_a_failing_frame_source_gives_black_pictures_not_a_dead_stream() -> None:
    config = SUB.model_copy(update={"width": 160, "height": 120, "fps": 20})
    stream = LiveStream(config, failing_source, lambda: effective_stream(config, []))
    sink = Collector()
    subscriber = Subscriber(sink, max_backlog=1 << 20)
    stream.subscribe(subscriber)
    await asyncio.sleep(0.5)
    stream.unsubscribe(subscriber)
    assert subscriber.frames_sent >= 5
    headers = [parse_rtp_packet(p)[0] for p in sink.packets]
    assert {h.payload_type for h in headers} == {26}
    assert {h.ssrc for h in headers} == {subscriber.ssrc}
    sequence = [h.sequence for h in headers]
    assert sequence == [(sequence[0] + i) & 0xFFFF for i in range(len(sequence))]
    assert sum(h.marker for h in headers) == subscriber.frames_sent
    for _ in range(40):
        if not stream.encoding:
            break
        await asyncio.sleep(0.05)
    assert not stream.encoding
    await stream.aclose()


async def test_a_backed_up_client_skips_whole_frames() -> None:
    class Full(Collector):
        def backlog(self) -> int:
            return 10 << 20

    config = SUB.model_copy(update={"width": 160, "height": 120, "fps": 20})
    sink = Full()
    subscriber = await play_for(0.3, config, lambda: np.zeros((120, 160, 3), np.uint8), sink,
                                max_backlog=1 << 20)
    assert sink.packets == []
    assert subscriber.frames_dropped >= 3


async def test_a_big_frame_is_spread_over_half_a_period() -> None:
    # Noise does not compress: each 640x360 picture is some hundred RTP packets.
    config = SUB.model_copy(update={"jpeg_quality": 100, "fps": 5})
    rng = np.random.default_rng(2)
    sink = Collector()
    await play_for(0.5, config, lambda: rng.integers(0, 255, (360, 640, 3), dtype=np.uint8),
                   sink)
    frame: list[tuple[float, list[bytes]]] = []
    for when, packets in sink.sends:  # the first frame: up to its marker bit
        frame.append((when, packets))
        if parse_rtp_packet(packets[-1])[0].marker:
            break
    assert len(frame) >= 3
    assert all(len(packets) <= 32 for _, packets in frame)
    spread = frame[-1][0] - frame[0][0]
    period = 1 / config.fps
    assert period / 4 < spread < period
