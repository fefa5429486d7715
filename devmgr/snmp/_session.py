"""``SnmpSession``: many concurrent identity requests over shared sockets and engines.

Per host: v3 engine discovery and the v3 users first (if any), then the v2c communities;
the most telling outcome wins when nothing works (see :mod:`devmgr.snmp`).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from pydantic import ValidationError
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher
from pysnmp.hlapi.v1arch.asyncio import get_cmd as v1_get_cmd

from camfleet.errors import DeviceError, ErrorKind
from camfleet.targets import SnmpCredentials, Target, TargetsError
from devmgr.inventory.model import SnmpIdentity
from devmgr.snmp._answers import (
    V2C_VAR_BINDS,
    Attempt,
    classify_failure,
    exception_error,
    parse_identity,
    scrub,
    where,
)
from devmgr.snmp._config import SnmpConfig
from devmgr.snmp._plan import Community, Plan, prepare
from devmgr.snmp._transport import TRANSPORTS, close_transport_dispatcher, transport_target
from devmgr.snmp._v3 import DEFAULT_HOSTS_PER_ENGINE, V3Engine


class SnmpSession:
    """The client side of many concurrent SNMP requests; an async context manager.

    v2c goes through pysnmp's v1arch ``SnmpDispatcher`` (stateless: one socket, requests
    matched by request-id, no configuration tables), shared by everything in the session.
    v3 goes through v3arch ``SnmpEngine`` instances, one per ``hosts_per_engine`` hosts (see
    :class:`V3Engine` for why), created only when a v3 user is tried.

    ``concurrency`` bounds the hosts in flight through this session, however many tasks call
    :meth:`identity`. Close it (or leave the ``async with``) to free its sockets and timer
    tasks. Use it on one event loop only.
    """

    def __init__(self, *, concurrency: int = 128,
                 hosts_per_engine: int = DEFAULT_HOSTS_PER_ENGINE) -> None:
        if hosts_per_engine < 1:
            raise ValueError("hosts_per_engine must be at least 1")
        self._slots = asyncio.Semaphore(concurrency)
        self._hosts_per_engine = hosts_per_engine
        self._v2c: Any = None
        self._v2c_domains: set[tuple[int, ...]] = set()
        self._open = False
        self._v3: V3Engine | None = None
        #: Every v3 engine not closed yet (the current one and retired ones still in use).
        self._v3_engines: set[V3Engine] = set()
        #: v3 engines built so far (for measurements).
        self.engines_created = 0

    async def __aenter__(self) -> SnmpSession:
        self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def open(self) -> None:
        """Make the session usable; needs a running event loop (pysnmp binds to it)."""
        self._open = True

    async def close(self) -> None:
        """Close every socket and stop every timer task; idempotent."""
        self._open = False
        v1, self._v2c = self._v2c, None
        self._v2c_domains.clear()
        if v1 is not None:
            await close_transport_dispatcher(v1.transport_dispatcher)
        self._v3 = None
        engines, self._v3_engines = self._v3_engines, set()
        for engine in engines:
            await engine.close()

    def _v2c_dispatcher(self, target: Any) -> Any:
        if self._v2c is None:
            # Our own transport dispatcher, so that our transports (bigger receive buffer)
            # are the ones used: a dispatcher given to SnmpDispatcher is not "automatic", and
            # it registers no transport of its own.
            self._v2c = SnmpDispatcher(AsyncioDispatcher())
        dispatcher = self._v2c.transport_dispatcher
        domain = tuple(target.TRANSPORT_DOMAIN)
        if domain not in self._v2c_domains:
            dispatcher.register_transport(target.TRANSPORT_DOMAIN,
                                          TRANSPORTS[domain]().open_client_mode())
            self._v2c_domains.add(domain)
        return self._v2c

    def _checkout_v3(self) -> V3Engine:
        current = self._v3
        if current is None or current.full:
            current = self._v3 = V3Engine(self._hosts_per_engine)
            self._v3_engines.add(current)
            self.engines_created += 1
        current.hosts += 1
        current.active += 1
        return current

    async def _checkin_v3(self, engine: V3Engine) -> None:
        engine.active -= 1
        if engine.full and engine.active == 0:  # served its hosts; the next gets a new one
            if engine is self._v3:
                self._v3 = None
            self._v3_engines.discard(engine)
            await engine.close()

    # -- requests ------------------------------------------------------------------------------
    async def identity(self, address: str, config: SnmpConfig | SnmpCredentials, *,
                       port: int | None = None) -> SnmpIdentity | DeviceError:
        """Identify one host (see the module docstring for the order of attempts)."""
        if isinstance(config, SnmpCredentials):
            port = config.port if port is None else port
            config = SnmpConfig.from_credentials(config)
        return await self.identify(address, prepare(config), port)

    async def identify(self, address: str, plan: Plan,
                       port: int | None) -> SnmpIdentity | DeviceError:
        """Identify one host with credentials already prepared (a sweep prepares them once)."""
        if not self._open:
            raise RuntimeError("the SNMP session is not open")
        port = plan.port if port is None else port
        async with self._slots:
            try:
                return await self._attempts(address, port, plan)
            except (PySnmpError, OSError) as exc:
                return exception_error(exc, address, port, plan)

    async def _attempts(self, address: str, port: int,
                        plan: Plan) -> SnmpIdentity | DeviceError:
        notes: list[str] = []
        kinds: list[ErrorKind] = []
        try:
            target = await transport_target(address, port, plan)
        except PySnmpError:  # a host name that does not resolve
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{where(address, port)}: cannot resolve the address")
        domain = tuple(target.TRANSPORT_DOMAIN)
        peer = (str(target.transport_address[0]), int(target.transport_address[1]))
        if plan.v3_users:
            engine = self._checkout_v3()
            try:
                found = await engine.discover(domain, peer, plan)
                if isinstance(found, Attempt):
                    notes.append(f"v3 engine discovery: {found.detail}")
                    kinds.append(found.kind or ErrorKind.TIMEOUT)
                else:
                    for user in plan.v3_users:
                        attempt = await engine.get(domain, peer, user, found, plan)
                        if attempt.identity is not None:
                            return attempt.identity
                        notes.append(f"v3 user {user.name!r} (engine "
                                     f"{found.engine_id.hex()}): {attempt.detail}")
                        kinds.append(attempt.kind or ErrorKind.PROTOCOL)
            finally:
                await self._checkin_v3(engine)
        if plan.communities:
            attempts = await self._communities(target, plan)
            for _, attempt in attempts:
                if attempt.identity is not None:
                    return attempt.identity
            labels = ", ".join(c.label.removeprefix("v2c:") for c, _ in attempts)
            details = sorted({a.detail for _, a in attempts})
            notes.append(f"v2c community {labels}: {'; '.join(details)}")
            kinds.extend(a.kind or ErrorKind.PROTOCOL for _, a in attempts)
        # The most telling outcome wins: a refusal proves the host is alive; garbage beats
        # silence; a timeout says least.
        for kind in (ErrorKind.AUTH, ErrorKind.PROTOCOL, ErrorKind.UNREACHABLE):
            if kind in kinds:
                break
        else:
            kind = ErrorKind.TIMEOUT
        message = scrub(f"{where(address, port)}: " + "; ".join(notes), plan.secrets)
        return DeviceError(kind=kind, operation="snmp-get", message=message)

    async def _communities(self, target: Any,
                           plan: Plan) -> list[tuple[Community, Attempt]]:
        """Try the communities; stop at the first that answers. Returns the attempts made."""
        if not plan.parallel_communities or len(plan.communities) == 1:
            made = []
            for community in plan.communities:
                attempt = await self._v2c_get(target, community, plan)
                made.append((community, attempt))
                # Go on after silence (wrong community) or a refusal (this community may not
                # read these objects, another may); stop at an identity or garbage.
                if attempt.kind not in (ErrorKind.TIMEOUT, ErrorKind.AUTH):
                    break
            return made
        tasks = {asyncio.ensure_future(self._v2c_get(target, c, plan)): c
                 for c in plan.communities}
        made = []
        try:
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                made.extend((tasks[task], task.result()) for task in done)
                if any(a.identity is not None for _, a in made):
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # Report in configured order, whatever order the answers came in.
        order = {id(c): i for i, c in enumerate(plan.communities)}
        return sorted(made, key=lambda pair: order[id(pair[0])])

    async def _v2c_get(self, target: Any, community: Community, plan: Plan) -> Attempt:
        # v1arch matches an answer to its request by request-id only (a random 31-bit start,
        # then counting), not by source address: enough against mix-ups between the hosts of a
        # sweep; v2c offers no protection against a forger on the path anyway.
        deadline = plan.round_trip_s + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, status, index, var_binds = await v1_get_cmd(
                    self._v2c_dispatcher(target), community.auth, target, *V2C_VAR_BINDS,
                    lookupMib=False)
        except TimeoutError:
            return Attempt(kind=ErrorKind.TIMEOUT, detail=f"no answer within {deadline:g} s")
        failed = classify_failure(indication, status, index, plan)
        if failed is not None:
            return failed
        address = target.transport_address
        return parse_identity(str(address[0]), int(address[1]), community.label, var_binds,
                              None)


async def snmp_identity(address: str, config: SnmpConfig | SnmpCredentials, *,
                        port: int | None = None,
                        session: SnmpSession | None = None) -> SnmpIdentity | DeviceError:
    """Identify one host. Never raises for device trouble: errors come back classified.

    Without ``session`` a private one is opened and closed (~60 ms of CPU for the engine);
    pass a shared :class:`SnmpSession` when identifying many hosts. Raises
    :class:`~camfleet.targets.TargetsError` if a credential's environment variable is unset.
    """
    if session is not None:
        return await session.identity(address, config, port=port)
    async with SnmpSession(concurrency=1) as private:
        return await private.identity(address, config, port=port)


async def snmp_identity_for_target(target: Target, *, session: SnmpSession | None = None,
                                   timeout_s: float = 1.0,
                                   retries: int = 1) -> SnmpIdentity | DeviceError:
    """Identify a targets-file entry with its own SNMP credentials (``*_env`` resolved).

    A target without an ``snmp`` section is a configuration problem, not a device one:
    :class:`~camfleet.targets.TargetsError`, as for a missing environment variable.
    """
    if target.snmp is None:
        raise TargetsError(f"target {target.id}: has no snmp credentials")
    try:
        config = SnmpConfig.from_credentials(target.snmp, timeout_s=timeout_s,
                                             retries=retries)
        prepare(config)  # every *_env reference resolves, or the error names the target
    except ValidationError as exc:  # neither a community nor a v3 user
        raise TargetsError(f"target {target.id}: unusable snmp credentials: "
                           f"{exc.errors()[0]['msg']}") from None
    except TargetsError as exc:
        raise TargetsError(f"target {target.id}: {exc}") from None
    return await snmp_identity(target.address, config, port=target.snmp.port, session=session)
