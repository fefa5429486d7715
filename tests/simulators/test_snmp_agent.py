"""The camera's SNMP agent, driven the way operators do: with net-snmp's command-line tools.

Every agent runs on the test's own event loop; the net-snmp tools run as subprocesses awaited
with ``asyncio.create_subprocess_exec`` so the loop keeps serving while they wait.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto.api import v2c

from simulators.snmp_agent import SnmpAgent, engine_id_for, sys_object_id_for
from simulators.spec import CameraSpec, SnmpV3User
from simulators.state import CameraState

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.6.1"
ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_MODEL = "1.3.6.1.2.1.47.1.1.1.1.13.1"
ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"

_no_netsnmp = pytest.mark.skipif(
    shutil.which("snmpget") is None,
    reason="net-snmp command-line tools (snmpget, snmpwalk) are not installed: "
           "apt-get install snmp",
)


def netsnmp(test: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a test that drives the agent with net-snmp; skipped where the tools are missing."""
    return pytest.mark.netsnmp(_no_netsnmp(test))


class FakeClock:
    """A monotonic clock the test moves by hand, so uptimes are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    rc: int
    out: str
    err: str


@pytest.fixture(scope="session")
def snmp_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # No user or system snmp.conf defaults, no MIB loading, no writes under /var/lib/snmp.
    home = tmp_path_factory.mktemp("netsnmp")
    return {**os.environ, "SNMPCONFPATH": str(home), "SNMP_PERSISTENT_DIR": str(home),
            "MIBS": "", "HOME": str(home)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def spec() -> CameraSpec:
    spec = CameraSpec.example().with_network(address="127.0.0.1")
    # model_copy skips validation on purpose: port 0 (pick a free one) is a test-only value.
    return spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"port": 0})})


@pytest.fixture
def state(spec: CameraSpec, clock: FakeClock) -> CameraState:
    return CameraState(spec, clock=clock)


@pytest.fixture
async def agent(state: CameraState) -> AsyncIterator[SnmpAgent]:
    agent = SnmpAgent(state, "127.0.0.1", state.spec.snmp.port)
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


@pytest.fixture
def snmp(snmp_env: dict[str, str]) -> Snmp:
    return Snmp(snmp_env)


class Snmp:
    """Runs net-snmp tools against an agent; ``-On`` everywhere so OIDs come back numeric."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def run(self, tool: str, *args: str) -> Run:
        proc = await asyncio.create_subprocess_exec(
            tool, *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
        assert proc.returncode is not None
        return Run(proc.returncode, out.decode(), err.decode())

    @staticmethod
    def v2c(agent: SnmpAgent, community: str = "c4mfleet-ro") -> list[str]:
        return ["-v2c", "-c", community, "-t", "1", "-r", "1", f"127.0.0.1:{agent.port}"]

    @staticmethod
    def v3(agent: SnmpAgent, user: str = "monitor", level: str = "authPriv",
           auth: str = "authpass123", priv: str = "privpass123") -> list[str]:
        args = ["-v3", "-u", user, "-l", level, "-t", "1", "-r", "1"]
        if level != "noAuthNoPriv":
            args += ["-a", "SHA", "-A", auth]
        if level == "authPriv":
            args += ["-x", "AES", "-X", priv]
        return [*args, f"127.0.0.1:{agent.port}"]

    async def get(self, target: list[str], *oids: str) -> dict[str, str]:
        """GET ``oids``; the values as net-snmp prints them with ``-Onq`` (strings quoted)."""
        run = await self.run("snmpget", "-Onq", *target, *oids)
        assert run.rc == 0, run.err
        return parse_onq(run.out)

    async def get_one(self, target: list[str], oid: str, *fmt: str) -> str:
        run = await self.run("snmpget", "-Oqv", *fmt, *target, oid)
        assert run.rc == 0, run.err
        return run.out.strip()


def parse_onq(text: str) -> dict[str, str]:
    """``-Onq`` output to {oid: value}; long hex strings continue on following lines."""
    values: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if line.startswith(".1."):
            oid, _, value = line.partition(" ")
            last = oid.lstrip(".")
            values[last] = value
        elif last is not None:
            values[last] += "\n" + line
    return values


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.strip().strip('"').replace("\n", " "))


