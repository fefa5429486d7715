"""The camera's SNMP agents, driven the way operators do: with net-snmp's command-line tools.

Every agent runs on the test's own event loop; the net-snmp tools run as subprocesses awaited
with ``asyncio.create_subprocess_exec`` so the loop keeps serving while they wait.

Tests taking ``make_agent`` (directly or through the ``agent`` fixture) run twice: against the
stand-alone :class:`SnmpAgent`, and against a camera on a shared :class:`SnmpAgentHost` that
also hosts two other cameras with other engine IDs and boots, one sharing the camera's
community and one using "public", with users named like the camera's ("monitor" with other
keys) and like the ones tests expect to be refused ("intruder"). Any cross-talk between
cameras on a host would make those tests fail, and the hosted variant checks at teardown that
the other cameras still answer as themselves.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto.api import v2c
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from simulators.snmp_agent import (
    HostedAgent,
    SnmpAgent,
    SnmpAgentHost,
    engine_id_for,
    sys_object_id_for,
)
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

SYS_NAME_OID = (1, 3, 6, 1, 2, 1, 1, 5, 0)
ENGINE_BOOTS_OID = (1, 3, 6, 1, 6, 3, 10, 2, 1, 2, 0)

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

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    rc: int
    out: str
    err: str


#: Makes an agent for (state, address, port), not yet started, in the variant under test.
MakeAgent = Callable[[CameraState, str, int], HostedAgent]


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


def other_camera(spec: CameraSpec, name: str, mac: str, community: str | None,
                 users: tuple[SnmpV3User, ...]) -> CameraSpec:
    """Another unit of the same model: its own name, MAC (so engine ID), serial, credentials."""
    return spec.model_copy(update={
        "id": name,
        "identity": spec.identity.model_copy(update={"mac": mac, "serial": f"SN-{name}"}),
        "network": spec.network.model_copy(update={"hostname": name}),
        "snmp": spec.snmp.model_copy(update={"community": community, "v3_users": users}),
    })


def neighbours(spec: CameraSpec) -> list[tuple[CameraSpec, int]]:
    """The other cameras on the host in the hosted variant, with their snmpEngineBoots."""
    return [
        # Shares the fleet community; has a "monitor" with other keys and an "intruder".
        (other_camera(spec, "dome-2", "44:19:b6:00:00:02", "c4mfleet-ro", (
            SnmpV3User(name="monitor", auth_key="other-auth-key", priv_key="other-priv-key"),
            SnmpV3User(name="intruder", auth_key="authpass123", priv_key="privpass123"),
        )), 7),
        # The community the tests expect the camera to refuse; "monitor" at a weaker level.
        (other_camera(spec, "dome-3", "44:19:b6:00:00:03", "public", (
            SnmpV3User(name="monitor", auth_key="authpass123", priv_protocol="none"),
        )), 3),
    ]


@pytest.fixture(params=["single", "hosted"])
async def make_agent(request: pytest.FixtureRequest, spec: CameraSpec,
                     clock: FakeClock) -> AsyncIterator[MakeAgent]:
    if request.param == "single":
        made: list[SnmpAgent] = []

        def make(state: CameraState, address: str, port: int) -> HostedAgent:
            made.append(SnmpAgent(state, address, port))
            return made[-1]

        try:
            yield make
        finally:
            for agent in made:
                await agent.stop()
        return

    async with SnmpAgentHost() as host:
        others = []
        for other, boots in neighbours(spec):
            other_state = CameraState(other, clock=FakeClock(5000.0))
            other_state.boots = boots
            others.append(await host.add(other_state, "127.0.0.1", 0))
        yield host.agent
        # Whatever the test did to its camera, the others still answer, each as itself.
        for other_agent, (other, _) in zip(others, neighbours(spec), strict=True):
            assert other.snmp.community is not None
            name = await udp_v2c_get(other_agent.port, other.snmp.community, SYS_NAME_OID)
            assert name == other.hostname.encode()


@pytest.fixture
async def agent(make_agent: MakeAgent, state: CameraState) -> AsyncIterator[HostedAgent]:
    agent = make_agent(state, "127.0.0.1", state.spec.snmp.port)
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
    def v2c(agent: HostedAgent, community: str = "c4mfleet-ro") -> list[str]:
        return ["-v2c", "-c", community, "-t", "1", "-r", "1", f"127.0.0.1:{agent.port}"]

    @staticmethod
    def v3(agent: HostedAgent, user: str = "monitor", level: str = "authPriv",
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


async def test_stop_is_idempotent_and_start_twice_fails(make_agent: MakeAgent,
                                                        state: CameraState) -> None:
    agent = make_agent(state, "127.0.0.1", 0)
    await agent.stop()  # before start: nothing to do
    await agent.start()
    with pytest.raises(RuntimeError):
        await agent.start()
    await agent.stop()
    await agent.stop()


async def test_start_on_a_taken_port_raises(make_agent: MakeAgent, state: CameraState) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        agent = make_agent(state, "127.0.0.1", taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await agent.start()
        assert not agent.running


async def test_stop_frees_the_port_and_start_binds_it_again(make_agent: MakeAgent,
                                                            state: CameraState) -> None:
    agent = make_agent(state, "127.0.0.1", 0)
    await agent.start()
    port = agent.port
    assert port != 0
    await agent.stop()
    assert not agent.running
    assert_port_free(port)
    # What a reboot or a cleared "removed" fault does: the same agent, the same port.
    await agent.start()
    assert agent.port == port
    assert await udp_v2c_get(port, "c4mfleet-ro", SYS_NAME_OID) == b"dome-1"
    await agent.stop()
    assert_port_free(port)


def assert_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))  # would raise EADDRINUSE if an agent still held it


async def test_garbage_datagrams_do_not_kill_the_agent(agent: HostedAgent) -> None:
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


_request_ids = itertools.count(1000)


def _v2c_get(community: bytes, oid: tuple[int, ...], request_id: int | None = None) -> bytes:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, next(_request_ids) if request_id is None else request_id)
    v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.Null())])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def _v2c_reply(reply: bytes) -> tuple[int, Any]:
    """(request-id, value of the first var-bind) of a v2c response."""
    msg, _ = decoder.decode(reply, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(msg)
    return int(v2c.apiPDU.get_request_id(pdu)), v2c.apiPDU.get_varbinds(pdu)[0][1]


async def udp_v2c_get(port: int, community: str, oid: tuple[int, ...],
                      wait_s: float = 2.0) -> bytes | int | None:
    """One raw v2c GET; the value (octets or int), or None if no answer came."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, _v2c_get(community.encode(), oid), ("127.0.0.1", port))
        try:
            reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), wait_s)
        except TimeoutError:
            return None
    value = _v2c_reply(reply)[1]
    return bytes(value) if isinstance(value, v2c.OctetString) else int(value)


