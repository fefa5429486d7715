"""A TCP relay on a thread of its own, that can be cut for a while (a link failing).

    relay = TcpRelay(5432)                        # 127.0.0.1:<free port> -> 127.0.0.1:5432
    relay = TcpRelay(5672, host="10.213.7.1")     # listens where a namespace can reach it
    relay.port                                    # where it listens
    relay.cut(30)                                 # every connection dropped, new ones refused
                                                  # for 30 s, then served again on that port
    relay.down(); relay.up()                      # the same, for as long as the caller says
    relay.close()

What it is for: a service that listens on 127.0.0.1 of the root namespace only (PostgreSQL,
RabbitMQ), offered to a process in another network namespace through an address of the root
namespace that the namespace reaches (``simulators.fleet.districts``), without reconfiguring
the service; and a registry or broker link that fails on cue (``bench/city.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["TcpRelay"]

_T = TypeVar("_T")


class TcpRelay:
    """Relay connections to ``host:port`` (``port`` 0: a free one) on to
    ``upstream_host:upstream``, each byte as it comes, both ways."""

    def __init__(self, upstream: int, *, host: str = "127.0.0.1", port: int = 0,
                 upstream_host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.upstream_host = upstream_host
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name=f"relay-{host}-{upstream}")
        self._thread.start()
        try:
            self.server = self._call(self._listen(port))
        except BaseException:
            self._stop_loop()
            raise
        self.port = int(self.server.sockets[0].getsockname()[1])

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _listen(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve, self.host, port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host,
                                                                 self.upstream)
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

        # Cancelled by close(): the connection ends here, not as an error of asyncio's.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def _drop_all(self) -> None:
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def cut(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for ``seconds``, then listen again on
        the same port. Returns when it listens again."""
        self.down()
        time.sleep(seconds)
        self.up()

    def down(self) -> None:
        """Drop every connection and refuse new ones until :meth:`up`."""
        async def drop() -> None:
            self._drop_all()

        self._call(drop())

    def up(self) -> None:
        """Listen again on the same port (after :meth:`down`)."""
        async def listen() -> None:
            self.server = await self._listen(self.port)

        self._call(listen())

    def close(self) -> None:
        """Stop listening, drop every connection, end the thread. Idempotent."""
        if self.loop.is_closed():
            return

        async def shut() -> None:
            self._drop_all()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            self._call(shut())
        self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