# -- identity, no network ----------------------------------------------------------------------
def test_engine_id_is_rfc3411_mac_format(spec: CameraSpec) -> None:
    engine_id = engine_id_for(spec)
    assert engine_id[:4] == (0x80000000 | 39165).to_bytes(4, "big")
    assert engine_id[4] == 3  # format: MAC address
    assert engine_id[5:] == bytes.fromhex("4419b6123456")
    other = spec.model_copy(update={"identity": spec.identity.model_copy(
        update={"mac": "44:19:b6:12:34:57"})})
    assert engine_id_for(other) != engine_id


def test_sys_object_id_is_stable_under_the_vendor(spec: CameraSpec) -> None:
    oid = sys_object_id_for(spec)
    assert oid[:8] == (1, 3, 6, 1, 4, 1, 39165, 1)
    assert sys_object_id_for(CameraSpec.example()) == oid  # same model, same product OID


async def test_stop_is_idempotent_and_start_twice_fails(state: CameraState) -> None:
    agent = SnmpAgent(state, "127.0.0.1", 0)
    await agent.stop()  # before start: nothing to do
    await agent.start()
    with pytest.raises(RuntimeError):
        await agent.start()
    await agent.stop()
    await agent.stop()


async def test_start_on_a_taken_port_raises(state: CameraState) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        agent = SnmpAgent(state, "127.0.0.1", taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await agent.start()
        assert not agent.running


async def test_stop_frees_the_port(state: CameraState) -> None:
    agent = SnmpAgent(state, "127.0.0.1", 0)
    await agent.start()
    port = agent.port
    assert port != 0
    await agent.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))  # would raise EADDRINUSE if the agent still held it
    again = SnmpAgent(state, "127.0.0.1", port)
    await again.start()
    await again.stop()


async def test_garbage_datagrams_do_not_kill_the_agent(agent: SnmpAgent) -> None:
    loop = asyncio.get_running_loop()
    valid = _v2c_get(b"c4mfleet-ro", (1, 3, 6, 1, 2, 1, 1, 5, 0))
    garbage = [
        b"",
        b"\x00",
        b"\xff" * 7,
        bytes(range(256)),
        b"\x30" * 512,  # nested SEQUENCE headers, no content
        b"\x30\x84\xff\xff\xff\xff\x02\x01\x01",  # length far beyond the datagram
        valid[: len(valid) // 2],  # truncated request
        valid.replace(b"\x02\x01\x01", b"\x02\x01\x07", 1),  # unknown SNMP version 7
        valid.replace(b"\xa0", b"\xa9", 1),  # unknown PDU type
        b"\x30\x10\x02\x01\x03\x30\x0b\x02\x01\x01\x02\x01\x00\x04\x01\x04\x02\x01\x03",  # v3 stub
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        for payload in garbage:
            await loop.sock_sendto(sock, payload, ("127.0.0.1", agent.port))
        await loop.sock_sendto(sock, valid, ("127.0.0.1", agent.port))
        # Only the valid request is answered, and it is (the agent survived the rest).
        reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout=2)
    assert b"dome-1" in reply
    assert agent.running


def _v2c_get(community: bytes, oid: tuple[int, ...]) -> bytes:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.Null())])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


# -- SNMPv1/v2c --------------------------------------------------------------------------------
@netsnmp
async def test_v2c_get_system_group(agent: SnmpAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v2c(agent), SYS_DESCR, SYS_OBJECT_ID, SYS_CONTACT, SYS_NAME,
                            SYS_LOCATION)
    assert values[SYS_DESCR] == '"Hikvision DS-2DE4425IW-DE firmware V5.7.3 build 220112"'
    assert values[SYS_OBJECT_ID] == "." + ".".join(map(str, sys_object_id_for(spec)))
    assert values[SYS_OBJECT_ID].startswith(".1.3.6.1.4.1.39165.1.")
    assert values[SYS_CONTACT] == '"ops@example.org"'
    assert values[SYS_NAME] == '"dome-1"'
    assert values[SYS_LOCATION] == f'"{spec.location.address}"'


@netsnmp
async def test_get_of_missing_objects_says_so(agent: SnmpAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", *snmp.v2c(agent), "1.3.6.1.2.1.1.1.1",
                         "1.3.6.1.2.1.1.99.0", "1.3.6.1.4.1.39165.7.0")
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert "No Such Instance" in lines[0]  # sysDescr exists, instance .1 does not
    assert "No Such Object" in lines[1]
    assert "No Such Object" in lines[2]