def _v3_discovery_probe(msg_id: int) -> bytes:
    """What a v3 manager sends first: no engine ID, no user, reportable (RFC 3414 4)."""
    msg = SNMPv3Message()
    msg["msgVersion"] = 3
    header = msg["msgGlobalData"]
    header["msgID"] = msg_id
    header["msgMaxSize"] = 65507
    header["msgFlags"] = b"\x04"  # reportable, noAuthNoPriv
    header["msgSecurityModel"] = 3
    params = UsmSecurityParameters()
    params["msgAuthoritativeEngineId"] = b""
    params["msgAuthoritativeEngineBoots"] = 0
    params["msgAuthoritativeEngineTime"] = 0
    params["msgUserName"] = b""
    params["msgAuthenticationParameters"] = b""
    params["msgPrivacyParameters"] = b""
    msg["msgSecurityParameters"] = encoder.encode(params)
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [])
    scoped = msg["msgData"]["plaintext"]
    scoped["contextEngineId"] = b""
    scoped["contextName"] = b""
    scoped["data"]["get-request"] = pdu
    return bytes(encoder.encode(msg))


def _v3_report(reply: bytes) -> tuple[int, bytes, int, int]:
    """(msgID, msgAuthoritativeEngineID, boots, time) of a v3 message."""
    msg, _ = decoder.decode(reply, asn1Spec=SNMPv3Message())
    params, _ = decoder.decode(bytes(msg["msgSecurityParameters"]),
                               asn1Spec=UsmSecurityParameters())
    return (int(msg["msgGlobalData"]["msgID"]), bytes(params["msgAuthoritativeEngineId"]),
            int(params["msgAuthoritativeEngineBoots"]),
            int(params["msgAuthoritativeEngineTime"]))


