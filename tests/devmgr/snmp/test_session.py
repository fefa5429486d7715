"""devmgr.snmp against a loopback fleet: identities, classified errors, faults and sweeps.

The fleet's control API (``fleet.truth``) is what the client's conclusions are compared with.
All traffic stays on 127.0.0.0/8; the one "large sweep" test is refused before any packet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from camfleet.errors import DeviceError, ErrorKind
from camfleet.protocols.snmp_mib import enterprise_for
from camfleet.targets import (
    SnmpCredentials,
    SnmpV3Credentials,
    Target,
    TargetsError,
    TargetsFile,
)
from devmgr.inventory.model import SnmpIdentity
from devmgr.snmp import (
    SnmpConfig,
    SnmpSession,
    community_label,
    snmp_identity,
    snmp_identity_for_target,
    snmp_sweep,
    sweep_addresses,
)
from simulators.fleet.fleet import Fleet
from tests.conftest import free_udp_port
from tests.devmgr.snmp.helpers import assert_no_secret

COUNT = 20
#: Short timeout for the tests that expect silence; answers on the loopback take ~ms.
QUICK_S = 0.3


def quick(*, communities: tuple[str, ...] = (), v3_users: tuple[SnmpV3Credentials, ...] = (),
          parallel: bool = True) -> SnmpConfig:
    return SnmpConfig(communities=communities, v3_users=v3_users, timeout_s=QUICK_S, retries=0,
                      parallel_communities=parallel)


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet.generated(COUNT, seed=23, discovery_port=free_udp_port(),
                         reboot_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


def snmp_of(target: Target) -> SnmpCredentials:
    assert target.snmp is not None
    return target.snmp


def v3_of(target: Target) -> SnmpV3Credentials:
    v3 = snmp_of(target).v3
    assert v3 is not None
    return v3


def communities(manifest: TargetsFile) -> tuple[str, ...]:
    return tuple(sorted({snmp_of(t).community or "" for t in manifest.targets}))


def spec_of(fleet: Fleet, target: Target) -> dict[str, Any]:
    spec: dict[str, Any] = fleet.truth(target.id)["spec"]
    return spec


def covering_cidr(addresses: list[str]) -> str:
    """The smallest network holding every address as a host (not network/broadcast)."""
    first = min(ipaddress.ip_address(a) for a in addresses)
    last = max(ipaddress.ip_address(a) for a in addresses)
    for prefix in range(32, 0, -1):
        net = ipaddress.ip_network(f"{first}/{prefix}", strict=False)
        if last in net and first != net.network_address and last != net.broadcast_address:
            return str(net)
    raise AssertionError("no covering network")


def assert_matches_truth(identity: SnmpIdentity, spec: dict[str, Any]) -> None:
    ident = spec["identity"]
    assert identity.serial == ident["serial"]
    assert identity.mac == ident["mac"]
    assert identity.model == ident["model"]
    assert identity.vendor == ident["manufacturer"]
    assert identity.sys_name == (spec["network"]["hostname"] or f"cam-{spec['id']}")
    assert identity.sys_location == spec["location"]["address"]
    assert identity.sys_contact == spec["snmp"]["contact"]
    number = enterprise_for(ident["manufacturer"])
    assert identity.sys_object_id.startswith(f"1.3.6.1.4.1.{number}.")
    assert identity.sys_descr.startswith(f"{ident['manufacturer']} {ident['model']}")
    assert identity.uptime_s is not None
    assert identity.uptime_s > 0


# -- units: fingerprint, masking, address lists, configuration -----------------------------------

def test_community_label_never_contains_a_secret() -> None:
    assert community_label("cf-ro-2024", 2) == "v2c:#2"
    assert community_label("public-ro", 1) == "v2c:#1"
    # Well-known defaults are no secret, and Art. 17 compliance needs to see them.
    assert community_label("public", 1) == "v2c:public"
    assert community_label("private", 3) == "v2c:private"


def test_sweep_addresses_skip_network_and_broadcast() -> None:
    assert sweep_addresses(["127.9.0.0/30"]) == ["127.9.0.1", "127.9.0.2"]
    assert sweep_addresses(["127.9.0.7/32"]) == ["127.9.0.7"]
    assert sweep_addresses(["127.9.0.4/31"]) == ["127.9.0.4", "127.9.0.5"]  # RFC 3021
    assert sweep_addresses(["127.9.0.0/30", "127.9.0.1/32"]) == ["127.9.0.1", "127.9.0.2"]
    assert len(sweep_addresses(["127.9.0.0/24"])) == 254
    assert sweep_addresses(["127.9.0.5/30"]) == ["127.9.0.5", "127.9.0.6"]  # host bits ok


def test_sweep_addresses_refuse_too_many_and_nonsense() -> None:
    with pytest.raises(ValueError, match="more than the 65536 allowed"):
        sweep_addresses(["127.0.0.0/8"])
    assert len(sweep_addresses(["127.9.0.0/15"], max_hosts=1 << 17)) == (1 << 17) - 2
    with pytest.raises(ValueError, match="not a network"):
        sweep_addresses(["127.9.0.0/33"])


async def test_a_large_sweep_is_refused_before_any_packet() -> None:
    began = time.monotonic()
    with pytest.raises(ValueError, match="65536"):
        await snmp_sweep(["127.0.0.0/8"], SnmpConfig(communities=("x",)))
    assert time.monotonic() - began < 1.0


def test_config_needs_a_credential() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SnmpConfig()
    with pytest.raises(ValueError, match="cannot be empty"):
        SnmpConfig(communities=("",))


async def test_credentials_from_the_environment(fleet: Fleet, manifest: TargetsFile,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = manifest.targets[0]
    v3 = v3_of(target)
    by_env = target.model_copy(update={"snmp": SnmpCredentials(
        port=snmp_of(target).port, community_env="CF_TEST_COMMUNITY",
        v3=SnmpV3Credentials(user=v3.user, auth_key_env="CF_TEST_AUTH",
                             priv_key_env="CF_TEST_PRIV"))})
    monkeypatch.setenv("CF_TEST_COMMUNITY", snmp_of(target).community or "")
    monkeypatch.setenv("CF_TEST_AUTH", v3.auth_key or "")
    monkeypatch.setenv("CF_TEST_PRIV", v3.priv_key or "")
    identity = await snmp_identity_for_target(by_env)
    assert isinstance(identity, SnmpIdentity)
    assert identity.access == f"v3:{v3.user}"
    monkeypatch.delenv("CF_TEST_PRIV")
    with pytest.raises(TargetsError, match=rf"{target.id}.*\$CF_TEST_PRIV"):
        await snmp_identity_for_target(by_env)
    with pytest.raises(TargetsError, match="no snmp credentials"):
        await snmp_identity_for_target(target.model_copy(update={"snmp": None}))


# -- identity of every camera --------------------------------------------------------------------

async def test_identity_of_every_camera_matches_the_truth(fleet: Fleet,
                                                          manifest: TargetsFile) -> None:
    # One session for all: every camera has its own v3 keys for the same user name.
    async with SnmpSession() as session:
        results = await asyncio.gather(*(snmp_identity_for_target(t, session=session)
                                         for t in manifest.targets))
    for target, identity in zip(manifest.targets, results, strict=True):
        assert isinstance(identity, SnmpIdentity), identity
        truth = fleet.truth(target.id)
        assert identity.address == target.address
        assert identity.port == snmp_of(target).port
        assert identity.access == f"v3:{v3_of(target).user}"  # v3 first, and it works
        assert_matches_truth(identity, truth["spec"])
        assert identity.engine_boots == truth["boots"]
        assert len(identity.engine_id) >= 10
    assert len({i.engine_id for i in results if isinstance(i, SnmpIdentity)}) == COUNT


async def test_v2c_with_the_right_community(fleet: Fleet, manifest: TargetsFile) -> None:
    target = manifest.targets[1]
    config = quick(communities=("not-this-one", snmp_of(target).community or ""),
                   parallel=False)
    identity = await snmp_identity(target.address, config, port=snmp_of(target).port)
    assert isinstance(identity, SnmpIdentity), identity
    assert identity.access == "v2c:#2"  # the position, never the community
    assert_matches_truth(identity, spec_of(fleet, target))
    # v2c reads the engine scalars as MIB objects (the simulated agent serves them).
    assert identity.engine_id
    assert identity.engine_boots == fleet.truth(target.id)["boots"]


async def test_parallel_communities_find_the_right_one(fleet: Fleet,
                                                       manifest: TargetsFile) -> None:
    target = manifest.targets[2]
    config = quick(communities=("wrong-1", snmp_of(target).community or "", "wrong-3"))
    began = time.monotonic()
    identity = await snmp_identity(target.address, config)
    assert isinstance(identity, SnmpIdentity), identity
    assert identity.access == "v2c:#2"
    assert time.monotonic() - began < 0.3  # did not wait for the wrong ones to time out


async def test_v3_with_the_manifest_user(fleet: Fleet, manifest: TargetsFile) -> None:
    target = manifest.targets[3]
    identity = await snmp_identity(target.address, SnmpConfig(v3_users=(v3_of(target),)))
    assert isinstance(identity, SnmpIdentity), identity
    assert identity.access == f"v3:{v3_of(target).user}"
    assert_matches_truth(identity, spec_of(fleet, target))


# -- refusals and silence, classified ------------------------------------------------------------

async def test_unknown_v3_user_is_auth(manifest: TargetsFile) -> None:
    target = manifest.targets[4]
    nobody = SnmpV3Credentials(user="nobody", auth_key="auth-nobody-1", priv_key="priv-nobody-1")
    error = await snmp_identity(target.address, quick(v3_users=(nobody,)))
    assert isinstance(error, DeviceError)
    assert error.kind is ErrorKind.AUTH
    assert "nobody" in error.message  # who ...
    assert "engine 80" in error.message  # ... and which engine refused
    assert_no_secret(error, "auth-nobody-1", "priv-nobody-1")


async def test_wrong_v3_key_is_auth(manifest: TargetsFile) -> None:
    target = manifest.targets[4]
    wrong = v3_of(target).model_copy(update={"auth_key": "not-the-key-123"})
    error = await snmp_identity(target.address, quick(v3_users=(wrong,)))
    assert isinstance(error, DeviceError)
    assert error.kind is ErrorKind.AUTH
    assert "digest" in error.message.lower()
    assert_no_secret(error, "not-the-key-123", v3_of(target).priv_key or "")


async def test_wrong_community_is_timeout(manifest: TargetsFile) -> None:
    # RFC 3584: a wrong community is dropped silently; v2c cannot tell it from silence.
    target = manifest.targets[5]
    error = await snmp_identity(target.address,
                                quick(communities=("wrong-secret-77",)))
    assert isinstance(error, DeviceError)
    assert error.kind is ErrorKind.TIMEOUT
    assert "#1" in error.message
    assert_no_secret(error, "wrong-secret-77")


async def test_refused_v3_then_community_and_auth_if_both_fail(fleet: Fleet,
                                                               manifest: TargetsFile) -> None:
    target = manifest.targets[6]
    nobody = SnmpV3Credentials(user="nobody", auth_key="auth-nobody-1", priv_key="priv-nobody-1")
    right = quick(v3_users=(nobody,), communities=(snmp_of(target).community or "",))
    identity = await snmp_identity(target.address, right)
    assert isinstance(identity, SnmpIdentity), identity
    assert identity.access == "v2c:#1"
    assert_matches_truth(identity, spec_of(fleet, target))
    # The engine answered discovery, so the host is alive: AUTH, not TIMEOUT.
    wrong = quick(v3_users=(nobody,), communities=("wrong-secret-77",))
    error = await snmp_identity(target.address, wrong)
    assert isinstance(error, DeviceError)
    assert error.kind is ErrorKind.AUTH
    assert_no_secret(error, "wrong-secret-77", "auth-nobody-1", "priv-nobody-1")


async def test_silent_address_times_out_promptly(fleet: Fleet, manifest: TargetsFile) -> None:
    # An address of the fleet's /16 where nothing listens.
    base = ipaddress.ip_address(manifest.targets[0].address)
    silent = str(base + 250)
    assert silent not in {t.address for t in manifest.targets}
    config = quick(v3_users=(v3_of(manifest.targets[0]),),
                   communities=("a-community", "another"))
    began = time.monotonic()
    error = await snmp_identity(silent, config)
    elapsed = time.monotonic() - began
    assert isinstance(error, DeviceError)
    assert error.kind is ErrorKind.TIMEOUT
    assert "discovery" in error.message
    # Discovery timeout + one (parallel) community timeout, plus pysnmp's 0.1 s timer grain.
    assert elapsed < 2 * 0.3 + 0.6


async def test_removed_is_timeout_until_cleared(fleet: Fleet, manifest: TargetsFile,
                                                clean: None) -> None:
    target = manifest.targets[7]
    config = quick(v3_users=(v3_of(target),), communities=(snmp_of(target).community or "",))
    async with SnmpSession() as session:
        assert isinstance(await session.identity(target.address, config), SnmpIdentity)
        fleet.add_fault(target.id, "removed")
        error = await session.identity(target.address, config)
        assert isinstance(error, DeviceError)
        assert error.kind is ErrorKind.TIMEOUT
        fleet.clear_faults(target.id)
        identity = await session.identity(target.address, config)
    assert isinstance(identity, SnmpIdentity), identity
    assert identity.serial == target.serial


async def test_replaced_unit_shows_its_new_serial_and_mac(fleet: Fleet, manifest: TargetsFile,
                                                          clean: None) -> None:
    target = manifest.targets[8]
    async with SnmpSession() as session:
        before = await snmp_identity_for_target(target, session=session)
        assert isinstance(before, SnmpIdentity), before
        fleet.add_fault(target.id, "replaced")
        # Same session: its engine remembers the old unit's engine ID for this address.
        after = await snmp_identity_for_target(target, session=session)
    assert isinstance(after, SnmpIdentity), after
    new = fleet.truth(target.id)["spec"]["identity"]
    assert (after.serial, after.mac) == (new["serial"], new["mac"])
    assert (after.serial, after.mac) != (before.serial, before.mac)
    assert after.engine_id != before.engine_id  # the engine ID derives from the MAC
    assert after.access == before.access == f"v3:{v3_of(target).user}"


async def test_reboot_raises_boots_and_resets_uptime(fleet: Fleet,
                                                     manifest: TargetsFile) -> None:
    target = manifest.targets[9]
    async with SnmpSession() as session:
        before = await snmp_identity_for_target(target, session=session)
        assert isinstance(before, SnmpIdentity), before
        assert before.engine_boots is not None
        assert before.uptime_s is not None
        fleet.reboot(target.id)
        deadline = time.monotonic() + 10
        while True:  # silent while it reboots (0.5 s here)
            after = await snmp_identity_for_target(target, session=session, timeout_s=0.3,
                                                   retries=0)
            if isinstance(after, SnmpIdentity) or time.monotonic() > deadline:
                break
    assert isinstance(after, SnmpIdentity), after
    # v3 in the same session: the engine's time window moved; pysnmp re-synchronises.
    assert after.access == before.access
    assert after.engine_boots == before.engine_boots + 1
    assert after.uptime_s is not None
    assert after.uptime_s < min(before.uptime_s, 10.0)


# -- sweeps --------------------------------------------------------------------------------------

async def test_sweep_finds_exactly_the_fleet(fleet: Fleet, manifest: TargetsFile,
                                             clean: None) -> None:
    replaced, hidden = manifest.targets[10], manifest.targets[11]
    fleet.add_fault(replaced.id, "replaced")
    fleet.add_fault(hidden.id, "non_discoverable")  # silent on WS-Discovery, not on SNMP
    cidr = covering_cidr([t.address for t in manifest.targets])
    config = SnmpConfig(communities=communities(manifest), timeout_s=0.5, retries=0)
    seen: list[tuple[int, int]] = []
    result = await snmp_sweep([cidr], config, progress=lambda done, total: seen.append(
        (done, total)))
    hosts = len(sweep_addresses([cidr]))
    assert result.probed == hosts > COUNT  # silent addresses were probed too
    assert result.answered == COUNT
    assert result.silent == hosts - COUNT
    assert not result.auth_failures
    assert not result.protocol_errors
    found = {i.address: i for i in result.identities}
    assert set(found) == {t.address for t in manifest.targets}
    for target in manifest.targets:
        identity = found[target.address]
        assert (identity.serial, identity.mac) == (
            spec_of(fleet, target)["identity"]["serial"],
            spec_of(fleet, target)["identity"]["mac"])
        assert identity.access.startswith("v2c:#")
    assert found[replaced.address].serial != replaced.serial
    assert found[hidden.address].serial == hidden.serial
    assert seen[-1] == (hosts, hosts)
    assert [d for d, _ in seen] == list(range(1, hosts + 1))


async def test_sweep_lists_hosts_that_refuse_us(manifest: TargetsFile) -> None:
    cidr = covering_cidr([t.address for t in manifest.targets])
    nobody = SnmpV3Credentials(user="nobody", auth_key="auth-nobody-1", priv_key="priv-nobody-1")
    result = await snmp_sweep([cidr], SnmpConfig(v3_users=(nobody,), timeout_s=0.5, retries=0))
    assert not result.identities
    assert result.answered == COUNT
    assert set(result.auth_failures) == {t.address for t in manifest.targets}
    assert all(e.kind is ErrorKind.AUTH for e in result.auth_failures.values())


async def test_sweep_leaves_no_task_and_no_socket(manifest: TargetsFile) -> None:
    def open_fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    cidr = covering_cidr([t.address for t in manifest.targets])
    v3 = v3_of(manifest.targets[0])  # works on one camera; the others refuse it
    config = SnmpConfig(v3_users=(v3,), communities=communities(manifest), timeout_s=0.5,
                        retries=0)
    await snmp_sweep([cidr], quick(communities=("warm-up",)))  # lazy imports
    fds = open_fds()
    # Several v3 engines (4 hosts each) are built and retired during the sweep.
    async with SnmpSession(hosts_per_engine=4) as session:
        result = await snmp_sweep([cidr], config, session=session)
        assert session.engines_created >= COUNT // 4
    assert len(result.identities) == COUNT
    assert result.identities[0].access == f"v3:{v3.user}"
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert open_fds() <= fds