@netsnmp
async def test_walk_system_group_in_order(agent: SnmpAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpwalk", "-Onq", *snmp.v2c(agent), "1.3.6.1.2.1.1")
    assert run.rc == 0, run.err
    values = parse_onq(run.out)
    assert list(values) == [f"1.3.6.1.2.1.1.{n}.0" for n in range(1, 8)]
    assert values["1.3.6.1.2.1.1.5.0"] == '"dome-1"'
    assert "No more variables" not in run.out + run.err


@netsnmp
async def test_walk_mib2_is_lexicographic_and_ends_cleanly(agent: SnmpAgent, snmp: Snmp) -> None:
    walk = await snmp.run("snmpwalk", "-Onq", *snmp.v2c(agent), "1.3.6.1.2.1")
    assert walk.rc == 0, walk.err
    oids = list(parse_onq(walk.out))
    assert oids == sorted(oids, key=oid_key)
    assert len(oids) == len(set(oids))
    assert {SYS_DESCR, SYS_UPTIME, IF_PHYS_ADDRESS, ENT_SERIAL, ENT_MODEL} <= set(oids)
    assert "1.3.6.1.2.1.2.1.0" in oids  # ifNumber
    assert "No more variables" not in walk.out + walk.err
    # GETBULK walks the same objects (sysUpTime aside, the values are the same too).
    bulk = await snmp.run("snmpbulkwalk", "-Onq", "-Cr5", *snmp.v2c(agent), "1.3.6.1.2.1")
    assert bulk.rc == 0, bulk.err
    assert list(parse_onq(bulk.out)) == oids
    # SNMPv1 walks it too (endOfMibView becomes noSuchName there).
    v1 = await snmp.run("snmpwalk", "-Onq", "-v1", "-c", "c4mfleet-ro", "-t", "1", "-r", "1",
                        f"127.0.0.1:{agent.port}", "1.3.6.1.2.1")
    assert v1.rc == 0, v1.err
    assert list(parse_onq(v1.out)) == oids


@netsnmp
async def test_getbulk_with_non_repeaters(agent: SnmpAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpbulkget", "-Onq", "-Cn1", "-Cr3", *snmp.v2c(agent),
                         "1.3.6.1.2.1.1.4", "1.3.6.1.2.1.2.2.1.1")
    assert run.rc == 0, run.err
    assert list(parse_onq(run.out)) == [
        "1.3.6.1.2.1.1.4.0",  # the non-repeater: next after sysContact
        "1.3.6.1.2.1.2.2.1.1.1", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.3.1",
    ]


@netsnmp
async def test_if_phys_address_is_the_mac(agent: SnmpAgent, snmp: Snmp, spec: CameraSpec) -> None:
    value = await snmp.get_one(snmp.v2c(agent), IF_PHYS_ADDRESS, "-Ox")
    assert hex_bytes(value) == bytes.fromhex(spec.identity.mac.replace(":", ""))
    values = await snmp.get(snmp.v2c(agent), "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.1.0")
    assert values == {"1.3.6.1.2.1.2.2.1.2.1": '"eth0"', "1.3.6.1.2.1.2.1.0": "1"}


@netsnmp
async def test_entity_serial_and_model(agent: SnmpAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v2c(agent), ENT_SERIAL, ENT_MODEL)
    assert values[ENT_SERIAL] == f'"{spec.identity.serial}"'
    assert values[ENT_MODEL] == f'"{spec.identity.model}"'


@netsnmp
async def test_wrong_community_gets_no_answer(agent: SnmpAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", "-v2c", "-c", "public", "-t", "0.5", "-r", "0",
                         f"127.0.0.1:{agent.port}", SYS_NAME)
    assert run.rc != 0
    assert "Timeout" in run.err
    assert run.out == ""


@netsnmp
async def test_set_is_refused_and_changes_nothing(agent: SnmpAgent, snmp: Snmp,
                                                  state: CameraState) -> None:
    before = state.spec
    run = await snmp.run("snmpset", "-On", *snmp.v2c(agent), SYS_NAME, "s", "hijacked")
    assert run.rc != 0
    assert "noAccess" in run.out + run.err
    run = await snmp.run("snmpset", "-On", *snmp.v3(agent), SYS_LOCATION, "s", "elsewhere")
    assert run.rc != 0
    assert "noAccess" in run.out + run.err
    assert state.spec is before
    assert await snmp.get_one(snmp.v2c(agent), SYS_NAME) == '"dome-1"'


@netsnmp
async def test_community_none_turns_v1_v2c_off(spec: CameraSpec, clock: FakeClock,
                                               snmp: Snmp) -> None:
    v3_only = spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"community": None})})
    agent = SnmpAgent(CameraState(v3_only, clock=clock), "127.0.0.1", 0)
    await agent.start()
    try:
        run = await snmp.run("snmpget", "-On", "-v2c", "-c", "c4mfleet-ro", "-t", "0.5", "-r",
                             "0", f"127.0.0.1:{agent.port}", SYS_NAME)
        assert "Timeout" in run.err
        assert await snmp.get_one(snmp.v3(agent), SYS_NAME) == '"dome-1"'
    finally:
        await agent.stop()