# -- SNMPv1/v2c --------------------------------------------------------------------------------
@netsnmp
async def test_v2c_get_system_group(agent: HostedAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v2c(agent), SYS_DESCR, SYS_OBJECT_ID, SYS_CONTACT, SYS_NAME,
                            SYS_LOCATION)
    assert values[SYS_DESCR] == '"Hikvision DS-2DE4425IW-DE firmware V5.7.3 build 220112"'
    assert values[SYS_OBJECT_ID] == "." + ".".join(map(str, sys_object_id_for(spec)))
    assert values[SYS_OBJECT_ID].startswith(".1.3.6.1.4.1.39165.1.")
    assert values[SYS_CONTACT] == '"ops@example.org"'
    assert values[SYS_NAME] == '"dome-1"'
    assert values[SYS_LOCATION] == f'"{spec.location.address}"'


@netsnmp
async def test_get_of_missing_objects_says_so(agent: HostedAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", *snmp.v2c(agent), "1.3.6.1.2.1.1.1.1",
                         "1.3.6.1.2.1.1.99.0", "1.3.6.1.4.1.39165.7.0")
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert "No Such Instance" in lines[0]  # sysDescr exists, instance .1 does not
    assert "No Such Object" in lines[1]
    assert "No Such Object" in lines[2]


@netsnmp
async def test_walk_system_group_in_order(agent: HostedAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpwalk", "-Onq", *snmp.v2c(agent), "1.3.6.1.2.1.1")
    assert run.rc == 0, run.err
    values = parse_onq(run.out)
    assert list(values) == [f"1.3.6.1.2.1.1.{n}.0" for n in range(1, 8)]
    assert values["1.3.6.1.2.1.1.5.0"] == '"dome-1"'
    assert "No more variables" not in run.out + run.err


@netsnmp
async def test_walk_mib2_is_lexicographic_and_ends_cleanly(agent: HostedAgent, snmp: Snmp) -> None:
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
async def test_getbulk_with_non_repeaters(agent: HostedAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpbulkget", "-Onq", "-Cn1", "-Cr3", *snmp.v2c(agent),
                         "1.3.6.1.2.1.1.4", "1.3.6.1.2.1.2.2.1.1")
    assert run.rc == 0, run.err
    assert list(parse_onq(run.out)) == [
        "1.3.6.1.2.1.1.4.0",  # the non-repeater: next after sysContact
        "1.3.6.1.2.1.2.2.1.1.1", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.3.1",
    ]


@netsnmp
async def test_if_phys_address_is_the_mac(agent: HostedAgent, snmp: Snmp, spec: CameraSpec) -> None:
    value = await snmp.get_one(snmp.v2c(agent), IF_PHYS_ADDRESS, "-Ox")
    assert hex_bytes(value) == bytes.fromhex(spec.identity.mac.replace(":", ""))
    values = await snmp.get(snmp.v2c(agent), "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.1.0")
    assert values == {"1.3.6.1.2.1.2.2.1.2.1": '"eth0"', "1.3.6.1.2.1.2.1.0": "1"}


@netsnmp
async def test_entity_serial_and_model(agent: HostedAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v2c(agent), ENT_SERIAL, ENT_MODEL)
    assert values[ENT_SERIAL] == f'"{spec.identity.serial}"'
    assert values[ENT_MODEL] == f'"{spec.identity.model}"'


@netsnmp
async def test_wrong_community_gets_no_answer(agent: HostedAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", "-v2c", "-c", "public", "-t", "0.5", "-r", "0",
                         f"127.0.0.1:{agent.port}", SYS_NAME)
    assert run.rc != 0
    assert "Timeout" in run.err
    assert run.out == ""


@netsnmp
async def test_set_is_refused_and_changes_nothing(agent: HostedAgent, snmp: Snmp,
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
async def test_community_none_turns_v1_v2c_off(make_agent: MakeAgent, spec: CameraSpec,
                                               clock: FakeClock, snmp: Snmp) -> None:
    v3_only = spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"community": None})})
    agent = make_agent(CameraState(v3_only, clock=clock), "127.0.0.1", 0)
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
async def test_v3_auth_priv_sha_aes(agent: HostedAgent, snmp: Snmp, spec: CameraSpec) -> None:
    values = await snmp.get(snmp.v3(agent), SYS_NAME, ENT_SERIAL, ENGINE_ID)
    assert values[SYS_NAME] == '"dome-1"'
    assert values[ENT_SERIAL] == f'"{spec.identity.serial}"'
    assert hex_bytes(values[ENGINE_ID]) == engine_id_for(spec) == agent.engine_id
    walk = await snmp.run("snmpwalk", "-Onq", *snmp.v3(agent), "1.3.6.1.2.1.1")
    assert walk.rc == 0, walk.err
    assert len(parse_onq(walk.out)) == 7


