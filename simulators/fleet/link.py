"""The supervisor's link to a worker that runs elsewhere (in a container): TCP, and a key.

A local worker gets one end of a socket pair. A worker in a container dials back to its
supervisor over the fleet's internal network instead, and before either side unpickles
anything it proves it holds the key the supervisor gave it: the supervisor sends a fresh
challenge, the worker answers HMAC-SHA256(key, challenge). After that the link is the same
``multiprocessing`` connection a local worker has::

    listener = listen("10.214.0.1")                      # supervisor
    ... start the worker with dial(("10.214.0.1", port), key) ...
    peer, conn = accept(listener, key, deadline)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import select
import socket
import time
from multiprocessing.connection import Connection

__all__ = ["KEY_ENV", "LinkError", "accept", "dial", "listen", "new_key"]

#: Where a worker in a container finds its key (an environment variable, hex).
KEY_ENV = "CAMFLEET_WORKER_KEY"
_CHALLENGE_BYTES = 32
_HANDSHAKE_S = 5.0


class LinkError(RuntimeError):
    """No authenticated link: nobody dialled in time, or a peer failed the challenge."""


def new_key() -> str:
    return secrets.token_hex(32)


def _answer(key: str, challenge: bytes) -> bytes:
    return hmac.new(bytes.fromhex(key), b"camfleet-worker" + challenge, hashlib.sha256).digest()


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the peer closed the link during the handshake")
        data += chunk
    return data


def listen(address: str) -> socket.socket:
    """A listening TCP socket on ``address`` (any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def accept(listener: socket.socket, key: str, deadline: float) -> tuple[str, Connection]:
    """The next peer that answers the challenge, and its connection; others are dropped.

    ``deadline`` is a ``time.monotonic()`` value; past it, :class:`LinkError`.
    """
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([listener], [], [], left)[0]:
            raise LinkError("no worker dialled in time")
        sock, (peer, _port) = listener.accept()
        try:
            sock.settimeout(_HANDSHAKE_S)
            challenge = os.urandom(_CHALLENGE_BYTES)
            sock.sendall(challenge)
            answer = _read_exactly(sock, hashlib.sha256().digest_size)
            if not hmac.compare_digest(answer, _answer(key, challenge)):
                raise ConnectionError(f"{peer} does not hold the key")
            sock.settimeout(None)
        except OSError:  # an impostor or a dead peer: keep waiting for the real one
            sock.close()
            continue
        return peer, Connection(sock.detach())


def dial(address: tuple[str, int], key: str, attempts: int = 25) -> Connection:
    """Connect to the supervisor and answer its challenge (the worker's side)."""
    for attempt in range(attempts):
        try:
            sock = socket.create_connection(address, timeout=_HANDSHAKE_S)
            break
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    try:
        # The supervisor may still be starting other workers: wait for the challenge as long
        # as it lives (it closes the link when it gives up).
        sock.settimeout(None)
        sock.sendall(_answer(key, _read_exactly(sock, _CHALLENGE_BYTES)))
    except OSError:
        sock.close()
        raise
    return Connection(sock.detach())
