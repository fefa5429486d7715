"""A TCP link that can be cut: what a district's uplink, a broker or a registry does when it
goes away for a while.

    with Proxy(5432) as link:        # 127.0.0.1:<link.port> relays to 127.0.0.1:5432
        link.cut(30)                 # every connection dropped, new ones refused, for 30 s
        link.down(); link.up()       # the same, for as long as the caller says

Loopback only: it relays to a port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

__all__ = ["Proxy"]


class Proxy:
    """A TCP relay on 127.0.0.1 to a local port that can be cut for a while: every
    connection dropped, new ones refused, then served again on the same port."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server = self._call(self._listen(0))
        self.port = int(self.server.sockets[0].getsockname()[1])

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _listen(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
                self.writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self, seconds: float) -> None:
        """Down for ``seconds``, then up again (returns when it is up)."""
        self.down()
        self._call(asyncio.sleep(seconds))
        self.up()

    def down(self) -> None:
        """Drop every connection and refuse new ones, until :meth:`up`."""
        async def drop() -> None:
            self.server.close()
            for writer in list(self.writers):
                writer.transport.abort()
            self.writers.clear()

        self._call(drop())

    def up(self) -> None:
        """Accept connections again, on the same port."""
        async def listen() -> None:
            self.server = await self._listen(self.port)

        self._call(listen())

    def close(self) -> None:
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
