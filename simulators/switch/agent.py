"""The SNMP side of simulated switches, and a rack that runs a fleet's switches in a thread.

``SwitchAgent`` is a switch on a shared :class:`~simulators.snmp_agent.SnmpAgentHost` (the
same engine machinery the cameras use): v1/v2c with the read community, v3 with the spec's
users, and the write community (``private`` by default) allowed to set
``pethPsePortAdminEnable``.

``SwitchRack`` owns an event loop in a thread of its own, serving every switch of a fleet;
the fleet supervisor (a synchronous program) drives it through :meth:`SwitchRack.call`.

    >>> from simulators.switch.model import SwitchSpec
    >>> rack = SwitchRack([SwitchSpec(name="sw-a", ports=8)])
    >>> bound = rack.start({"sw-a": ("127.0.0.1", 0)})
    >>> bound["sw-a"][0]
    '127.0.0.1'
    >>> rack.call(lambda switches: switches["sw-a"].link_up(1))
    False
    >>> rack.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import struct
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final, TypeVar

from simulators.snmp_agent._hooks import WRITE_COMMUNITY_SECURITY_NAME
from simulators.snmp_agent._host import AgentBase, SnmpAgentHost
from simulators.snmp_agent._usm import NO_AUTH
from simulators.spec import SnmpSpec
from simulators.switch.mib import SwitchMib
from simulators.switch.model import SimSwitch, SwitchSpec

T = TypeVar("T")
#: Enterprise number in the switch's engine ID (net-snmp's, as the sysObjectID).
_ENTERPRISE: Final = 8072
#: Told (switch name, port, powered) on the rack's thread when a PoE port changes.
RackPowerListener = Callable[[str, int, bool], None]


def switch_engine_id(spec: SwitchSpec) -> bytes:
    """RFC 3411 engine ID, format 3 (MAC): stable across restarts, distinct per switch."""
    return struct.pack("!IB", 0x80000000 | _ENTERPRISE, 3) + bytes.fromhex(
        spec.bridge_mac.replace(":", ""))


class SwitchAgent(AgentBase):
    """One simulated switch on an SNMP agent host."""

    def __init__(self, host: SnmpAgentHost, switch: SimSwitch, address: str,
                 port: int) -> None:
        super().__init__(host, address, port, clock=switch, mib=SwitchMib(switch),
                         engine_id=switch_engine_id(switch.spec))
        self.switch = switch

    def _current_engine_id(self) -> bytes:
        return switch_engine_id(self.switch.spec)

    def _current_access(self) -> SnmpSpec:
        return self.switch.spec.snmp

    def _reload_objects(self) -> None:
        self.switch.version += 1  # render again

    def _label(self) -> str:
        return f"switch {self.switch.spec.name}"

    def _apply_access(self, snmp: SnmpSpec, register: bool) -> None:
        super()._apply_access(snmp, register)
        write = self.switch.spec.write_community
        self._write_community = None if write is None else write.encode("utf-8")
        self._writers = {} if write is None else {
            (1, WRITE_COMMUNITY_SECURITY_NAME): NO_AUTH,
            (2, WRITE_COMMUNITY_SECURITY_NAME): NO_AUTH}
        if write is not None:  # the write community reads too, as rwcommunity does
            self._readers.update(self._writers)


class SwitchRack:
    """A fleet's switches, served from one event loop in a daemon thread.

    ``start(bindings)`` binds each switch's agent (``{name: (address, port)}``, port 0: any
    free one) and returns where each listens; ``call(fn)`` runs ``fn(switches)`` on the
    rack's loop and returns its result (the switches are not thread-safe); ``stop()`` frees
    every port. ``on_power`` hears PoE changes made over SNMP, on the rack's thread: it must
    not block (hand the work to another thread).
    """

    def __init__(self, specs: Sequence[SwitchSpec]) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError("switch names in a fleet must be unique")
        self.switches: dict[str, SimSwitch] = {s.name: SimSwitch(s) for s in specs}
        self.on_power: RackPowerListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._host: SnmpAgentHost | None = None
        self._agents: dict[str, SwitchAgent] = {}
        for name, switch in self.switches.items():
            switch.on_power = self._power_listener(name)

    def _power_listener(self, name: str) -> Callable[[int, bool], None]:
        def heard(port: int, powered: bool) -> None:
            if self.on_power is not None:
                self.on_power(name, port, powered)
        return heard

    def start(self, bindings: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
        if self._loop is not None:
            raise RuntimeError("the switch rack is already running")
        missing = sorted(set(self.switches) - set(bindings))
        if missing:
            raise ValueError(f"no address for switch(es) {', '.join(missing)}")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="switch-rack",
                                        daemon=True)
        self._loop = loop
        self._thread.start()
        try:
            return self._run(self._start(bindings))
        except BaseException:
            self.stop()
            raise

    async def _start(self, bindings: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
        self._host = SnmpAgentHost()
        await self._host.open()
        bound = {}
        for name, switch in self.switches.items():
            address, port = bindings[name]
            agent = SwitchAgent(self._host, switch, address, port)
            await agent.start()
            self._agents[name] = agent
            bound[name] = (agent.address, agent.port)
        return bound

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the switch rack is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    def call(self, fn: Callable[[dict[str, SimSwitch]], T]) -> T:
        """``fn(switches)`` on the rack's loop; its result, or its exception."""
        loop = self._loop
        if loop is None:  # not started: nothing else touches the switches
            return fn(self.switches)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(self.switches))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)
        loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    def stop(self) -> None:
        """Close every agent (ports free) and end the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._host is not None:
            host, self._host = self._host, None
            asyncio.run_coroutine_threadsafe(host.close(), loop).result(timeout=30)
        self._agents.clear()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None
