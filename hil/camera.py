"""The camera under test: a target, a session over devmgr's client, what it advertises, a latch.

``Camera`` is what the ``camera`` fixture hands a test. It talks through devmgr's lean ONVIF
client (one ``OnvifPool`` per process, on :class:`~hil.loop.LoopThread`) and adds what an
acceptance run needs on top:

* **facts** on first use: devmgr's inventory of the unit (identity, services, profiles, PTZ
  node and limits, ...), from which its capabilities are decided (:mod:`hil.capabilities`);
* **errors by fault**: a wrong answer raises :class:`~hil.errors.DeviceFault` (a FAIL); no fair
  answer raises an :class:`~hil.errors.InfrastructureError` (an ERROR);
* **retries** only where they cannot hide a defect: a *read* (``Get*``) that timed out is tried
  again up to ``--hil-retries`` times, and each retry is recorded for the reports;
* **a latch**: once the camera stops answering (refused connection, no answer, and a liveness
  check confirms it) or refuses our credentials, it is marked broken with the original error,
  and its remaining tests are skipped with that error instead of timing out one by one.

    body = camera.call("device", "GetDeviceInformation")
    body.findtext("{*}SerialNumber")
    fault = camera.expect_fault("ptz", "AbsoluteMove", {...})   # the call must be refused
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from lxml import etree

from devmgr.inventory.collect import collect_inventory
from devmgr.inventory.model import DeviceError, ErrorKind, Inventory
from devmgr.onvif.actions import HttpReply, get_authenticated
from devmgr.onvif.session import OnvifError, OnvifPool, OnvifSession, SoapFaultError, Timeouts
from devmgr.targets import Target, TargetsError
from hil.capabilities import advertised
from hil.errors import (
    CameraUnreachable,
    CredentialsRefused,
    DeviceFault,
    HilError,
    InfrastructureError,
    translate,
)
from hil.loop import LoopThread
from hil.settings import HilSettings

T = TypeVar("T")

__all__ = ["Camera", "Harness", "RetryRecord"]

#: How long the harness waits for one marshalled coroutine before declaring itself hung.
HARNESS_LIMIT_S = 120.0


@dataclass(frozen=True, slots=True)
class RetryRecord:
    """A read that timed out and was tried again."""

    operation: str
    kind: str
    message: str
    attempt: int
    at: str

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "kind": self.kind, "message": self.message,
                "attempt": self.attempt, "at": self.at}


@dataclass(frozen=True, slots=True)
class RawReply:
    """An HTTP exchange taken as it came, for tests of authentication itself."""

    status: int
    challenges: tuple[str, ...]
    body: bytes


class Harness:
    """Per process: the event loop thread and the one ``OnvifPool`` all cameras share."""

    def __init__(self, settings: HilSettings) -> None:
        self.settings = settings
        self.timeouts = Timeouts(connect=min(3.0, settings.call_timeout_s),
                                 call=settings.call_timeout_s,
                                 camera=max(30.0, 6 * settings.call_timeout_s))
        self.loop = LoopThread()
        self._pool: OnvifPool | None = None

    @property
    def pool(self) -> OnvifPool:
        """The shared pool; opened by the first :meth:`run`, so coroutines find it open."""
        if self._pool is None:
            self._open_pool()
        assert self._pool is not None
        return self._pool

    def _open_pool(self) -> None:
        pool = OnvifPool(limit=64, timeouts=self.timeouts)

        async def enter() -> None:
            await pool.__aenter__()

        self.loop.run(enter(), 10.0)
        self._pool = pool

    def run(self, coro: Awaitable[T], timeout_s: float = HARNESS_LIMIT_S) -> T:
        """Run ``coro`` on the harness loop; call from the test's thread, never from the loop."""
        if self._pool is None:
            self._open_pool()

        async def wrapped() -> T:
            return await coro

        return self.loop.run(wrapped(), timeout_s)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            async def leave() -> None:
                await pool.__aexit__(None, None, None)

            self.loop.run(leave(), 10.0)
        self.loop.close()


@dataclass
class Latch:
    """Why a camera is no longer tested, and where that was found out."""

    error: InfrastructureError
    where: str

    def skip_reason(self, camera_id: str) -> str:
        return (f"{camera_id}: not run, the camera stopped answering earlier "
                f"(in {self.where}): {self.error}")


