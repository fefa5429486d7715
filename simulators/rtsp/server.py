"""The RTSP server of a simulated camera: sessions, methods, faults, limits.

Serves one :class:`~simulators.rtsp.media.LiveStream` per media profile on its path, with RTP
over UDP (the server's one port pair) or interleaved on the RTSP connection, and HTTP Digest
when given credentials (every method but OPTIONS). Each request is answered; none ends the
server: malformed ones get 400/413/505, unknown methods 501, methods a camera does not accept
405, a parameter we do not have 451, an unknown session 454, a Transport we cannot serve 461,
a ``Require`` we do not know 551, and a bug 500 (logged).

Sessions end by TEARDOWN, when their interleaved connection closes, or after
``session_timeout_s`` without a request or RTCP report naming them (RFC 2326 §12.37); clients
keep them alive with GET_PARAMETER or OPTIONS, which FFmpeg does at half the timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from camfleet.protocols import rtsp
from camfleet.protocols.rtsp import (
    InvalidMessage,
    RawMessage,
    Request,
    Transport,
    UnsupportedTransport,
    build_response,
)
from camfleet.protocols.sdp import build_sdp
from simulators.fault_base import FaultBase
from simulators.rtsp.auth import Credentials, RtspDigest
from simulators.rtsp.config import RtspLimits, StreamConfig
from simulators.rtsp.faults import EffectiveStream, effective_stream, refuses_connections
from simulators.rtsp.media import TRACK, FrameSource, LiveStream, Subscriber
from simulators.rtsp.session import Connection, Placement, Reply, Session, SessionState, here
from simulators.rtsp.transport import Address, InterleavedSink, UdpPair, UdpSink

log = logging.getLogger(__name__)

SERVER_NAME = "camfleet-sim RTSP"
#: Methods a camera answers (RFC 2326 §10), in the order OPTIONS lists them.
PUBLIC = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
          "SET_PARAMETER")


class RtspServer:
    """An RTSP server on ``host:port`` (0: any free port) serving the streams added to it.

    Lifecycle: :meth:`start`, then :meth:`set_faults` as often as needed, then :meth:`aclose`
    (idempotent); or ``async with``.
    """

    def __init__(self, host: str, port: int = 0, *, limits: RtspLimits | None = None,
                 credentials: Credentials | None = None, realm: str = "camfleet",
                 placement: Placement = here) -> None:
        self.host = host
        self._port = port
        self._placement = placement
        #: Off while the camera is down (rebooting, removed): the port refuses like a fault.
        self._powered = True
        self.limits = limits or RtspLimits()
        self._auth = RtspDigest(realm, credentials) if credentials is not None else None
        self._streams: dict[str, LiveStream] = {}
        self._faults: tuple[FaultBase, ...] = ()
        self._listener: asyncio.Server | None = None
        self._udp: UdpPair | None = None
        self._connections: set[Connection] = set()
        self._connection_tasks: set[asyncio.Task[None]] = set()
        self._sessions: dict[str, Session] = {}
        self._rtcp_peers: dict[Address, Session] = {}
        self._expiry: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    # -- configuration and state ---------------------------------------------------------------
    def add_stream(self, config: StreamConfig, source: FrameSource) -> None:
        if config.path in self._streams or any(
                s.config.token == config.token for s in self._streams.values()):
            raise ValueError(f"a stream with path {config.path} or token {config.token} exists")

        def effective() -> EffectiveStream:
            return effective_stream(stream.config, self._faults)

        stream = LiveStream(config, source, effective)
        self._streams[config.path] = stream

    def reconfigure(self, config: StreamConfig) -> None:
        """New encoder settings for the stream of ``config.token`` (same path): sessions keep
        playing, and get the new encoding from the next picture (with a keyframe)."""
        stream = self.stream(config.token)
        if stream.config.path != config.path:
            raise ValueError(f"stream {config.token} is at {stream.config.path}, "
                             f"not {config.path}")
        stream.config = config

    def readdress(self, host: str) -> None:
        """Serve from ``host`` from the next time the port opens (only while it is closed)."""
        if self.serving:
            raise RuntimeError(f"the RTSP server on {self.host} is serving; power it down first")
        self.host = host

    @property
    def port(self) -> int:
        return self._port

    def url(self, token: str) -> str:
        """The rtsp:// URL of a profile's stream (what GetStreamUri returns)."""
        return f"rtsp://{self.host}:{self._port}{self.stream(token).config.path}"

    def stream(self, token: str) -> LiveStream:
        for stream in self._streams.values():
            if stream.config.token == token:
                return stream
        raise KeyError(f"no stream for profile {token!r}")

    @property
    def encoders_running(self) -> int:
        return sum(stream.encoding for stream in self._streams.values())

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    @property
    def serving(self) -> bool:
        return self._listener is not None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            raise RuntimeError("the RTSP server was started already")
        self._started = True
        await self._follow()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._halt()
        await asyncio.gather(*(s.aclose() for s in self._streams.values()))

    async def __aenter__(self) -> RtspServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def set_faults(self, faults: Iterable[FaultBase]) -> None:
        """Put these faults in force (replacing the previous ones); others are ignored.

        Stream pictures follow at the next frame; ``stream_down`` closes the port and ends
        every session, and clearing it opens the same port again.
        """
        self._faults = tuple(faults)
        await self._follow()

    async def set_powered(self, powered: bool) -> None:
        """Down (False) closes the port and ends every session, as a reboot does; up opens
        the same port again unless ``stream_down`` is in force."""
        self._powered = powered
        await self._follow()

    async def _follow(self) -> None:
        up = self._powered and not refuses_connections(self._faults)
        if not up and self.serving:
            await self._halt()
        elif up and not self.serving and self._started and not self._closed:
            await self._serve()

    async def _serve(self) -> None:
        # The UDP pair waits for the first UDP session: an idle camera holds one socket.
        async with self._placement():
            self._listener = await asyncio.start_server(self._connected, self.host, self._port,
                                                        reuse_address=True)
        self._port = self._listener.sockets[0].getsockname()[1]

    async def _halt(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for session in list(self._sessions.values()):
            self._end(session)
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for connection in list(self._connections):
            connection.writer.close()
        if self._connection_tasks:
            await asyncio.wait(self._connection_tasks, timeout=5.0)
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    # -- connections ---------------------------------------------------------------------------
    async def _connected(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connection_tasks.add(task)
        peer = writer.get_extra_info("peername")
        connection = Connection(writer, str(peer[0]) if peer else "")
        try:
            if len(self._connections) >= self.limits.max_connections:
                writer.write(build_response(503, None, [("Server", SERVER_NAME)]))
                return
            self._connections.add(connection)
            await self._converse(connection, reader)
        except (ConnectionError, TimeoutError):
            pass
        except Exception:
            log.exception("RTSP connection from %s failed", connection.peer_ip)
        finally:
            self._connections.discard(connection)
            for session in list(connection.sessions):
                self._end(session)
            writer.close()
            self._connection_tasks.discard(task)

    async def _converse(self, connection: Connection, reader: asyncio.StreamReader) -> None:
        limits = self.limits
        messages = rtsp.MessageReader(max_head_bytes=limits.max_request_head_bytes,
                                      max_body_bytes=limits.max_request_body_bytes)
        writer = connection.writer
        while True:
            try:
                async with asyncio.timeout(limits.idle_timeout_s):
                    data = await reader.read(65536)
            except TimeoutError:
                if connection.sessions:  # an interleaved session may be quiet; it times out
                    continue
                return
            if not data:
                return
            try:
                items = messages.feed(data)
            except InvalidMessage as exc:
                # The framing is lost: answer what we can and hang up.
                writer.write(build_response(exc.status, exc.cseq, [("Server", SERVER_NAME)]))
                return
            for item in items:
                if isinstance(item, rtsp.InterleavedFrame):
                    self._on_interleaved(connection, item)
                    continue
                response, after = await self._answer(connection, item)
                writer.write(response)
                if after is not None:
                    after()
                async with asyncio.timeout(limits.idle_timeout_s):
                    await writer.drain()

    def _on_interleaved(self, connection: Connection, frame: rtsp.InterleavedFrame) -> None:
        # RTCP receiver reports arrive on the odd channel of a session's pair.
        for session in connection.sessions:
            if session.transport.interleaved and frame.channel in session.transport.interleaved:
                self._touch(session)

    def _on_rtcp(self, source: Address) -> None:
        session = self._rtcp_peers.get(source)
        if session is not None:
            self._touch(session)

    # -- requests ------------------------------------------------------------------------------
    async def _answer(self, connection: Connection,
                      raw: RawMessage) -> tuple[bytes, Callable[[], None] | None]:
        try:
            request = rtsp.parse_request(raw)
        except InvalidMessage as exc:
            return build_response(exc.status, exc.cseq, [("Server", SERVER_NAME)]), None
        try:
            reply = await self._dispatch(connection, request)
        except InvalidMessage as exc:
            reply = Reply(exc.status)
        except UnsupportedTransport:
            reply = Reply(461)
        except Exception:
            log.exception("RTSP %s %s failed", request.method, request.uri)
            reply = Reply(500)
        log.debug("RTSP %s %s -> %d", request.method, request.uri, reply.status)
        headers = [("Server", SERVER_NAME), *reply.headers]
        return build_response(reply.status, request.cseq, headers, reply.body), reply.after

    async def _dispatch(self, connection: Connection, request: Request) -> Reply:
        method = request.method
        if method not in rtsp.METHODS:
            return Reply(501, [("Public", ", ".join(PUBLIC))])
        if method not in PUBLIC:
            return Reply(405, [("Allow", ", ".join(PUBLIC))])
        required = request.headers.get("Require")
        if required is not None:
            # We implement no RTSP extension (RFC 2326 §12.32).
            return Reply(551, [("Unsupported", required)])
        if method != "OPTIONS" and self._auth is not None:
            verdict = self._auth.check(request)
            if verdict.challenge is not None:
                return Reply(401, [("WWW-Authenticate", verdict.challenge)])
        handler = self._handlers[method]
        return await handler(self, connection, request)

    async def _options(self, connection: Connection, request: Request) -> Reply:
        if "Session" in request.headers:
            self._session_of(request)  # 454 if unknown; touches it otherwise
        return Reply(200, [("Public", ", ".join(PUBLIC))])

    async def _describe(self, connection: Connection, request: Request) -> Reply:
        stream = self._stream_for(request.uri)
        media = await stream.describe()
        body = build_sdp([media], origin_address=self.host, name=stream.config.token)
        base = request.uri if request.uri.endswith("/") else request.uri + "/"
        return Reply(200, [("Content-Base", base), ("Content-Type", "application/sdp")], body)

    async def _setup(self, connection: Connection, request: Request) -> Reply:
        stream = self._stream_for(request.uri)
        header = request.headers.get("Transport")
        if header is None:
            raise InvalidMessage("SETUP needs a Transport header")
        choice = next((t for t in rtsp.parse_transport(header) if t.unicast and t.mode == "PLAY"
                       and (t.lower == "TCP" or t.client_port is not None)), None)
        if choice is None:
            raise UnsupportedTransport("only unicast RTP/AVP over UDP (client_port) or TCP")
        previous = self._session_of(request) if "Session" in request.headers else None
        if previous is not None:
            if previous.stream is not stream:
                return Reply(459)  # one track per session: no aggregate of two streams
            if previous.state is SessionState.PLAYING:
                return Reply(455)
            self._end(previous)
        elif len(self._sessions) >= self.limits.max_sessions:
            return Reply(453)
        if choice.lower == "UDP" and self._udp is None:
            async with self._placement():
                self._udp = await UdpPair.open(self.host, self._on_rtcp)
        session = self._new_session(connection, stream, choice, request,
                                    previous.id if previous else rtsp.new_session_id())
        return Reply(200, [("Transport", rtsp.format_transport(session.transport)),
                            ("Session", self._session_header(session))])

    async def _play(self, connection: Connection, request: Request) -> Reply:
        session = self._session_of(request)
        self._check_resource(session, request)
        after = None
        if session.state is SessionState.READY:
            session.state = SessionState.PLAYING

            def after() -> None:
                if session.state is SessionState.PLAYING and session.id in self._sessions:
                    session.stream.subscribe(session.subscriber)

        now = asyncio.get_running_loop().time()
        subscriber = session.subscriber
        info = rtsp.format_rtp_info([(session.setup_uri, subscriber.sequence,
                                      subscriber.rtp_time(now))])
        return Reply(200, [("Range", "npt=0.000-"), ("RTP-Info", info),
                            ("Session", self._session_header(session))], after=after)

    async def _pause(self, connection: Connection, request: Request) -> Reply:
        session = self._session_of(request)
        self._check_resource(session, request)
        if session.state is SessionState.PLAYING:
            session.stream.unsubscribe(session.subscriber)
            session.state = SessionState.READY
        return Reply(200, [("Session", self._session_header(session))])

    async def _teardown(self, connection: Connection, request: Request) -> Reply:
        session = self._session_of(request)
        self._check_resource(session, request)
        self._end(session)
        return Reply(200)

    async def _parameter(self, connection: Connection, request: Request) -> Reply:
        headers = []
        if "Session" in request.headers:
            headers.append(("Session", self._session_header(self._session_of(request))))
        if request.body.strip():
            # No parameters are defined for a camera stream; an empty one is a keepalive.
            return Reply(451, headers)
        return Reply(200, headers)

    _handlers: ClassVar[dict[str, Callable[[RtspServer, Connection, Request],
                                           Awaitable[Reply]]]] = {
        "OPTIONS": _options, "DESCRIBE": _describe, "SETUP": _setup, "PLAY": _play,
        "PAUSE": _pause, "TEARDOWN": _teardown, "GET_PARAMETER": _parameter,
        "SET_PARAMETER": _parameter,
    }

    # -- sessions ------------------------------------------------------------------------------
    def _stream_for(self, uri: str) -> LiveStream:
        """The stream a Request-URI names, as the stream's path or its track's (404 if none)."""
        path = rtsp.request_path(uri)
        stream = self._streams.get(path)
        if stream is None and path.endswith(f"/{TRACK}"):
            stream = self._streams.get(path[: -len(TRACK) - 1])
        if stream is None:
            raise InvalidMessage(f"no stream at {path}", 404)
        return stream

    def _check_resource(self, session: Session, request: Request) -> None:
        if request.uri != "*" and self._stream_for(request.uri) is not session.stream:
            raise InvalidMessage("the session belongs to another stream", 454)

    def _session_of(self, request: Request) -> Session:
        header = request.headers.get("Session")
        if header is None:
            raise InvalidMessage(f"{request.method} needs a Session header", 454)
        try:
            session_id, _ = rtsp.parse_session(header)
        except InvalidMessage as exc:
            raise InvalidMessage(str(exc), 454) from exc
        session = self._sessions.get(session_id)
        if session is None:
            raise InvalidMessage(f"no session {session_id}", 454)
        self._touch(session)
        return session

    def _session_header(self, session: Session) -> str:
        return rtsp.format_session(session.id, self.limits.session_timeout_s)

    def _new_session(self, connection: Connection, stream: LiveStream, choice: Transport,
                     request: Request, session_id: str) -> Session:
        now = asyncio.get_running_loop().time()
        max_backlog = self.limits.max_send_buffer_bytes
        if choice.lower == "TCP":
            channels = choice.interleaved
            if channels is None or channels in {s.transport.interleaved
                                                for s in connection.sessions}:
                channels = connection.free_channels()
            subscriber = Subscriber(InterleavedSink(connection.writer.transport, channels[0]),
                                    max_backlog)
            answer = Transport("TCP", interleaved=channels, ssrc=subscriber.ssrc)
            session = Session(session_id, stream, subscriber, answer, request.uri, now,
                              connection=connection)
            connection.sessions.add(session)
        else:
            assert choice.client_port is not None
            assert self._udp is not None
            # RTP goes to the address the request came from, never to a "destination" the
            # client names: that would make the camera a traffic cannon (RFC 2326 §15.1).
            rtp_port, rtcp_port = choice.client_port
            subscriber = Subscriber(UdpSink(self._udp, (connection.peer_ip, rtp_port)),
                                    max_backlog)
            answer = Transport("UDP", client_port=choice.client_port,
                               server_port=self._udp.ports, ssrc=subscriber.ssrc)
            session = Session(session_id, stream, subscriber, answer, request.uri, now,
                              rtcp_peer=(connection.peer_ip, rtcp_port))
            self._rtcp_peers[(connection.peer_ip, rtcp_port)] = session
        self._sessions[session.id] = session
        if self._expiry is None or self._expiry.done():
            self._expiry = asyncio.get_running_loop().create_task(self._expire_sessions())
        return session

    def _touch(self, session: Session) -> None:
        session.last_seen = asyncio.get_running_loop().time()

    def _end(self, session: Session) -> None:
        session.stream.unsubscribe(session.subscriber)
        session.state = SessionState.READY
        self._sessions.pop(session.id, None)
        if session.rtcp_peer is not None and self._rtcp_peers.get(session.rtcp_peer) is session:
            del self._rtcp_peers[session.rtcp_peer]
        if session.connection is not None:
            session.connection.sessions.discard(session)

    async def _expire_sessions(self) -> None:
        """Runs while sessions exist, so an idle server has no timer at all."""
        timeout = self.limits.session_timeout_s
        loop = asyncio.get_running_loop()
        while self._sessions:
            await asyncio.sleep(min(1.0, timeout / 4))
            now = loop.time()
            for session in list(self._sessions.values()):
                if now - session.last_seen > timeout:
                    log.info("RTSP session %s timed out", session.id)
                    self._end(session)