# -- SNMPv3 ----------------------------------------------------------------------------------
@netsnmp
async def test_v3_auth_priv_sha_aes(agent: SnmpAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v3(agent), SYS_NAME, ENT_SERIAL, ENGINE_ID)
    assert values[SYS_NAME] == '"dome-1"'
    assert values[ENT_SERIAL] == f'"{spec.identity.serial}"'
    assert hex_bytes(values[ENGINE_ID]) == engine_id_for(spec) == agent.engine_id
    walk = await snmp.run("snmpwalk", "-Onq", *snmp.v3(agent), "1.3.6.1.2.1.1")
    assert walk.rc == 0, walk.err
    assert len(parse_onq(walk.out)) == 7


@netsnmp
async def test_v3_wrong_auth_key_fails(agent: SnmpAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", *snmp.v3(agent, auth="not-the-key"), SYS_NAME)
    assert run.rc != 0
    assert "Authentication failure" in run.err
    assert "dome-1" not in run.out


@netsnmp
async def test_v3_unknown_user_and_weaker_level_get_no_data(agent: SnmpAgent,
                                                            snmp: Snmp) -> None:
    unknown = await snmp.run("snmpget", "-On", *snmp.v3(agent, user="intruder"), SYS_NAME)
    assert unknown.rc != 0
    assert "Unknown user name" in unknown.err
    # "monitor" is an authPriv user: authNoPriv requests must not be served.
    weaker = await snmp.run("snmpget", "-On", *snmp.v3(agent, level="authNoPriv"), SYS_NAME)
    assert weaker.rc != 0
    assert "dome-1" not in weaker.out


@netsnmp
@pytest.mark.parametrize("case", [
    ("MD5", "DES", "authPriv"),
    ("SHA256", "none", "authNoPriv"),
    ("none", "none", "noAuthNoPriv"),
], ids="-".join)
async def test_v3_protocols(spec: CameraSpec, clock: FakeClock, snmp: Snmp,
                            case: tuple[str, str, str]) -> None:
    auth, priv, level = case
    user = SnmpV3User(name="ops", auth_protocol=auth, auth_key="auth-secret-1" * (auth != "none"),
                      priv_protocol=priv, priv_key="priv-secret-1" * (priv != "none"))
    spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"v3_users": (user,)})})
    agent = SnmpAgent(CameraState(spec, clock=clock), "127.0.0.1", 0)
    await agent.start()
    try:
        args = ["-v3", "-u", "ops", "-l", level, "-t", "1", "-r", "1"]
        if auth != "none":
            args += ["-a", auth, "-A", "auth-secret-1"]
        if priv != "none":
            args += ["-x", priv, "-X", "priv-secret-1"]
        value = await snmp.get_one([*args, f"127.0.0.1:{agent.port}"], SYS_NAME)
        assert value == '"dome-1"'
    finally:
        await agent.stop()


# -- live state --------------------------------------------------------------------------------
@netsnmp
async def test_sys_uptime_follows_the_camera_clock(agent: SnmpAgent, snmp: Snmp,
                                                   clock: FakeClock) -> None:
    first = int(await snmp.get_one(snmp.v2c(agent), SYS_UPTIME, "-Ot"))
    clock.now += 12.34
    second = int(await snmp.get_one(snmp.v2c(agent), SYS_UPTIME, "-Ot"))
    assert first == 0
    assert second == 1234