@dataclass(eq=False)
class Camera:
    """One camera under test (see the module docstring)."""

    harness: Harness
    target: Target
    #: What the expectations file says this unit must have (empty: nothing said).
    expected: frozenset[str] = frozenset()
    #: WS-Discovery port and the local interface for multicast (None: multicast not possible).
    discovery_port: int = 3702
    multicast_interface: str | None = None
    facts: Inventory | None = None
    capabilities: frozenset[str] = frozenset()
    latch: Latch | None = None
    #: Why the camera cannot be tested at all (fleet not started): the first test's ERROR.
    start_failure: InfrastructureError | None = None
    retries: list[RetryRecord] = field(default_factory=list)
    #: The test currently running on this camera (named in latch messages).
    current_test: str = ""
    _session: OnvifSession | None = None

    @property
    def id(self) -> str:
        return self.target.id

    @property
    def address(self) -> str:
        return self.target.address

    def __str__(self) -> str:
        return f"{self.id} ({self.address})"

    @property
    def identity(self) -> dict[str, str]:
        """What the unit says it is (empty until the facts are in)."""
        device = self.facts.device if self.facts else None
        if device is None:
            return {}
        return {"manufacturer": device.manufacturer, "model": device.model,
                "firmware": device.firmware, "serial": device.serial,
                "hardware_id": device.hardware_id, "mac": (self.facts.mac or "")
                if self.facts else ""}

    @property
    def settings(self) -> HilSettings:
        return self.harness.settings

    @property
    def session(self) -> OnvifSession:
        if self._session is None:
            try:
                password = self.target.onvif_password()
            except TargetsError as exc:
                raise CredentialsRefused(f"{self.id}: {exc}") from None
            self._session = OnvifSession(self.harness.pool, self.target.device_url,
                                         self.target.onvif.username, password)
        return self._session

    def new_session(self, username: str | None = None,
                    password: str | None = None) -> OnvifSession:
        """Another session to the same camera (other credentials), on the same pool."""
        session = OnvifSession(self.harness.pool, self.target.device_url,
                               username if username is not None else self.target.onvif.username,
                               password)
        session.xaddrs = dict(self.session.xaddrs)
        session.clock_offset = self.session.clock_offset
        return session

    # -- lifecycle -------------------------------------------------------------------------------
    def fail_at_start(self, error: InfrastructureError) -> None:
        """The camera cannot be tested at all (fleet not started): its first test reports the
        error, the latch skips the rest."""
        self.start_failure = error

    def ensure_ready(self) -> None:
        """Facts on first use, a liveness check after that; latches a camera that is gone.

        Raises the infrastructure error that latched it (the test is an ERROR); later tests
        should check :attr:`latch` first and skip.
        """
        if self.latch is not None:
            raise self.latch.error
        if self.start_failure is not None:
            self._set_latch(self.start_failure)
            raise self.start_failure
        try:
            if self.facts is None:
                self._collect_facts()
            else:
                self._guarded("GetSystemDateAndTime", self.session.sync_clock)
        except InfrastructureError as exc:
            if self.latch is None:
                self._set_latch(exc)
            raise

    def _set_latch(self, error: InfrastructureError) -> None:
        self.latch = Latch(error, self.current_test or "setup")

    def _collect_facts(self) -> None:
        for attempt in range(self.settings.retries + 1):
            inventory = self.harness.run(self._inventory())
            fatal = _fatal_error(inventory)
            if fatal is None:
                self.facts = inventory
                self.capabilities = advertised(inventory, self.target)
                return
            if fatal.kind is not ErrorKind.TIMEOUT or attempt == self.settings.retries:
                error = translate(self.id, OnvifError(fatal.kind, fatal.operation,
                                                      fatal.message))
                if isinstance(error, InfrastructureError):
                    raise error
                raise InfrastructureError(str(error))
            self._record_retry(fatal.operation, fatal.kind, fatal.message, attempt + 1)

    async def _inventory(self) -> Inventory:
        return await collect_inventory(self.harness.pool, self.target, session=self.session)

    # -- calls -----------------------------------------------------------------------------------
    def call(self, service: str, operation: str, params: dict[str, Any] | None = None, *,
             authenticate: bool = True, optional: bool = False) -> etree._Element | None:
        """One ONVIF request; the Body's response element. ``optional``: an operation the
        camera does not implement gives ``None`` instead of a DeviceFault."""
        async def attempt() -> etree._Element | None:
            try:
                return await self.session.call(service, operation, params,
                                               authenticate=authenticate)
            except SoapFaultError as exc:
                if optional and exc.not_supported:
                    return None
                raise

        return self._guarded(operation, attempt)

    def must_call(self, service: str, operation: str,
                  params: dict[str, Any] | None = None) -> etree._Element:
        """As :meth:`call`, for operations that always answer with a body."""
        body = self.call(service, operation, params)
        assert body is not None
        return body

    def expect_fault(self, service: str, operation: str,
                     params: dict[str, Any] | None = None) -> SoapFaultError:
        """The request must be refused with a SOAP fault; a success is a DeviceFault."""
        async def attempt() -> SoapFaultError | None:
            try:
                await self.session.call(service, operation, params)
            except SoapFaultError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                return exc
            return None

        fault = self._guarded(operation, attempt)
        if fault is None:
            raise DeviceFault(f"{self.id}: {operation} succeeded where the camera must refuse "
                              "it with a SOAP fault")
        return fault

    def clock_offset_s(self) -> float:
        """Camera clock minus ours, seconds, measured now (pre-auth GetSystemDateAndTime)."""
        self._guarded("GetSystemDateAndTime", self.session.sync_clock)
        return self.session.clock_offset.total_seconds()

    def run(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run any coroutine against this camera with the same error handling as ``call``."""
        return self._guarded(operation, work)

    def _guarded(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return self.harness.run(work())
            except SoapFaultError as exc:
                error = translate(self.id, exc)  # it answered: the answer is the evidence
                if isinstance(error, CredentialsRefused):
                    self._set_latch(error)
                raise error from exc
            except OnvifError as exc:
                if (_transient(exc) and operation.startswith("Get")
                        and attempt < self.settings.retries):
                    attempt += 1
                    self._record_retry(operation, exc.kind, exc.message, attempt)
                    continue
                raise self._judge(translate(self.id, exc)) from exc
            except TimeoutError as exc:
                raise self._judge(CameraUnreachable(f"{self.id}: {operation}: {exc}")) from exc

    def _judge(self, error: HilError) -> HilError:
        """No usable answer (silence, a dropped connection, garbage): is the camera still there
        at all? If not, it is gone, not wrong: an infrastructure error, and the latch."""
        if isinstance(error, CredentialsRefused):
            self._set_latch(error)
        elif self.latch is None and not self._alive():
            gone = error if isinstance(error, InfrastructureError) else CameraUnreachable(
                f"{error}; the camera no longer answers at all")
            self._set_latch(gone)
            return gone
        return error

    def _alive(self) -> bool:
        """Does the camera still answer at all? One pre-auth request; a second one only if the
        first went out on a pooled connection the camera had already closed."""
        for _attempt in range(2):
            try:
                self.harness.run(self.session.sync_clock())
            except TimeoutError:
                return False
            except OnvifError as exc:
                if _disconnected(exc):
                    continue
                return exc.kind not in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT)
            return True
        return False

    def _record_retry(self, operation: str, kind: ErrorKind, message: str, attempt: int) -> None:
        self.retries.append(RetryRecord(operation, kind.value, message, attempt,
                                        datetime.now(UTC).isoformat(timespec="milliseconds")))

    # -- HTTP beyond SOAP ------------------------------------------------------------------------
    def fetch(self, uri: str) -> HttpReply:
        """GET ``uri`` (a snapshot URI) as devmgr does: HTTP Digest, Basic if that is all the
        camera offers; the reply as it came, for the test to judge."""
        return self._http("Snapshot", lambda: get_authenticated(self.session, uri))

    def post_raw(self, service: str, data: bytes, *,
                 middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()) -> RawReply:
        """POST a prepared SOAP envelope as it is, for tests of authentication itself (devmgr's
        session would fall back from one mechanism to another; these tests must not)."""
        url = self.session.url(service)

        async def post() -> RawReply:
            async with self.harness.pool.session.post(url, data=data,
                                                      middlewares=middlewares) as reply:
                body = await reply.read()
                return RawReply(reply.status,
                                tuple(reply.headers.getall("WWW-Authenticate", [])), body)

        return self._http("POST", post)

    def _http(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        error: HilError
        try:
            return self.harness.run(work())
        except OnvifError as exc:
            error = translate(self.id, exc)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            error = CameraUnreachable(f"{self.id}: {operation}: no answer within "
                                                f"{self.settings.call_timeout_s:g} s ({exc})")
        except aiohttp.ClientConnectorError as exc:
            error = CameraUnreachable(f"{self.id}: {operation}: cannot connect: {exc}")
        except aiohttp.ClientError as exc:
            error = DeviceFault(f"{self.id}: {operation}: HTTP exchange failed: {exc}")
        raise self._judge(error)


def _disconnected(exc: OnvifError) -> bool:
    """The camera closed the connection without a reply (devmgr counts it as a protocol error):
    a keep-alive connection it had dropped, or a camera going away; not an answer either way."""
    return isinstance(exc.__cause__, aiohttp.ServerDisconnectedError)


def _transient(exc: OnvifError) -> bool:
    """Worth one more try, for a read: no answer in time, or a dropped connection."""
    return exc.kind is ErrorKind.TIMEOUT or _disconnected(exc)


def _fatal_error(inventory: Inventory) -> DeviceError | None:
    """The error that leaves nothing to test: the camera gone, or our credentials refused."""
    for error in inventory.errors:
        if error.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT) and inventory.device is None:
            return error
        if error.kind is ErrorKind.AUTH:
            return error
    return None
