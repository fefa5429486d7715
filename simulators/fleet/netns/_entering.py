"""Putting the calling thread into a namespace, so the sockets it creates belong there.

Only the creating thread's namespace matters, and only at socket creation: bind, connect and
sendto later act in the socket's own namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from camfleet.protocols.multicast import send_from
from simulators.fleet.netns._errors import NetnsError
from simulators.fleet.netns._iproute import NETNS_DIR

#: linux/sched.h
CLONE_NEWNET = 0x40000000


@functools.cache
def _libc_setns() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    setns = libc.setns
    setns.argtypes = (ctypes.c_int, ctypes.c_int)
    setns.restype = ctypes.c_int
    return setns


def _setns(fd: int) -> None:
    if _libc_setns()(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


def _namespace_path(namespace: str | os.PathLike[str]) -> Path:
    path = Path(namespace)
    return path if path.is_absolute() else NETNS_DIR / path


def current_namespace_inode() -> int:
    """Inode of the calling *thread's* network namespace (``/proc/thread-self/ns/net``)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


@contextlib.contextmanager
def entered(namespace: str | os.PathLike[str]) -> Iterator[None]:
    """Run the body with the calling thread in ``namespace``, then switch back.

    ``namespace`` is a name under ``/run/netns`` (as ``ip netns`` makes them) or an absolute
    path to a namespace file (``/proc/<pid>/ns/net``). Sockets created in the body belong to
    that namespace for their whole life; nothing else about them changes on exit.

    Per thread: setns() moves only the calling thread, so other threads, the asyncio loop's
    executor threads, and subprocesses started before are unaffected. That is also why the
    thread to return to is read from ``/proc/thread-self/ns/net``: ``/proc/self`` names the
    process's main thread, which may be elsewhere. Nested use works (each level returns to
    where it started).

    In async code the body must not ``await``: any task that ran meanwhile on the same loop
    thread would create its sockets in this namespace. Create sockets synchronously inside,
    hand them to asyncio outside (``create_datagram_endpoint(sock=...)``).

    If switching back fails (it does not, short of the kernel refusing), the thread would be
    stranded in ``namespace``; that raises :class:`NetnsError`, chained to the cause.
    """
    path = _namespace_path(namespace)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NetnsError(f"no network namespace {namespace!s} (looked at {path})") from None
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            try:
                _setns(original)
            except OSError as exc:
                raise NetnsError(f"could not return this thread from {namespace!s} to its "
                                 "original network namespace") from exc
    finally:
        os.close(original)


def socket_in(namespace: str | os.PathLike[str], family: int = socket.AF_INET,
              kind: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
    """A new socket that belongs to ``namespace`` (created there, returned unbound)."""
    with entered(namespace):
        return socket.socket(family, kind, proto)


# -- multicast helpers -----------------------------------------------------------------------

def set_multicast_interface(sock: socket.socket, interface_address: str, ttl: int = 1) -> None:
    """Send this socket's multicast out of the interface owning ``interface_address``.

    In the root namespace pass :attr:`NetnsNetwork.manager_address`: without it multicast
    follows the default route off the machine. TTL 1 keeps it on the segment (SOAP-over-UDP).
    """
    send_from(sock, interface_address, ttl=ttl)
