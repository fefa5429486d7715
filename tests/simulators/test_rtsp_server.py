"""The simulated cameras' RTSP server, end to end, driven by independent clients.

FFmpeg's ffprobe/ffmpeg (the command-line tools) and PyAV (FFmpeg's libraries) play the
streams: DESCRIBE/SETUP/PLAY over UDP and TCP, with and without Digest; the decoded pictures
show the configured codec, size and rate, and each stream fault. A raw socket speaks the
hostile requests and the silent client, which no well-behaved player would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import av
import numpy as np
import pytest

from camfleet.protocols import rtsp, sdp
from camfleet.protocols.rtp import parse_rtp_packet
from simulators.rtsp import (
    Black,
    Frozen,
    LowFps,
    RtspLimits,
    RtspServer,
    StreamConfig,
    StreamDown,
    WrongResolution,
)
from tests.simulators.helpers import refuses_connections

FFPROBE = shutil.which("ffprobe")
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(
    FFPROBE is None or FFMPEG is None,
    reason="FFmpeg's ffprobe and ffmpeg are the independent RTSP clients: apt-get install ffmpeg")

H264 = StreamConfig(token="Profile_1", path="/Streaming/Channels/101", codec="H264",
                    width=320, height=240, fps=25, bitrate_kbps=400)
JPEG = StreamConfig(token="Profile_2", path="/Streaming/Channels/102", codec="JPEG",
                    width=320, height=240, fps=10, jpeg_quality=60)
CONFIGS = {"H264": H264, "JPEG": JPEG}
USERS = {"admin": "Sup3r-secret"}


class MovingBar:
    """A bright picture with a red bar that moves with wall time: every picture differs."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        self._base = np.full((height, width, 3), 200, np.uint8)
        self._width = width

    def __call__(self) -> np.ndarray:
        image = self._base.copy()
        x = int(time.monotonic() * 300) % (self._width - 64)
        image[:, x:x + 64] = (0, 0, 255)
        return image


@contextlib.asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[RtspServer]:
    server = RtspServer("127.0.0.1", **options)
    for config in CONFIGS.values():
        server.add_stream(config, MovingBar())
    async with server:
        yield server


@pytest.fixture
async def server() -> AsyncIterator[RtspServer]:
    async with serving() as running:
        yield running


def url(server: RtspServer, codec: str = "H264", credentials: str = "") -> str:
    plain = server.url(CONFIGS[codec].token)
    return plain.replace("rtsp://", f"rtsp://{credentials}@") if credentials else plain


# -- independent clients ---------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """What ffprobe reports: exit code, the video stream, the pictures it decoded, errors."""

    code: int
    stream: dict[str, Any]
    frames: list[dict[str, Any]]
    errors: str