@netsnmp
async def test_reboot_bumps_engine_boots_and_resets_uptime(agent: SnmpAgent, snmp: Snmp,
                                                           state: CameraState,
                                                           clock: FakeClock) -> None:
    clock.now += 3600
    run = await snmp.run("snmpget", "-Onqt", *snmp.v3(agent), ENGINE_BOOTS, SYS_UPTIME)
    assert run.rc == 0, run.err
    values = parse_onq(run.out)
    assert values[ENGINE_BOOTS] == "1"
    assert int(values[SYS_UPTIME]) == 360_000  # an hour, in hundredths of a second
    state.reboot()
    clock.now += 2
    # A fresh v3 client re-discovers the engine and authenticates with the new boots/time.
    run = await snmp.run("snmpget", "-Onqt", *snmp.v3(agent), ENGINE_BOOTS, SYS_UPTIME)
    assert run.rc == 0, run.err
    values = parse_onq(run.out)
    assert values[ENGINE_BOOTS] == "2"
    assert int(values[SYS_UPTIME]) == 200
    assert await snmp.get_one(snmp.v2c(agent), ENGINE_BOOTS) == "2"


@netsnmp
async def test_refresh_rereads_the_spec(agent: SnmpAgent, snmp: Snmp,
                                        state: CameraState) -> None:
    spec = state.spec
    state.spec = spec.model_copy(update={
        "location": spec.location.model_copy(update={"address": "武汉市江岸区中山大道1号"}),
        "network": spec.network.model_copy(update={"hostname": "dome-1b"}),
        "snmp": spec.snmp.model_copy(update={"community": "rotated", "contact": "noc@example.org"}),
    })
    agent.refresh()
    values = await snmp.get(snmp.v2c(agent, "rotated"), SYS_NAME, SYS_CONTACT)
    assert values == {SYS_NAME: '"dome-1b"', SYS_CONTACT: '"noc@example.org"'}
    location = await snmp.get_one(snmp.v2c(agent, "rotated"), SYS_LOCATION, "-Ox")
    assert hex_bytes(location).decode("utf-8") == "武汉市江岸区中山大道1号"  # UTF-8 on the wire
    old = await snmp.run("snmpget", "-On", "-v2c", "-c", "c4mfleet-ro", "-t", "0.5", "-r", "0",
                         f"127.0.0.1:{agent.port}", SYS_NAME)
    assert "Timeout" in old.err
    assert await snmp.get_one(snmp.v3(agent), SYS_NAME) == '"dome-1b"'


async def test_long_lived_v3_client_resyncs_after_reboot(agent: SnmpAgent, state: CameraState,
                                                         clock: FakeClock) -> None:
    # pysnmp's manager keeps the engine's boots/time between requests (net-snmp one-shots
    # re-discover every time), so it exercises the notInTimeWindow re-synchronisation.
    manager = hlapi.SnmpEngine()
    user = hlapi.UsmUserData("monitor", "authpass123", "privpass123",
                             authProtocol=hlapi.usmHMACSHAAuthProtocol,
                             privProtocol=hlapi.usmAesCfb128Protocol)
    target = await hlapi.UdpTransportTarget.create(("127.0.0.1", agent.port), timeout=1,
                                                   retries=1)

    async def boots_and_uptime() -> tuple[int, int]:
        error, status, _, var_binds = await hlapi.get_cmd(
            manager, user, target, hlapi.ContextData(),
            hlapi.ObjectType(hlapi.ObjectIdentity(ENGINE_BOOTS)),
            hlapi.ObjectType(hlapi.ObjectIdentity(SYS_UPTIME)))
        assert error is None
        assert not status
        return int(var_binds[0][1]), int(var_binds[1][1])

    try:
        assert await boots_and_uptime() == (1, 0)
        clock.now += 500  # far outside the client's 150 s time window
        assert await boots_and_uptime() == (1, 50_000)
        state.reboot()
        assert await boots_and_uptime() == (2, 0)
        clock.now += 3
        assert await boots_and_uptime() == (2, 300)
    finally:
        manager.close_dispatcher()