@netsnmp
async def test_v3_wrong_auth_key_fails(agent: HostedAgent, snmp: Snmp) -> None:
    run = await snmp.run("snmpget", "-On", *snmp.v3(agent, auth="not-the-key"), SYS_NAME)
    assert run.rc != 0
    assert "Authentication failure" in run.err
    assert "dome-1" not in run.out


@netsnmp
async def test_v3_unknown_user_and_weaker_level_get_no_data(agent: HostedAgent,
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
async def test_v3_protocols(make_agent: MakeAgent, spec: CameraSpec, clock: FakeClock,
                            snmp: Snmp, case: tuple[str, str, str]) -> None:
    auth, priv, level = case
    user = SnmpV3User(name="ops", auth_protocol=auth, auth_key="auth-secret-1" * (auth != "none"),
                      priv_protocol=priv, priv_key="priv-secret-1" * (priv != "none"))
    spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"v3_users": (user,)})})
    agent = make_agent(CameraState(spec, clock=clock), "127.0.0.1", 0)
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
async def test_sys_uptime_follows_the_camera_clock(agent: HostedAgent, snmp: Snmp,
                                                   clock: FakeClock) -> None:
    first = int(await snmp.get_one(snmp.v2c(agent), SYS_UPTIME, "-Ot"))
    clock.now += 12.34
    second = int(await snmp.get_one(snmp.v2c(agent), SYS_UPTIME, "-Ot"))
    assert first == 0
    assert second == 1234


