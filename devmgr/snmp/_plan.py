"""A configuration made ready for the wire: every secret resolved, every key hashed.

RFC 3414 password-to-key hashing costs ~2 ms per key, so master keys are computed once per
process and passphrase; pysnmp only localises them (cheaply) per remote engine.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pysnmp.entity import config as snmp_config
from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.proto import rfc1902

from camfleet.targets import SnmpV3Credentials, TargetsError, resolve_secret
from devmgr.snmp._config import SnmpConfig, community_label

AUTH_PROTOCOLS: Final[Mapping[str, tuple[int, ...]]] = {
    "none": snmp_config.USM_AUTH_NONE,
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA256": snmp_config.USM_AUTH_HMAC192_SHA256,
}
PRIV_PROTOCOLS: Final[Mapping[str, tuple[int, ...]]] = {
    "none": snmp_config.USM_PRIV_NONE,
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
}


NO_AUTH_NO_PRIV, AUTH_NO_PRIV, AUTH_PRIV = 1, 2, 3


@functools.lru_cache(maxsize=1024)
def _master_auth_key(protocol: str, passphrase: str) -> Any:
    # RFC 3414 A.2 password-to-key hashes 1 MB per key (~2 ms); done once per process and
    # passphrase, then only localised (cheap) per remote engine.
    return snmp_config.AUTH_SERVICES[AUTH_PROTOCOLS[protocol]].hash_passphrase(
        rfc1902.OctetString(passphrase.encode("utf-8")))


@functools.lru_cache(maxsize=1024)
def _master_priv_key(auth_protocol: str, protocol: str, passphrase: str) -> Any:
    return snmp_config.PRIV_SERVICES[PRIV_PROTOCOLS[protocol]].hash_passphrase(
        AUTH_PROTOCOLS[auth_protocol], rfc1902.OctetString(passphrase.encode("utf-8")))


@dataclass(frozen=True)
class V3User:
    name: str
    auth_protocol: str
    priv_protocol: str
    auth_key: Any = field(repr=False)
    priv_key: Any = field(repr=False)

    @property
    def security_level(self) -> int:
        """RFC 3411 securityLevel: 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv."""
        if self.auth_protocol == "none":
            return NO_AUTH_NO_PRIV
        return AUTH_NO_PRIV if self.priv_protocol == "none" else AUTH_PRIV


@dataclass(frozen=True)
class Community:
    label: str  # what ``access`` and messages say; never the community itself
    auth: Any = field(repr=False)  # pysnmp v1arch CommunityData


@dataclass(frozen=True)
class Plan:
    """A config with every secret resolved and every key hashed: what a request needs."""

    v3_users: tuple[V3User, ...]
    communities: tuple[Community, ...]
    port: int
    timeout_s: float
    retries: int
    parallel_communities: bool
    secrets: tuple[str, ...] = field(repr=False)

    @property
    def round_trip_s(self) -> float:
        """How long pysnmp may take for one request including its re-sends."""
        return self.timeout_s * (self.retries + 1)


def _v3_user(user: SnmpV3Credentials) -> tuple[V3User, list[str]]:
    auth_key = resolve_secret(user.auth_key, user.auth_key_env, f"the auth key of SNMPv3 user "
                                                          f"{user.user!r}")
    priv_key = resolve_secret(user.priv_key, user.priv_key_env, f"the priv key of SNMPv3 user "
                                                          f"{user.user!r}")
    auth_protocol = user.auth_protocol
    priv_protocol = user.priv_protocol if auth_protocol != "none" else "none"
    if auth_protocol != "none" and not auth_key:
        raise TargetsError(f"SNMPv3 user {user.user!r}: {auth_protocol} authentication "
                           "needs an auth key")
    if priv_protocol != "none" and not priv_key:
        raise TargetsError(f"SNMPv3 user {user.user!r}: {priv_protocol} privacy needs a "
                           "priv key")
    master_auth = (_master_auth_key(auth_protocol, auth_key or "")
                   if auth_protocol != "none" else None)
    master_priv = (_master_priv_key(auth_protocol, priv_protocol, priv_key or "")
                   if priv_protocol != "none" else None)
    secrets = [s for s in (auth_key, priv_key) if s]
    return V3User(user.user, auth_protocol, priv_protocol, master_auth, master_priv), secrets


def prepare(config: SnmpConfig) -> Plan:
    users: list[V3User] = []
    secrets: list[str] = []
    for user in config.v3_users:
        prepared, user_secrets = _v3_user(user)
        users.append(prepared)
        secrets.extend(user_secrets)
    communities = []
    for position, community in enumerate(config.communities, start=1):
        communities.append(Community(community_label(community, position),
                                     V1CommunityData(community, mpModel=1)))
        secrets.append(community)
    return Plan(tuple(users), tuple(communities), config.port, config.timeout_s,
                config.retries, config.parallel_communities,
                tuple(sorted(secrets, key=len, reverse=True)))
