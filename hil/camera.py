"""The camera under test: a target, a session over devmgr's client, what it advertises, a latch.

``Camera`` is what the ``camera`` fixture hands a test. It talks through devmgr's lean ONVIF
client (one ``OnvifPool`` per process, on :class:`~hil.loop.LoopThread`) and adds what an
acceptance run needs on top:

* **facts** on first use: devmgr's inventory of the unit (identity, services, profiles, PTZ
  node and limits, ...), from which its capabilities are decided (:mod:`hil.capabilities`);
* **errors by fault**: a wrong answer raises :class:`~hil.errors.DeviceFault` (a FAIL); no fair
  answer raises an :class:`~hil.errors.InfrastructureError` (an ERROR);
* **retries** only where they cannot hide a defect: a *read* (``Get*``) that timed out or
  whose connection was dropped is tried again up to ``--hil-retries`` times, and each retry
  is recorded for the reports;
* **a latch**: once the camera stops answering (refused connection, no answer, and a liveness
  check confirms it) or refuses our credentials, it is marked broken with the original error,
  and its remaining tests are skipped with that error instead of timing out one by one.

    body = camera.call("device", "GetDeviceInformation")
    body.findtext("{*}SerialNumber")
    fault = camera.expect_fault("ptz", "AbsoluteMove", {...})   # the call must be refused
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from lxml import etree

from camfleet.errors import DeviceError, ErrorKind
from camfleet.http import HttpAuth, HttpRequest, HttpResponse, TransportError
from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import Target, TargetsError
from devmgr.inventory.collect import collect_inventory
from devmgr.inventory.model import Inventory
from devmgr.onvif.errors import OnvifError, SoapFaultError
from devmgr.onvif.session import OnvifPool, OnvifSession, Timeouts
from devmgr.onvif.snapshot import HttpReply, get_authenticated
from devmgr.onvif.soap import MAX_RESPONSE_BYTES
from devmgr.onvif.transport import HttpTransport
from devmgr.switches import PowerError, power
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
from hil.power import PowerPlug
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


class Harness:
    """Per process: the event loop thread and the one ``OnvifPool`` all cameras share.

    ``transport``: what the pool talks through (default: devmgr's aiohttp transport); a
    simulated camera in this process, for the harness's own tests.
    """

    def __init__(self, settings: HilSettings, transport: HttpTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
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
        pool = OnvifPool(limit=64, timeouts=self.timeouts, transport=self.transport)

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
    discovery_port: int = wsd.PORT
    multicast_interface: str | None = None
    facts: Inventory | None = None
    capabilities: frozenset[str] = frozenset()
    latch: Latch | None = None
    #: Why the camera cannot be tested at all (fleet not started): the first test's ERROR.
    start_failure: InfrastructureError | None = None
    retries: list[RetryRecord] = field(default_factory=list)
    #: The test currently running on this camera (named in latch messages).
    current_test: str = ""
    #: Refused logins the run's tests caused with the targets file's account.
    auth_failures: int = 0
    #: Addresses of every camera of the run (WS-Discovery rounds probe them together).
    peers: tuple[str, ...] = ()
    #: Requests made of the camera, by operation, retries included: what the run retrieved,
    #: for the registry's audit log (``hil.compliance.log_requests``).
    requests: Counter[str] = field(default_factory=Counter)
    #: ``--hil-power``: the switch port powering it; it is power-cycled once before latching.
    power: PowerPlug | None = None
    power_cycled: bool = False
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
                                         self.target.onvif.username, password,
                                         allow_basic=self.target.onvif.allow_basic)
        return self._session

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
            self._check()
        except InfrastructureError as exc:
            if self.latch is None and self._revive(exc):
                self._check()  # powered back: a second failure latches in _judge
                return
            if self.latch is None:
                self._set_latch(exc)
            raise

    def _check(self) -> None:
        if self.facts is None:
            self._collect_facts()
        else:
            self._guarded("GetSystemDateAndTime", self.session.sync_clock)

    def _revive(self, error: HilError) -> bool:
        """Power-cycle a silent camera once (``--hil-power``), recorded with the retries;
        True when it answers again."""
        if self.power is None or self.power_cycled or isinstance(error, CredentialsRefused):
            return False
        self.power_cycled = True
        plug, wait_s = self.power, self.settings.reboot_timeout_s
        try:
            result = self.harness.run(power("cycle", self.target, plug.switch, plug.port,
                                            off_s=1.0, wait_s=wait_s), wait_s + 30.0)
        except PowerError as exc:
            self._record_retry("power-cycle", ErrorKind.PROTOCOL, f"{exc} (after: {error})", 1)
            return False
        self._record_retry("power-cycle", ErrorKind.UNREACHABLE,
                           f"{result.describe()} (after: {error})", 1)
        self._session = None  # a fresh session: the rebooted camera has closed our connections
        return bool(result.answered)

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
        self.requests["inventory (configuration)"] += 1
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
            self.requests[operation] += 1
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
        elif self.latch is None and not self._alive() and not self._revive(error):
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
        camera offers and the target allows it; the reply as it came, for the test to judge."""
        return self._http("Snapshot", lambda: get_authenticated(self.session, uri))

    def post_raw(self, service: str, data: bytes, *,
                 auth: HttpAuth | None = None) -> HttpResponse:
        """POST a prepared SOAP envelope as it is (``auth``: HTTP authentication to perform),
        for tests of authentication itself: devmgr's session would fall back from one
        mechanism to another; these tests must not. The reply comes back as it came."""
        request = HttpRequest("POST", self.session.url(service), data, auth=auth,
                              limit=MAX_RESPONSE_BYTES)

        async def post() -> HttpResponse:
            try:
                return await self.harness.pool.transport.send(request)
            except TransportError as exc:
                raise OnvifError.from_transport("POST", exc) from exc

        return self._http("POST", post)

    def _http(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        error: HilError
        self.requests[operation] += 1
        try:
            return self.harness.run(work())
        except OnvifError as exc:
            error = translate(self.id, exc)
        except TimeoutError as exc:
            error = CameraUnreachable(f"{self.id}: {operation}: {exc}")
        raise self._judge(error)


def _disconnected(exc: OnvifError) -> bool:
    """The camera dropped the connection without a reply: a keep-alive connection it had
    closed, or a camera going away; not an answer either way."""
    return exc.kind is ErrorKind.DISCONNECTED


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