@netsnmp
async def test_reboot_bumps_engine_boots_and_resets_uptime(agent: HostedAgent, snmp: Snmp,
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
async def test_refresh_rereads_the_spec(agent: HostedAgent, snmp: Snmp,
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


async def test_long_lived_v3_client_resyncs_after_reboot(agent: HostedAgent, state: CameraState,
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
        # What SimulatedCamera.reboot() does: silent while down, same port after.
        await agent.stop()
        state.reboot()
        await agent.start()
        assert await boots_and_uptime() == (3, 0)
    finally:
        manager.close_dispatcher()


@netsnmp
async def test_replaced_unit_gets_its_new_engine_id_on_restart(agent: HostedAgent, snmp: Snmp,
                                                               state: CameraState) -> None:
    old_engine_id = agent.engine_id
    spec = state.spec
    state.spec = spec.model_copy(update={"identity": spec.identity.model_copy(
        update={"mac": "44:19:b6:ab:cd:ef", "serial": "DS-REPLACED-0001"})})
    agent.refresh()
    values = await snmp.get(snmp.v3(agent), ENT_SERIAL, ENGINE_ID)
    assert values[ENT_SERIAL] == '"DS-REPLACED-0001"'
    # refresh() keeps the engine ID: the v3 keys are localised to it.
    assert hex_bytes(values[ENGINE_ID]) == old_engine_id == agent.engine_id
    mac = await snmp.get_one(snmp.v2c(agent), IF_PHYS_ADDRESS, "-Ox")
    assert hex_bytes(mac) == bytes.fromhex("4419b6abcdef")
    await agent.stop()
    await agent.start()
    assert agent.engine_id == engine_id_for(state.spec) != old_engine_id
    values = await snmp.get(snmp.v3(agent), ENGINE_ID, SYS_NAME)
    assert hex_bytes(values[ENGINE_ID]) == agent.engine_id
    assert values[SYS_NAME] == '"dome-1"'


# -- many cameras on one host ------------------------------------------------------------------
def camera_state(spec: CameraSpec, name: str, mac: str, *,
                 community: str | None = "c4mfleet-ro",
                 users: tuple[SnmpV3User, ...] | None = None, boots: int = 1,
                 clock: FakeClock | None = None) -> CameraState:
    users = spec.snmp.v3_users if users is None else users
    state = CameraState(other_camera(spec, name, mac, community, users),
                        clock=clock or FakeClock())
    state.boots = boots
    return state


@pytest.fixture
async def host() -> AsyncIterator[SnmpAgentHost]:
    async with SnmpAgentHost() as host:
        yield host


@netsnmp
async def test_cameras_sharing_a_community_answer_as_themselves(host: SnmpAgentHost,
                                                                spec: CameraSpec,
                                                                snmp: Snmp) -> None:
    cameras = [await host.add(camera_state(spec, f"cam-{n}", f"02:00:00:00:00:0{n}", boots=n),
                              "127.0.0.1", 0) for n in range(1, 4)]
    for n, camera in enumerate(cameras, start=1):
        values = await snmp.get(snmp.v2c(camera), SYS_NAME, ENGINE_ID, ENGINE_BOOTS)
        assert values[SYS_NAME] == f'"cam-{n}"'
        assert hex_bytes(values[ENGINE_ID]) == camera.engine_id
        assert values[ENGINE_BOOTS] == str(n)
    assert len({camera.engine_id for camera in cameras}) == 3


async def test_one_cameras_community_does_not_open_another(host: SnmpAgentHost,
                                                           spec: CameraSpec) -> None:
    a = await host.add(camera_state(spec, "cam-a", "02:00:00:00:00:0a",
                                    community="alpha"), "127.0.0.1", 0)
    b = await host.add(camera_state(spec, "cam-b", "02:00:00:00:00:0b",
                                    community="beta"), "127.0.0.1", 0)
    v3_only = await host.add(camera_state(spec, "cam-c", "02:00:00:00:00:0c",
                                          community=None),
                             "127.0.0.1", 0)
    assert await udp_v2c_get(a.port, "alpha", SYS_NAME_OID) == b"cam-a"
    assert await udp_v2c_get(b.port, "beta", SYS_NAME_OID) == b"cam-b"
    results = await asyncio.gather(
        udp_v2c_get(a.port, "beta", SYS_NAME_OID, wait_s=0.3),
        udp_v2c_get(b.port, "alpha", SYS_NAME_OID, wait_s=0.3),
        udp_v2c_get(v3_only.port, "alpha", SYS_NAME_OID, wait_s=0.3),
        udp_v2c_get(v3_only.port, "beta", SYS_NAME_OID, wait_s=0.3),
    )
    assert results == [None, None, None, None]


@netsnmp
async def test_v3_user_of_one_camera_gets_nothing_from_another(host: SnmpAgentHost,
                                                               spec: CameraSpec,
                                                               snmp: Snmp) -> None:
    monitor_a = SnmpV3User(name="monitor", auth_key="authpass123", priv_key="privpass123")
    monitor_b = SnmpV3User(name="monitor", auth_key="b-auth-pass", priv_key="b-priv-pass")
    alice = SnmpV3User(name="alice", auth_key="authpass123", priv_key="privpass123")
    a = await host.add(camera_state(spec, "cam-a", "02:00:00:00:00:0a", users=(monitor_a, alice)),
                       "127.0.0.1", 0)
    b = await host.add(camera_state(spec, "cam-b", "02:00:00:00:00:0b", users=(monitor_b,)),
                       "127.0.0.1", 0)
    assert await snmp.get_one(snmp.v3(a), SYS_NAME) == '"cam-a"'
    assert await snmp.get_one(snmp.v3(b, auth="b-auth-pass", priv="b-priv-pass"),
                              SYS_NAME) == '"cam-b"'
    # A's "monitor" keys on B, whose "monitor" has others.
    wrong_keys = await snmp.run("snmpget", "-On", *snmp.v3(b), SYS_NAME)
    assert wrong_keys.rc != 0
    assert "Authentication failure" in wrong_keys.err
    # A user only A has.
    unknown = await snmp.run("snmpget", "-On", *snmp.v3(b, user="alice"), SYS_NAME)
    assert unknown.rc != 0
    assert "Unknown user name" in unknown.err
    # Skipping discovery and naming A's engine ID (so A's keys, localised to it, are right)
    # at B's port: B is not the authoritative engine for that ID and must not answer with data.
    forged = await asyncio.gather(*(
        snmp.run("snmpget", "-On", "-e", "0x" + a.engine_id.hex(), *snmp.v3(a, user=user)[:-1],
                 "-t", "0.5", "-r", "0", f"127.0.0.1:{b.port}", SYS_NAME)
        for user in ("monitor", "alice")))
    for run in forged:
        assert run.rc != 0
        assert "cam-" not in run.out


async def test_v3_discovery_reports_each_cameras_own_engine_id_boots_and_time(
        host: SnmpAgentHost, spec: CameraSpec) -> None:
    clock_a, clock_b = FakeClock(), FakeClock()
    a = await host.add(camera_state(spec, "cam-a", "02:00:00:00:00:0a", boots=1, clock=clock_a),
                       "127.0.0.1", 0)
    b = await host.add(camera_state(spec, "cam-b", "02:00:00:00:00:0b", boots=42,
                                    clock=clock_b), "127.0.0.1", 0)
    clock_a.now += 500
    clock_b.now += 86400
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, _v3_discovery_probe(1), ("127.0.0.1", a.port))
        await loop.sock_sendto(sock, _v3_discovery_probe(2), ("127.0.0.1", b.port))
        reports = sorted([_v3_report(await asyncio.wait_for(loop.sock_recv(sock, 65535), 2))
                          for _ in range(2)])
    assert reports == [(1, a.engine_id, 1, 500), (2, b.engine_id, 42, 86400)]


@netsnmp
async def test_interleaved_requests_to_two_cameras_keep_their_identities(
        host: SnmpAgentHost, spec: CameraSpec, snmp: Snmp) -> None:
    """Guards the assumption the host is built on: pysnmp handles a request, report or
    response included, synchronously inside the datagram callback (see the module docstring).

    Were any of it deferred, the other camera's identity (engine ID, boots, objects) would be
    in place by then, and answers would mix up or not come at all.
    """
    a = await host.add(camera_state(spec, "cam-a", "02:00:00:00:00:0a", boots=1),
                       "127.0.0.1", 0)
    b = await host.add(camera_state(spec, "cam-b", "02:00:00:00:00:0b", boots=5),
                       "127.0.0.1", 0)
    expected = {a.port: (a.engine_id, 1, b"cam-a"), b.port: (b.engine_id, 5, b"cam-b")}

    # 1. A burst queued on both sockets before the loop runs: asyncio reads one datagram per
    #    socket per iteration, so the engine alternates between the cameras datagram by
    #    datagram, deterministically.
    loop = asyncio.get_running_loop()
    sent: dict[int, int] = {}  # request-id / msgID -> port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        for n in range(40):
            port = (a.port, b.port)[n % 2]
            sent[n] = port
            if n % 4 < 2:
                request = _v3_discovery_probe(n)
            else:
                oid = SYS_NAME_OID if n % 8 < 4 else ENGINE_BOOTS_OID
                request = _v2c_get(b"c4mfleet-ro", oid, request_id=n)
            await loop.sock_sendto(sock, request, ("127.0.0.1", port))
        for _ in range(40):
            reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 2)
            if _msg_version(reply) == 3:  # the discovery report
                msg_id, engine_id, boots, _ = _v3_report(reply)
                assert (engine_id, boots) == expected[sent.pop(msg_id)][:2]
            else:
                request_id, value = _v2c_reply(reply)
                _, boots, name = expected[sent.pop(request_id)]
                assert value == (name if request_id % 8 < 4 else boots)
    assert not sent

    # 2. Real clients: concurrent net-snmp processes, v3 authPriv (discovery, then the
    #    authenticated request) and v2c, to both cameras at once.
    async def check(camera: HostedAgent, target: list[str]) -> None:
        engine_id, boots, name = expected[camera.port]
        values = await snmp.get(target, ENGINE_ID, ENGINE_BOOTS, SYS_NAME)
        assert hex_bytes(values[ENGINE_ID]) == engine_id
        assert values[ENGINE_BOOTS] == str(boots)
        assert values[SYS_NAME] == f'"{name.decode()}"'

    await asyncio.gather(*(check(camera, target(camera))
                           for _ in range(4) for camera in (a, b)
                           for target in (snmp.v3, snmp.v2c)))


def _msg_version(message: bytes) -> int:
    """msgVersion: the one-octet INTEGER right after the outer SEQUENCE header."""
    offset = 2 if message[1] < 0x80 else 2 + (message[1] & 0x7F)
    assert message[offset:offset + 2] == b"\x02\x01"
    return message[offset + 2]


async def test_stopping_or_removing_one_camera_spares_the_others(host: SnmpAgentHost,
                                                                 spec: CameraSpec) -> None:
    cameras = [await host.add(camera_state(spec, f"cam-{n}", f"02:00:00:00:00:0{n}"),
                              "127.0.0.1", 0) for n in range(1, 4)]
    one, two, three = cameras
    ports = [camera.port for camera in cameras]

    async def names() -> list[bytes | int | None]:
        return list(await asyncio.gather(*(udp_v2c_get(port, "c4mfleet-ro", SYS_NAME_OID,
                                                       wait_s=0.3) for port in ports)))

    await two.stop()
    assert_port_free(ports[1])
    assert await names() == [b"cam-1", None, b"cam-3"]
    two.state.reboot()
    await two.start()  # a reboot: same port, boots + 1
    assert two.port == ports[1]
    assert await udp_v2c_get(two.port, "c4mfleet-ro", ENGINE_BOOTS_OID) == 2
    assert await names() == [b"cam-1", b"cam-2", b"cam-3"]

    await host.remove(three)
    assert_port_free(ports[2])
    assert host.agents == (one, two)
    assert await names() == [b"cam-1", b"cam-2", None]
    with pytest.raises(RuntimeError, match="removed"):
        await three.start()
    # Its engine ID is free again: the same camera can come back as a new agent.
    back = await host.add(three.state, "127.0.0.1", ports[2])
    assert await udp_v2c_get(back.port, "c4mfleet-ro", SYS_NAME_OID) == b"cam-3"


async def test_host_close_frees_every_port(spec: CameraSpec) -> None:
    host = SnmpAgentHost()
    with pytest.raises(RuntimeError, match="not open"):
        await host.add(camera_state(spec, "cam-1", "02:00:00:00:00:01"), "127.0.0.1", 0)
    assert host.agents == ()
    await host.open()
    cameras = [await host.add(camera_state(spec, f"cam-{n}", f"02:00:00:00:00:0{n}"),
                              "127.0.0.1", 0) for n in range(1, 4)]
    await cameras[0].stop()  # a stopped camera is on the host too
    await host.close()
    assert not host.is_open
    assert not any(camera.running for camera in cameras)
    for camera in cameras:
        assert_port_free(camera.port)
    await host.close()  # idempotent
    with pytest.raises(RuntimeError, match="not open"):
        await cameras[1].start()
    # Opened again, the same cameras come back on the same ports (with a new engine).
    await host.open()
    try:
        for camera in cameras:
            await camera.start()
        for n, camera in enumerate(cameras, start=1):
            name = await udp_v2c_get(camera.port, "c4mfleet-ro", SYS_NAME_OID)
            assert name == f"cam-{n}".encode()
    finally:
        await host.close()


async def test_two_cameras_on_a_host_cannot_share_an_engine_id(host: SnmpAgentHost,
                                                               spec: CameraSpec) -> None:
    first = await host.add(camera_state(spec, "cam-1", "02:00:00:00:00:01"), "127.0.0.1", 0)
    twin = camera_state(spec, "cam-1-twin", "02:00:00:00:00:01")
    with pytest.raises(RuntimeError, match="engine ID"):
        await host.add(twin, "127.0.0.1", 0)
    assert host.agents == (first,)
    assert await udp_v2c_get(first.port, "c4mfleet-ro", SYS_NAME_OID) == b"cam-1"