async def ffprobe(stream_url: str, transport: str = "udp") -> Probe:
    """ffprobe's view of the stream and of its first pictures, decoded (not just announced)."""
    assert FFPROBE is not None
    process = await asyncio.create_subprocess_exec(
        FFPROBE, "-v", "error", "-rtsp_transport", transport, "-timeout", "5000000",
        "-select_streams", "v:0", "-read_intervals", "%+#5",
        "-show_entries", "stream=codec_name,width,height:frame=width,height",
        "-of", "json", stream_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    report = json.loads(out or b"{}")
    streams = report.get("streams") or [{}]
    return Probe(process.returncode or 0, streams[0], report.get("frames", []), err.decode())


@dataclass(frozen=True)
class Decoded:
    wall: float  # monotonic time the picture was decoded
    pts: float  # its presentation time, from the RTP timestamps
    image: np.ndarray


def decode(stream_url: str, *, transport: str = "tcp", seconds: float = 2.5,
           frames: int = 10_000) -> list[Decoded]:
    """Pictures PyAV decodes from the stream, for ``seconds`` or ``frames``, whichever first."""
    options = {"rtsp_transport": transport, "timeout": "5000000"}
    result: list[Decoded] = []
    with av.open(stream_url, options=options, timeout=10.0) as container:
        stream = container.streams.video[0]
        started = time.monotonic()
        for frame in container.decode(stream):
            if frame.pts is None:  # FFmpeg's RTP demuxer: the first packet has no timestamp
                continue
            result.append(Decoded(time.monotonic(), float(frame.pts * stream.time_base),
                                  frame.to_ndarray(format="bgr24")))
            if len(result) >= frames or time.monotonic() - started > seconds:
                break
    return result


def rate_by_timestamps(pictures: list[Decoded]) -> float:
    return (len(pictures) - 1) / (pictures[-1].pts - pictures[0].pts)


def rate_by_wall_clock(pictures: list[Decoded]) -> float:
    # The first half second is the player's probing: it buffers, then decodes in a burst.
    steady = [p for p in pictures if p.wall - pictures[0].wall > 0.5]
    return (len(steady) - 1) / (steady[-1].wall - steady[0].wall)


class RawClient:
    """Our own codec on a bare connection: for what no well-behaved player sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._messages = rtsp.MessageReader()
        self._pending: list[rtsp.RawMessage | rtsp.InterleavedFrame] = []
        self.cseq = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, port: int) -> AsyncIterator[RawClient]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()

    async def send(self, data: bytes) -> rtsp.Response:
        self._writer.write(data)
        return await self.response()

    async def request(self, method: str, uri: str, *headers: tuple[str, str],
                      body: bytes = b"") -> rtsp.Response:
        self.cseq += 1
        return await self.send(rtsp.build_request(method, uri, self.cseq, headers, body))

    def send_interleaved(self, channel: int, packet: bytes) -> None:
        self._writer.write(rtsp.frame_interleaved(channel, packet))

    async def response(self) -> rtsp.Response:
        async with asyncio.timeout(10):
            while True:
                for item in self._pending:
                    if isinstance(item, rtsp.RawMessage):
                        self._pending.remove(item)
                        return rtsp.parse_response(item)
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                self._pending += self._messages.feed(data)

    async def closed_by_server(self) -> bool:
        try:
            async with asyncio.timeout(5):
                while await self._reader.read(65536):
                    pass
        except (TimeoutError, ConnectionError):
            return False
        return True


class Played(NamedTuple):
    session: str
    #: The server's RTP and RTCP ports.
    server_port: tuple[int, int]


async def play_udp(client: RawClient, stream_url: str, rtp_port: int) -> Played:
    """DESCRIBE, SETUP (UDP to ``rtp_port``) and PLAY."""
    described = await client.request("DESCRIBE", stream_url)
    assert described.status == 200
    control = sdp.parse_sdp(described.body).media[0].control
    setup = await client.request(
        "SETUP", f"{stream_url}/{control}",
        ("Transport", f"RTP/AVP;unicast;client_port={rtp_port}-{rtp_port + 1}"))
    assert setup.status == 200, setup
    (transport,) = rtsp.parse_transport(setup.headers.get("Transport") or "")
    assert transport.server_port is not None
    session, timeout = rtsp.parse_session(setup.headers.get("Session") or "")
    assert timeout is not None
    played = await client.request("PLAY", stream_url, ("Session", session))
    assert played.status == 200
    return Played(session, transport.server_port)


@contextlib.contextmanager
def udp_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        yield sock


@contextlib.contextmanager
def udp_port_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """RTP and RTCP sockets on consecutive ports, as a player binds them."""
    for _ in range(50):
        with udp_socket() as rtp_socket:
            port = rtp_socket.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtcp_socket:
                try:
                    rtcp_socket.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                yield rtp_socket, rtcp_socket
                return
    raise OSError("no two consecutive free UDP ports")


#: An RTCP receiver report (RFC 3550 §6.4.2) without report blocks.
RECEIVER_REPORT = bytes.fromhex("80c90001") + (0x1234).to_bytes(4, "big")


async def receive_rtp(sock: socket.socket, seconds: float) -> list[bytes]:
    loop = asyncio.get_running_loop()
    packets: list[bytes] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                packets.append(await loop.sock_recv(sock, 65536))
    return packets


def rtsp_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rtsp-")]


async def eventually(condition: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


# -- what a player sees --------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("codec", ["H264", "JPEG"])
async def test_ffprobe_sees_the_configured_codec_and_size(server: RtspServer, codec: str,
                                                          transport: str) -> None:
    probe = await ffprobe(url(server, codec), transport)
    assert (probe.code, probe.errors) == (0, "")
    expected = {"H264": "h264", "JPEG": "mjpeg"}[codec]
    stream = probe.stream
    assert (stream["codec_name"], stream["width"], stream["height"]) == (expected, 320, 240)
    assert probe.frames, "ffprobe should decode pictures, not only read the SDP"
    assert {(f["width"], f["height"]) for f in probe.frames} == {(320, 240)}


@pytest.mark.parametrize(("codec", "transport"), [("H264", "tcp"), ("JPEG", "udp")])
async def test_pyav_decodes_live_pictures_at_the_configured_rate(server: RtspServer, codec: str,
                                                                 transport: str) -> None:
    pictures = await asyncio.to_thread(decode, url(server, codec), transport=transport)
    fps = CONFIGS[codec].fps
    assert len(pictures) > fps
    assert {p.image.shape for p in pictures} == {(240, 320, 3)}
    assert rate_by_timestamps(pictures) == pytest.approx(fps, rel=0.15)
    assert rate_by_wall_clock(pictures) == pytest.approx(fps, rel=0.25)
    moving = [np.abs(a.image.astype(int) - b.image.astype(int)).max() > 60
              for a, b in itertools.pairwise(pictures)]
    assert sum(moving) > 0.8 * len(moving), "the live picture should change from frame to frame"
    red = pictures[-1].image[:, :, 2].astype(int) - pictures[-1].image[:, :, 1]
    assert red.max() > 150, "the moving red bar should survive encoding"


async def test_digest_is_required_and_checked() -> None:
    async with serving(credentials=lambda: USERS) as server:
        for credentials in ("", "admin:wrong", "nobody:Sup3r-secret"):
            refused = await ffprobe(url(server, credentials=credentials))
            assert refused.code != 0
            assert "401" in refused.errors
        probe = await ffprobe(url(server, credentials="admin:Sup3r-secret"), "tcp")
        assert (probe.code, probe.errors) == (0, "")
        assert probe.frames

        async with RawClient.connect(server.port) as client:
            assert (await client.request("OPTIONS", url(server))).status == 200
            refused = await client.request("DESCRIBE", url(server))
            assert refused.status == 401
            challenge = refused.headers.get("WWW-Authenticate") or ""
            assert challenge.startswith("Digest ")
            assert "algorithm=MD5" in challenge
            assert 'qop="auth"' in challenge


async def test_a_client_joining_a_running_stream_starts_at_once_on_a_keyframe() -> None:
    # An IDR only every 10 s: without a forced keyframe the second player would wait for it.
    slow_gop = H264.model_copy(update={"gop_length": 250})
    server = RtspServer("127.0.0.1")
    server.add_stream(slow_gop, MovingBar())
    async with server:
        first = asyncio.create_task(asyncio.to_thread(decode, url(server), seconds=4))
        await eventually(lambda: server.stream("Profile_1").frames_encoded > 30)
        started = time.monotonic()
        second = await asyncio.to_thread(decode, url(server), frames=1)
        assert second
        assert second[0].wall - started < 2.0
        assert server.encoders_running == 1, "both players share the stream's one encoder"
        await first


# -- encoding only while someone plays ----------------------------------------------------------
async def test_nothing_runs_while_nobody_plays(server: RtspServer) -> None:
    assert server.encoders_running == 0
    assert await eventually(lambda: rtsp_threads() == [])  # earlier tests' workers are gone
    cpu = time.process_time()
    await asyncio.sleep(1.0)
    assert time.process_time() - cpu < 0.05, "an idle server must cost no CPU"

    async with RawClient.connect(server.port) as client:  # a DESCRIBE opens no encoder
        assert (await client.request("DESCRIBE", url(server))).status == 200
    assert server.encoders_running == 0
    assert server.stream("Profile_1").frames_encoded == 0


async def test_encoding_stops_when_the_last_player_leaves(server: RtspServer) -> None:
    assert FFMPEG is not None
    player = await asyncio.create_subprocess_exec(
        FFMPEG, "-v", "error", "-rtsp_transport", "tcp", "-i", url(server), "-t", "2",
        "-f", "null", "-", stderr=asyncio.subprocess.PIPE)
    assert await eventually(lambda: server.encoders_running == 1, 10)
    # The encoder's thread starts with its first picture, a moment after the encoder.
    assert await eventually(lambda: len(rtsp_threads()) == 1, 10)
    _, err = await asyncio.wait_for(player.communicate(), 30)
    assert player.returncode == 0, err
    assert await eventually(lambda: server.encoders_running == 0 and server.sessions == 0)
    encoded = server.stream("Profile_1").frames_encoded
    assert encoded >= 40
    await asyncio.sleep(0.5)
    assert server.stream("Profile_1").frames_encoded == encoded
    assert await eventually(lambda: rtsp_threads() == [])


async def test_a_silent_udp_client_times_out_and_a_keepalive_does_not() -> None:
    limits = RtspLimits(session_timeout_s=1)
    async with serving(limits=limits) as server, RawClient.connect(server.port) as client:
        with udp_socket() as rtp_socket:
            port = rtp_socket.getsockname()[1]
            session = (await play_udp(client, url(server), port)).session
            for _ in range(5):  # 2.5 s, twice the timeout, kept alive
                await asyncio.sleep(0.5)
                keepalive = await client.request("GET_PARAMETER", url(server),
                                                 ("Session", session))
                assert keepalive.status == 200
            packets = await receive_rtp(rtp_socket, 0.5)
            assert packets, "RTP should reach the client_port over UDP"
            header, _ = parse_rtp_packet(packets[-1])
            assert header.payload_type == 96
            assert server.sessions == 1

            # Silence: no request, no RTCP. The session ends, and with it the encoder.
            assert await eventually(lambda: server.sessions == 0, 4)
            assert await eventually(lambda: server.encoders_running == 0)
            gone = await client.request("PLAY", url(server), ("Session", session))
            assert gone.status == 454


async def test_rtcp_receiver_reports_keep_sessions_alive() -> None:
    limits = RtspLimits(session_timeout_s=1)
    async with serving(limits=limits) as server, RawClient.connect(server.port) as client:
        with udp_port_pair() as (rtp_socket, rtcp_socket):
            port = rtp_socket.getsockname()[1]
            played = await play_udp(client, url(server), port)
            server_rtcp = ("127.0.0.1", played.server_port[1])
            interleaved = await client.request(
                "SETUP", f"{url(server, 'JPEG')}/track1",
                ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"))
            assert interleaved.status == 200
            tcp_session = rtsp.parse_session(interleaved.headers.get("Session") or "")[0]
            assert (await client.request("PLAY", url(server, "JPEG"),
                                         ("Session", tcp_session))).status == 200
            for _ in range(6):  # 3 s, three times the timeout: reports only, no requests
                rtcp_socket.sendto(RECEIVER_REPORT, server_rtcp)
                client.send_interleaved(1, RECEIVER_REPORT)
                await asyncio.sleep(0.5)
            assert server.sessions == 2
            assert server.encoders_running == 2
            assert await eventually(lambda: server.sessions == 0, 4)


async def test_teardown_ends_the_session_and_the_stream(server: RtspServer) -> None:
    async with RawClient.connect(server.port) as client:
        with udp_socket() as rtp_socket:
            session = (await play_udp(client, url(server, "JPEG"),
                                      rtp_socket.getsockname()[1])).session
            assert await receive_rtp(rtp_socket, 0.5)
            torn = await client.request("TEARDOWN", url(server, "JPEG"), ("Session", session))
            assert torn.status == 200
            assert await eventually(lambda: server.encoders_running == 0)
            assert server.sessions == 0


# -- stream faults ---------------------------------------------------------------------------
async def test_black_and_back(server: RtspServer) -> None:
    await server.set_faults([Black()])
    pictures = await asyncio.to_thread(decode, url(server), seconds=1.5)
    assert max(p.image.mean() for p in pictures) < 20
    await server.set_faults([])
    pictures = await asyncio.to_thread(decode, url(server), seconds=1.5)
    assert min(p.image.mean() for p in pictures) > 100


async def test_frozen_repeats_one_picture_at_the_configured_rate(server: RtspServer) -> None:
    await server.set_faults([Frozen()])
    pictures = await asyncio.to_thread(decode, url(server, "JPEG"), transport="udp",
                                       seconds=2.0)
    assert len(pictures) > 10
    first = pictures[0].image.astype(int)
    assert all(np.abs(p.image.astype(int) - first).max() <= 2 for p in pictures)
    assert rate_by_timestamps(pictures) == pytest.approx(JPEG.fps, rel=0.15)


async def test_low_fps(server: RtspServer) -> None:
    await server.set_faults([LowFps(fps=4)])
    pictures = await asyncio.to_thread(decode, url(server), seconds=3.0)
    assert rate_by_timestamps(pictures) == pytest.approx(4, rel=0.15)


@pytest.mark.parametrize("codec", ["H264", "JPEG"])
async def test_wrong_resolution(server: RtspServer, codec: str) -> None:
    await server.set_faults([WrongResolution()])
    probe = await ffprobe(url(server, codec), "tcp")
    assert (probe.code, probe.errors) == (0, "")
    assert {(f["width"], f["height"]) for f in probe.frames} == {(160, 120)}
    pictures = await asyncio.to_thread(decode, url(server, codec), frames=3)
    assert {p.image.shape for p in pictures} == {(120, 160, 3)}


async def test_faults_limited_to_one_profile_leave_the_other_alone(server: RtspServer) -> None:
    await server.set_faults([WrongResolution(width=64, height=48, streams=("Profile_2",))])
    h264 = await ffprobe(url(server, "H264"), "tcp")
    jpeg = await ffprobe(url(server, "JPEG"), "tcp")
    assert {f["width"] for f in h264.frames} == {320}
    assert {f["width"] for f in jpeg.frames} == {64}


async def test_stream_down_refuses_connections_and_ends_playing_sessions(
        server: RtspServer) -> None:
    port = server.port
    player = asyncio.create_task(asyncio.to_thread(decode, url(server), seconds=10))
    assert await eventually(lambda: server.encoders_running == 1, 10)
    await server.set_faults([StreamDown()])
    assert refuses_connections("127.0.0.1", port)
    assert await eventually(lambda: server.encoders_running == 0)
    await asyncio.wait_for(player, 15)  # the player sees the end of the stream
    assert (await ffprobe(url(server))).code != 0

    await server.set_faults([])
    assert server.port == port
    probe = await ffprobe(url(server))
    assert (probe.code, probe.errors) == (0, "")
    assert probe.frames


# -- hostile input -------------------------------------------------------------------------------
HOSTILE: list[tuple[str, bytes, int]] = [
    ("no CSeq", b"OPTIONS * RTSP/1.0\r\n\r\n", 400),
    ("huge CSeq", b"OPTIONS * RTSP/1.0\r\nCSeq: 123456789012345678901234567890\r\n\r\n", 400),
    ("unknown method", b"BREW rtsp://h/ RTSP/1.0\r\nCSeq: 3\r\n\r\n", 501),
    ("method a camera refuses", b"RECORD rtsp://h/Streaming/Channels/101 RTSP/1.0\r\n"
                                b"CSeq: 4\r\n\r\n", 405),
    ("other version", b"OPTIONS * RTSP/2.0\r\nCSeq: 5\r\n\r\n", 505),
    ("not a header", b"OPTIONS * RTSP/1.0\r\nCSeq: 6\r\n:::\r\n\r\n", 400),
    ("long header", b"OPTIONS * RTSP/1.0\r\nCSeq: 7\r\nX: " + b"y" * 5000 + b"\r\n\r\n", 400),
    ("unknown path", b"DESCRIBE rtsp://h/nothing/here RTSP/1.0\r\nCSeq: 8\r\n\r\n", 404),
    ("multicast", b"SETUP rtsp://h/Streaming/Channels/101/track1 RTSP/1.0\r\nCSeq: 9\r\n"
                  b"Transport: RTP/AVP;multicast\r\n\r\n", 461),
    ("garbled transport", b"SETUP rtsp://h/Streaming/Channels/101/track1 RTSP/1.0\r\n"
                          b"CSeq: 10\r\nTransport: RTP/AVP;client_port=x-y\r\n\r\n", 400),
    ("no transport", b"SETUP rtsp://h/Streaming/Channels/101/track1 RTSP/1.0\r\nCSeq: 11\r\n"
                     b"\r\n", 400),
    ("unknown session", b"PLAY rtsp://h/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 12\r\n"
                        b"Session: DEADBEEF\r\n\r\n", 454),
    ("garbled session", b"PLAY rtsp://h/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 13\r\n"
                        b"Session: ;;;\r\n\r\n", 454),
    ("play without session", b"PLAY rtsp://h/Streaming/Channels/101 RTSP/1.0\r\n"
                             b"CSeq: 14\r\n\r\n", 454),
    ("unknown parameter", b"GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 15\r\n"
                          b"Content-Length: 10\r\n\r\nposition\r\n", 451),
    ("required extension", b"OPTIONS * RTSP/1.0\r\nCSeq: 16\r\nRequire: play.basic\r\n\r\n",
     551),
]


async def test_malformed_requests_get_errors_on_a_connection_that_goes_on(
        server: RtspServer) -> None:
    async with RawClient.connect(server.port) as client:
        for what, data, status in HOSTILE:
            response = await client.send(data)
            assert response.status == status, what
            if b"CSeq: 3" in data:
                assert response.cseq == 3
        assert (await client.request("OPTIONS", "*")).status == 200
    probe = await ffprobe(url(server))
    assert (probe.code, probe.errors) == (0, "")
    assert probe.frames


@pytest.mark.parametrize(("what", "data", "status"), [
    ("endless head", b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + b"z" * 20000, 400),
    ("huge body", b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n",
     413),
    ("binary noise", bytes(range(256)) * 40, 400),
])
async def test_unframeable_input_is_answered_then_hung_up(server: RtspServer, what: str,
                                                          data: bytes, status: int) -> None:
    async with RawClient.connect(server.port) as client:
        response = await client.send(data)
        assert response.status == status, what
        assert await client.closed_by_server()
    probe = await ffprobe(url(server))
    assert (probe.code, probe.errors) == (0, "")
    assert probe.frames


async def test_requests_out_of_order_in_a_session(server: RtspServer) -> None:
    async with RawClient.connect(server.port) as client:
        with udp_socket() as rtp_socket:
            port = rtp_socket.getsockname()[1]
            transport = ("Transport", f"RTP/AVP;unicast;client_port={port}-{port + 1}")
            session = (await play_udp(client, url(server), port)).session
            again = await client.request("SETUP", f"{url(server)}/track1", transport,
                                         ("Session", session))
            assert again.status == 455  # no new transport while playing
            other = await client.request("SETUP", f"{url(server, 'JPEG')}/track1", transport,
                                         ("Session", session))
            assert other.status == 459  # one stream per session
            elsewhere = await client.request("PAUSE", url(server, "JPEG"), ("Session", session))
            assert elsewhere.status == 454
            paused = await client.request("PAUSE", url(server), ("Session", session))
            assert paused.status == 200
            assert await eventually(lambda: server.encoders_running == 0)


async def test_session_and_connection_limits() -> None:
    limits = RtspLimits(max_sessions=1, max_connections=2)
    async with serving(limits=limits) as server, RawClient.connect(server.port) as client:
        with udp_socket() as first, udp_socket() as second:
            await play_udp(client, url(server), first.getsockname()[1])
            track = f"{url(server, 'JPEG')}/track1"
            port = second.getsockname()[1]
            refused = await client.request(
                "SETUP", track, ("Transport", f"RTP/AVP;unicast;client_port={port}-{port + 1}"))
            assert refused.status == 453
        async with RawClient.connect(server.port) as other:
            assert (await other.request("OPTIONS", "*")).status == 200
            async with RawClient.connect(server.port) as third:
                assert (await third.response()).status == 503
                assert await third.closed_by_server()
