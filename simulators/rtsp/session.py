"""Sessions and connections of the RTSP server, and where it opens its sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum

from camfleet.protocols.rtsp import Transport
from simulators.rtsp.media import LiveStream, Subscriber
from simulators.rtsp.transport import Address

#: Entered whenever the server opens sockets (a camera in a network namespace opens them there).
Placement = Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def here() -> AsyncIterator[None]:
    yield


class SessionState(Enum):
    READY = "ready"  # set up, not playing
    PLAYING = "playing"  # subscribed to its stream


@dataclass(eq=False)
class Session:
    id: str
    stream: LiveStream
    subscriber: Subscriber
    transport: Transport
    #: The URL the client set the track up with; RTP-Info must name it exactly.
    setup_uri: str
    last_seen: float
    #: The connection an interleaved session's packets travel on.
    connection: Connection | None = None
    #: The client's RTCP address, for a UDP session.
    rtcp_peer: Address | None = None
    state: SessionState = SessionState.READY


@dataclass(eq=False)
class Connection:
    writer: asyncio.StreamWriter
    peer_ip: str
    sessions: set[Session] = field(default_factory=set)

    def free_channels(self) -> tuple[int, int]:
        used = {s.transport.interleaved for s in self.sessions}
        return next((c, c + 1) for c in range(0, 256, 2) if (c, c + 1) not in used)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: Run once the response is written (PLAY starts the stream only after its answer).
    after: Callable[[], None] | None = None


