"""The manager's SNMP client: identity, vendor fingerprint, reboot evidence and sweeps.

One GET per host fetches the MIB-II system group, ifPhysAddress.1, the ENTITY-MIB serial and
model of entry 1 (and, on v2c, the engine scalars) and turns the answer into an
:class:`~devmgr.inventory.model.SnmpIdentity`, or into a classified
:class:`~devmgr.inventory.model.DeviceError` -- never an exception, so one bad camera cannot
stop a sweep. Everything on the wire is encoded and decoded by pysnmp 7 (asyncio): v2c by
the v1arch ``get_cmd``, v3 by the v3arch ``SnmpEngine`` (USM, discovery, time windows).

    >>> import asyncio                                                     # doctest: +SKIP
    >>> config = SnmpConfig(communities=("cf-ro-2024",),
    ...                     v3_users=(SnmpV3Credentials(user="monitor", auth_key_env="SNMP_AUTH",
    ...                                                 priv_key_env="SNMP_PRIV"),))
    >>> asyncio.run(snmp_identity("192.0.2.10", config))                   # doctest: +SKIP
    SnmpIdentity(address='192.0.2.10', access='v3:monitor', vendor='Hikvision', ...)
    >>> result = asyncio.run(snmp_sweep(["192.0.2.0/24"], config))          # doctest: +SKIP
    >>> result.probed, result.answered, len(result.identities)             # doctest: +SKIP
    (254, 31, 30)

**Order of attempts, and what it costs.** Per host: if v3 users are configured, first an
SNMPv3 engine discovery (one unauthenticated request with an empty engine ID, RFC 3414
section 4). An agent that answers it is alive and tells us its snmpEngineID, snmpEngineBoots
and snmpEngineTime, whatever our credentials; each v3 user is then tried against that engine
(authenticated and encrypted, so no secret crosses the wire in clear). Only if none works are
the v2c communities tried. A wrong community gets *no* answer (agents drop it silently), so
on v2c a wrong community and a silent host look the same: TIMEOUT. With
T = ``timeout_s * (retries + 1)``:

* live host, v3 user right: two round trips, no waiting;
* live host, v3 refused, community right: the v3 round trips + one more, no waiting
  (communities go out in parallel; with ``parallel_communities=False`` each wrong community
  before the right one costs T);
* silent address: T for the discovery (if v3 users are configured) + T for the communities
  (parallel) or N x T (sequential). Sweeps mostly meet silent addresses, so they bound it:
  about ``silent * 2T / concurrency`` seconds.

Parallel communities send every configured community to a host whose v3 refused us, where
sequential ones stop at the first that works: the devices see a few more failed attempts
(snmpInBadCommunityNames, perhaps authenticationFailure traps), and a host that answers the
first community also learns the others. An address that answers nothing learns all of them
either way, since every community must be tried there.

**What ``access`` records.** ``"v3:<user>"`` (a user name is not a secret), or for v2c
``"v2c:#<n>"``, ``n`` the 1-based position of the community in ``SnmpConfig.communities``:
a community string is a password, and a masked prefix (``"v2c:pu***"``) still leaks part of
it while telling ``public`` from ``public-ro`` badly. The one exception is the well-known
defaults ``public`` and ``private``, recorded as ``"v2c:public"``: they are no secret, and
Art. 17 compliance must see that a camera answers to one. Error messages follow the same
rule and never contain a community or a key (and are scrubbed of them in any case).

**Classification.** No answer within the deadline -> TIMEOUT. pysnmp sends from unconnected
UDP sockets, on which Linux does not report ICMP port/host unreachable, so "nothing listens"
also ends as TIMEOUT; UNREACHABLE is only used when sending itself fails (no route) or a host
name does not resolve. A USM report refusing us (unknown user, wrong digest, decryption
error, unsupported security level) or an ``authorizationError``/``noAccess`` status -> AUTH;
a refusal proves the host alive, so it wins over the communities' silence. Anything else that
came back (an error status, an answer without a single system-group object, a time window
that never synchronises) -> PROTOCOL. Every request runs under ``asyncio.timeout`` on top of
pysnmp's own timers, so nothing can hang.

**Engines.** v2c needs no state: one v1arch dispatcher (one socket) serves a whole session.
v3 does: pysnmp keeps USM users (with keys localised per remote engine) in MIB tables, writes
them through its full SET machinery and rebuilds its lookup map from the table whenever a row
was added since the last message. One engine for a whole sweep therefore turns quadratic
(measured, 1000 v3 cameras: 10.4 ms of client CPU per host, and 6 % of the v3 attempts
timed out in our own queue); a fresh engine every ``hosts_per_engine`` (64) hosts keeps the
tables small (6.2 ms per host, none lost; 16 per engine: 7.4 ms). Engines are cheap to build
here (~4 ms; MIB modules compiled once per process). Requests go straight to the engine's
message dispatcher with the host's address rather than through v3arch ``get_cmd``, which
would add two SNMP-TARGET-MIB rows per host (~2 ms each).

**Concurrency.** One asyncio thread decodes every answer, ~2.5 ms of CPU per live host on v2c
and ~6.2 ms on v3 (2-core test machine). Answers that have arrived wait for their turn, so
``concurrency`` x that must stay well under ``timeout_s``, or they time out in our own queue.
1000-camera loopback fleet, v3, 1 s timeout: 256 in flight let 0-1 % of the v3 attempts time
out on an otherwise idle machine (those hosts fell back to v2c), and up to 60 % while another
fleet loaded it; 128 lost none. Silent addresses cost no CPU: sparse ranges can take more.
``bench/snmp_sweep.py`` measures all of this (1000 cameras in a /22, concurrency 128: v2c
3.7 s, v3 8.1 s; net-snmp's snmpget per host, same pool: 1.9x and 1.2x the wall time, 3.1x
and 2.3x the client CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Final

from pyasn1.type import univ
from pydantic import Field, ValidationError, model_validator
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config as snmp_config
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher
from pysnmp.hlapi.v1arch.asyncio import get_cmd as v1_get_cmd
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine, Udp6TransportTarget, UdpTransportTarget
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto import error as proto_error
from pysnmp.proto.api import v2c
from pysnmp.proto.mpmod.rfc3412 import SnmpV3MessageProcessingModel
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.smi import instrum

from devmgr.inventory.model import DeviceError, ErrorKind, SnmpIdentity
from devmgr.model import Model, normalize_mac
from devmgr.protocols.pysnmp_mibs import CachedMibBuilder
from devmgr.targets import (
    SnmpCredentials,
    SnmpV3Credentials,
    Target,
    TargetsError,
    resolve_secret,
)

log = logging.getLogger(__name__)

__all__ = [
    "VENDOR_BY_ENTERPRISE",
    "SnmpConfig",
    "SnmpSession",
    "SweepResult",
    "enterprise_number",
    "snmp_identity",
    "snmp_identity_for_target",
    "snmp_sweep",
    "sweep_addresses",
    "vendor_for",
]

# -- vendor fingerprint ------------------------------------------------------------------------

#: IANA private enterprise numbers of the camera vendors we know -> vendor name. A copy of the
#: simulators' table (devmgr must not import simulators); the names match what the units
#: report as ONVIF Manufacturer.
VENDOR_BY_ENTERPRISE: Final[Mapping[int, str]] = MappingProxyType({
    39165: "Hikvision",
    368: "Axis",
    1004849: "Dahua",
    36849: "Hanwha",
    25506: "Uniview",
})

_ENTERPRISES: Final = (1, 3, 6, 1, 4, 1)


def enterprise_number(sys_object_id: str) -> int | None:
    """The enterprise number of a sysObjectID (``1.3.6.1.4.1.<n>...``), else None."""
    try:
        arcs = tuple(int(arc) for arc in sys_object_id.strip().strip(".").split("."))
    except ValueError:
        return None
    if len(arcs) <= len(_ENTERPRISES) or arcs[: len(_ENTERPRISES)] != _ENTERPRISES:
        return None
    return arcs[len(_ENTERPRISES)]


def vendor_for(sys_object_id: str) -> str:
    """Vendor name from a sysObjectID's enterprise number; "" if unknown.

    >>> vendor_for("1.3.6.1.4.1.39165.1.12345")
    'Hikvision'
    >>> vendor_for("1.3.6.1.4.1.8072.3.2.10")
    ''
    """
    number = enterprise_number(sys_object_id)
    return VENDOR_BY_ENTERPRISE.get(number, "") if number is not None else ""


# -- what we ask ---------------------------------------------------------------------------------

SYS_DESCR: Final = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID: Final = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT: Final = "1.3.6.1.2.1.1.4.0"
SYS_NAME: Final = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION: Final = "1.3.6.1.2.1.1.6.0"
IF_PHYS_ADDRESS_1: Final = "1.3.6.1.2.1.2.2.1.6.1"
ENT_PHYSICAL_SERIAL_1: Final = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_PHYSICAL_MODEL_1: Final = "1.3.6.1.2.1.47.1.1.1.1.13.1"
SNMP_ENGINE_ID: Final = "1.3.6.1.6.3.10.2.1.1.0"
SNMP_ENGINE_BOOTS: Final = "1.3.6.1.6.3.10.2.1.2.0"

IDENTITY_OIDS: Final = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME,
                        SYS_LOCATION, IF_PHYS_ADDRESS_1, ENT_PHYSICAL_SERIAL_1,
                        ENT_PHYSICAL_MODEL_1, SNMP_ENGINE_ID, SNMP_ENGINE_BOOTS)
_SYSTEM_GROUP: Final = frozenset({SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME})

#: Default communities nobody keeps secret; recorded verbatim in ``access`` (see module doc).
WELL_KNOWN_COMMUNITIES: Final = ("public", "private")

#: Refuse sweeps larger than this unless the caller raises ``max_hosts``.
DEFAULT_MAX_HOSTS: Final = 65536

# -- configuration -------------------------------------------------------------------------------


class SnmpConfig(Model):
    """Credentials to try and how hard to try. Frozen; safe to share between tasks.

    v3 users are :class:`~devmgr.targets.SnmpV3Credentials`, so keys may be given as
    ``auth_key_env``/``priv_key_env`` references, resolved when a request is made.
    """

    #: v2c communities, tried after the v3 users, in this order (see ``access``).
    communities: tuple[str, ...] = ()
    #: v3 users, tried first, in this order.
    v3_users: tuple[SnmpV3Credentials, ...] = ()
    port: int = Field(default=161, ge=1, le=65535)
    #: Seconds to wait for each request's answer (pysnmp's timer ticks every 0.1 s).
    timeout_s: float = Field(default=1.0, gt=0.0, le=60.0)
    #: Re-sends after a timeout; each one costs ``timeout_s`` more on a silent host.
    retries: int = Field(default=1, ge=0, le=10)
    #: Hosts in flight at once (per session / sweep). Keep it x ~6 ms (v3; v2c ~2.5 ms) well
    #: under ``timeout_s`` for ranges full of live hosts (see the module docstring).
    concurrency: int = Field(default=128, ge=1, le=4096)
    #: Send all communities at once instead of one after the other (see module doc).
    parallel_communities: bool = True

    @model_validator(mode="after")
    def _usable(self) -> SnmpConfig:
        if not self.communities and not self.v3_users:
            raise ValueError("give at least one v2c community or one v3 user")
        if any(not c for c in self.communities):
            raise ValueError("a v2c community cannot be empty")
        return self

    @classmethod
    def from_credentials(cls, credentials: SnmpCredentials, **options: Any) -> SnmpConfig:
        """A config with one target's credentials (``community_env`` resolved now)."""
        community = resolve_secret(credentials.community, credentials.community_env,
                             "the SNMP community")
        return cls(communities=(community,) if community else (),
                   v3_users=(credentials.v3,) if credentials.v3 else (),
                   port=credentials.port, **options)


# -- prepared credentials ------------------------------------------------------------------------

_AUTH_PROTOCOLS: Final[Mapping[str, tuple[int, ...]]] = {
    "none": snmp_config.USM_AUTH_NONE,
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA256": snmp_config.USM_AUTH_HMAC192_SHA256,
}
_PRIV_PROTOCOLS: Final[Mapping[str, tuple[int, ...]]] = {
    "none": snmp_config.USM_PRIV_NONE,
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
}


_NO_AUTH_NO_PRIV, _AUTH_NO_PRIV, _AUTH_PRIV = 1, 2, 3


@functools.lru_cache(maxsize=1024)
def _master_auth_key(protocol: str, passphrase: str) -> Any:
    # RFC 3414 A.2 password-to-key hashes 1 MB per key (~2 ms); done once per process and
    # passphrase, then only localised (cheap) per remote engine.
    return snmp_config.AUTH_SERVICES[_AUTH_PROTOCOLS[protocol]].hash_passphrase(
        rfc1902.OctetString(passphrase.encode("utf-8")))


@functools.lru_cache(maxsize=1024)
def _master_priv_key(auth_protocol: str, protocol: str, passphrase: str) -> Any:
    return snmp_config.PRIV_SERVICES[_PRIV_PROTOCOLS[protocol]].hash_passphrase(
        _AUTH_PROTOCOLS[auth_protocol], rfc1902.OctetString(passphrase.encode("utf-8")))


@dataclass(frozen=True)
class _V3User:
    name: str
    auth_protocol: str
    priv_protocol: str
    auth_key: Any = field(repr=False)
    priv_key: Any = field(repr=False)

    @property
    def security_level(self) -> int:
        """RFC 3411 securityLevel: 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv."""
        if self.auth_protocol == "none":
            return _NO_AUTH_NO_PRIV
        return _AUTH_NO_PRIV if self.priv_protocol == "none" else _AUTH_PRIV


@dataclass(frozen=True)
class _Community:
    label: str  # what ``access`` and messages say; never the community itself
    auth: Any = field(repr=False)  # pysnmp v1arch CommunityData


@dataclass(frozen=True)
class _Plan:
    """A config with every secret resolved and every key hashed: what a request needs."""

    v3_users: tuple[_V3User, ...]
    communities: tuple[_Community, ...]
    port: int
    timeout_s: float
    retries: int
    parallel_communities: bool
    secrets: tuple[str, ...] = field(repr=False)

    @property
    def round_trip_s(self) -> float:
        """How long pysnmp may take for one request including its re-sends."""
        return self.timeout_s * (self.retries + 1)


def _v3_user(user: SnmpV3Credentials) -> tuple[_V3User, list[str]]:
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
    return _V3User(user.user, auth_protocol, priv_protocol, master_auth, master_priv), secrets


def community_label(community: str, position: int) -> str:
    """What ``access`` says for a v2c community: its 1-based position, never the string."""
    return f"v2c:{community}" if community in WELL_KNOWN_COMMUNITIES else f"v2c:#{position}"


def _plan(config: SnmpConfig) -> _Plan:
    users: list[_V3User] = []
    secrets: list[str] = []
    for user in config.v3_users:
        prepared, user_secrets = _v3_user(user)
        users.append(prepared)
        secrets.extend(user_secrets)
    communities = []
    for position, community in enumerate(config.communities, start=1):
        communities.append(_Community(community_label(community, position),
                                      V1CommunityData(community, mpModel=1)))
        secrets.append(community)
    return _Plan(tuple(users), tuple(communities), config.port, config.timeout_s,
                 config.retries, config.parallel_communities,
                 tuple(sorted(secrets, key=len, reverse=True)))


# -- results -------------------------------------------------------------------------------------


class SweepResult(Model):
    """What a sweep found; silent addresses are only counted."""

    #: One per host that let us in, ordered by address.
    identities: tuple[SnmpIdentity, ...] = ()
    #: Addresses probed.
    probed: int = 0
    #: Hosts that answered anything: an identity, a refusal or a garbled reply.
    answered: int = 0
    #: Hosts that are alive but refused every credential (address -> error).
    auth_failures: dict[str, DeviceError] = Field(default_factory=dict)
    #: Hosts that answered something unusable (address -> error).
    protocol_errors: dict[str, DeviceError] = Field(default_factory=dict)
    #: Hosts that could not be sent to (no route), if any.
    unreachable: int = 0
    elapsed_s: float = 0.0

    @property
    def silent(self) -> int:
        return self.probed - self.answered - self.unreachable


# -- the session ---------------------------------------------------------------------------------

#: securityName of the discovery request, a noAuthNoPriv USM row. With the engine ID unknown
#: (we make sure it is, see _V3Engine._forget_engine) pysnmp sends the request with an empty
#: user name, as RFC 3414 4 says; the row only matters if pysnmp knew the engine after all.
_DISCOVERY_USER: Final = "camfleet-discovery"

_AUTH_REFUSALS: Final = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                         errind.UnsupportedSecurityLevel, errind.AuthenticationFailure,
                         errind.AuthenticationError, errind.NoAuthentication,
                         errind.UnknownSecurityName, errind.UnknownCommunityName)
#: errorStatus values meaning "you may not read this": authorizationError (16), noAccess (6).
_AUTH_STATUSES: Final = frozenset({6, 16})
#: Reports after which a request is re-sent at once: the engine ID or time window was stale
#: and pysnmp has learnt the right one from the report.
_RESYNC: Final = (errind.NotInTimeWindow, errind.UnknownEngineID)
_UNREACHABLE_ERRNOS: Final = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH,
                                        errno.ECONNREFUSED, errno.EADDRNOTAVAIL})

#: The GET's variable bindings, built once: plain (name, Null) pairs need no MIB lookup.
_V2C_VAR_BINDS: Final = tuple((rfc1902.ObjectName(oid), rfc1902.Null("")) for oid in IDENTITY_OIDS)
#: v3 leaves out the engine scalars: every v3 message header carries them, authenticated.
_V3_VAR_BINDS: Final = tuple(vb for vb in _V2C_VAR_BINDS
                             if str(vb[0]) not in (SNMP_ENGINE_ID, SNMP_ENGINE_BOOTS))

#: How many hosts one v3 engine serves before a fresh one takes over (see _V3Engine).
DEFAULT_HOSTS_PER_ENGINE: Final = 64


@dataclass
class _Engine:
    """What an SNMPv3 engine told us about itself, from the message headers."""

    engine_id: bytes
    boots: int | None
    time_s: int | None


@dataclass
class _Attempt:
    """The outcome of one request: an identity, or why not."""

    identity: SnmpIdentity | None = None
    kind: ErrorKind | None = None
    detail: str = ""


#: Receive buffer asked for each client socket. A sweep sends ``concurrency`` requests in a
#: burst and the answers come back as fast: with Linux's default (208 KiB) 256 in flight lost
#: ~200 of 1000 v2c answers (RcvbufErrors), with 4 MiB none. The kernel caps it at
#: net.core.rmem_max (4 MiB here; raise it where it is smaller, or lower the concurrency).
RECEIVE_BUFFER_BYTES: Final = 4 * 1024 * 1024


def _grow_receive_buffer(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # not fatal: only more drops under a burst
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


class _ClientDelivery:
    """Hands each datagram to pysnmp at once, and drops it once the transport is closed.

    pysnmp's datagram transports defer every datagram with ``loop.call_soon``; one that is
    still queued when its dispatcher closes (a late answer, a duplicate after a re-send) then
    raises "Unregistered transport" into the loop's error log. Delivering synchronously
    leaves nothing queued; whatever pysnmp raises on a garbled datagram is dropped here, as
    a datagram from anyone on the network deserves, instead of reaching asyncio (which would
    close the socket).
    """

    _callback_function: Any

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        deliver = self._callback_function
        if deliver is None:
            return
        try:
            deliver(self, address, datagram)
        except Exception:  # see the class docstring
            log.debug("dropped a datagram from %s that pysnmp could not process", address,
                      exc_info=True)


class _Udp4(_ClientDelivery, udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP client transport with a receive buffer sized for bursts."""

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        _grow_receive_buffer(transport)
        super().connection_made(transport)


class _Udp6(_ClientDelivery, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        _grow_receive_buffer(transport)
        super().connection_made(transport)


_TRANSPORTS: Final[Mapping[tuple[int, ...], Any]] = {
    tuple(udp.DOMAIN_NAME): _Udp4, tuple(udp6.DOMAIN_NAME): _Udp6}


async def _stop_dispatcher(dispatcher: Any, close: Callable[[], None]) -> None:
    """Close a pysnmp transport dispatcher and wait until its timer task has really ended.

    ``close_dispatcher`` only *cancels* the timer task and asks the socket to close; both
    happen on later loop iterations, so without this a caller could see a pending task.
    """
    timer = getattr(dispatcher, "loopingcall", None) if dispatcher is not None else None
    close()
    if timer is not None:
        await asyncio.gather(timer, return_exceptions=True)
    await asyncio.sleep(0)  # the transport's connection_lost, which closes the socket


def _new_engine() -> Any:
    return SnmpEngine(msgAndPduDsp=MsgAndPduDispatcher(
        instrum.MibInstrumController(CachedMibBuilder())))


class _V3Engine:
    """One pysnmp ``SnmpEngine`` serving the v3 requests of up to ``capacity`` hosts.

    Requests go straight to the engine's message dispatcher (RFC 3412 ``sendPdu``) with the
    host's address, not through ``get_cmd``: ``get_cmd`` needs a row in SNMP-TARGET-MIB per
    address (and the discovery request a second one), and pysnmp writes MIB rows through its
    full SET machinery, ~2 ms of CPU each. A USM user row per remote engine cannot be avoided
    (pysnmp keeps the localised keys there); see :meth:`_user_row` for the cheap way to it.

    Why not one engine for a whole sweep: pysnmp rebuilds its user lookup map from the USM
    table (a walk of every row) whenever a row was added since the last message, so with a
    row per host every message pays for all hosts seen so far and a sweep turns quadratic
    (1000 hosts: 10.4 ms of CPU per host, against 6.2 ms with 64 hosts per engine). An engine
    costs ~4 ms to build (see devmgr.protocols.pysnmp_mibs) plus two USM rows, spread over
    its hosts.
    """

    #: Re-sends after notInTimeWindow / unknownEngineID reports (a reboot, a replaced unit);
    #: pysnmp's command generator allows four as well.
    DISCOVERY_RETRIES: Final = 4

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hosts = 0
        self.active = 0
        self.closed = False
        self.engine = _new_engine()
        #: (remote engine ID, user name) -> the keys its USM row holds (or will, once cloned).
        self._rows: dict[tuple[bytes, str], tuple[Any, ...]] = {}
        #: user name -> the keys of its proto row (local engine ID), the source of clones.
        self._proto: dict[str, tuple[Any, ...]] = {}
        #: (engine ID, boots, time) of the v3 message being processed (see _observe).
        self._usm_header: tuple[bytes, int, int] | None = None
        #: The latest engine header seen from each (host, port).
        self.engines: dict[tuple[str, int], _Engine] = {}
        self._domains: set[tuple[int, ...]] = set()
        # The discovery report and every authenticated response carry the remote engine's
        # ID, boots and time in their header; pysnmp shows them to observers only.
        self.engine.observer.register_observer(
            self._observe, "rfc3414.processIncomingMsg", "rfc3412.prepareDataElements:internal",
            "rfc3412.prepareDataElements:response")
        snmp_config.add_v3_user(self.engine, _DISCOVERY_USER)

    @property
    def full(self) -> bool:
        return self.hosts >= self.capacity

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.engine.observer.unregister_observer(self._observe)
        await _stop_dispatcher(self.engine.transport_dispatcher, self.engine.close_dispatcher)
        self.engines.clear()
        self._rows.clear()

    def _ensure_transport(self, domain: tuple[int, ...]) -> None:
        if domain not in self._domains:
            snmp_config.add_transport(self.engine, domain, _TRANSPORTS[domain]().open_client_mode())
            self._domains.add(domain)

    # -- pysnmp observers (called synchronously while a datagram is processed) ------------------
    def _observe(self, _engine: Any, point: str, variables: Mapping[str, Any],
                 _ctx: Any) -> None:
        if point == "rfc3414.processIncomingMsg":
            # USM runs first, inside the same call that later reaches prepareDataElements:
            # hold the header until we learn which address the message came from.
            self._usm_header = (bytes(variables["securityEngineId"]),
                                int(variables["snmpEngineBoots"]),
                                int(variables["snmpEngineTime"]))
            return
        header, self._usm_header = self._usm_header, None
        if int(variables.get("securityModel", 0)) != 3:
            return
        engine_id = bytes(variables["securityEngineId"])
        address = variables["transportAddress"]
        key = (str(address[0]), int(address[1]))
        if header is not None and header[0] == engine_id:
            self.engines[key] = _Engine(engine_id, header[1], header[2])
        elif engine_id:
            self.engines[key] = _Engine(engine_id, None, None)

    # -- requests ------------------------------------------------------------------------------
    async def _exchange(self, domain: tuple[int, ...], address: tuple[str, int], *,
                        security_name: Any, security_level: int, pdu: Any,
                        timeout_s: float) -> tuple[Any, Any]:
        """Send one request; return (error indication or None, response PDU or None)."""
        self._ensure_transport(domain)
        future: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()

        def done(_engine: Any, _mp: Any, _sm: Any, _name: Any, _level: Any, _ctx_id: Any,
                 _ctx_name: Any, _version: Any, response: Any, status: Any, _handle: Any,
                 _ctx: Any) -> None:
            if not future.done():
                future.set_result((status["errorIndication"] if status else None, response))

        ticks = timeout_s / self.engine.transport_dispatcher.get_timer_resolution() \
            if self.engine.transport_dispatcher is not None else timeout_s * 10
        try:
            self.engine.message_dispatcher.send_pdu(
                self.engine, domain, address, 3, 3, security_name, security_level, None, b"",
                1, pdu, True, ticks, done, None)
        except proto_error.StatusInformation as exc:
            # pysnmp refused to build the request (our configuration, not the device's):
            # a plain string, so that it is not taken for the agent's refusal.
            return f"request not sent: {exc['errorIndication']}", None
        return await future

    async def _request(self, domain: tuple[int, ...], address: tuple[str, int], *,
                       security_name: str, security_level: int, var_binds: Sequence[Any],
                       plan: _Plan, discovery: bool = False) -> tuple[Any, Any]:
        """A GET with pysnmp's command-generator semantics: ``plan.retries`` re-sends after
        a timeout, and up to DISCOVERY_RETRIES immediate re-sends after a report that
        re-synchronised the engine ID or time window -- except for discovery itself, which
        stops at the first answer of any kind."""
        pdu = v2c.GetRequestPDU()
        v2c.apiPDU.set_defaults(pdu)
        v2c.apiPDU.set_varbinds(pdu, var_binds)
        timeouts = resyncs = 0
        while True:
            indication, response = await self._exchange(
                domain, address, security_name=rfc1902.OctetString(security_name),
                security_level=security_level, pdu=pdu, timeout_s=plan.timeout_s)
            if isinstance(indication, errind.RequestTimedOut):
                timeouts += 1
                if timeouts > plan.retries:
                    return indication, None
                continue
            if (not discovery and isinstance(indication, _RESYNC)
                    and resyncs < self.DISCOVERY_RETRIES):
                resyncs += 1
                continue
            if response is not None and (v2c.apiPDU.get_request_id(response)
                                         != v2c.apiPDU.get_request_id(pdu)):
                return "response to another request", None
            return indication, response

    async def discover(self, domain: tuple[int, ...], address: tuple[str, int],
                       plan: _Plan) -> _Engine | _Attempt:
        """RFC 3414 section 4 discovery: one unauthenticated request with an empty engine ID.

        An agent answers it with a report carrying its snmpEngineID, boots and time, whatever
        our credentials; the observer keeps them, and pysnmp caches the engine ID for the
        authenticated request that follows.
        """
        self.engines.pop(address, None)
        self._forget_engine(domain, address)
        deadline = plan.round_trip_s + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, _ = await self._request(
                    domain, address, security_name=_DISCOVERY_USER,
                    security_level=_NO_AUTH_NO_PRIV, var_binds=(), plan=plan, discovery=True)
        except TimeoutError:
            indication = errind.requestTimedOut
        found = self.engines.get(address)
        if found is not None:  # any answer at all (report or response) proves an engine
            return found
        if isinstance(indication, errind.RequestTimedOut):
            return _Attempt(kind=ErrorKind.TIMEOUT,
                            detail=f"no answer within {plan.round_trip_s:g} s")
        return _Attempt(kind=ErrorKind.PROTOCOL, detail=f"unexpected outcome: {indication}")

    def _forget_engine(self, domain: tuple[int, ...], address: tuple[str, int]) -> None:
        """Drop pysnmp's cached engine ID for this address, so discovery really discovers.

        pysnmp's v3 message processing caches the engine ID of each address for 300 s, only
        fills the cache when the address has no entry, and sends even a "discovery" request
        under the cached ID. A unit replaced on the same address (new engine ID: Art. 10's
        "replaced") would then be asked under its predecessor's ID, which agents may ignore
        (the simulated ones do) -- and look removed. There is a public getter but no way to
        forget an entry, hence the private attribute; should a future pysnmp rename it, only
        a unit replaced while this engine lives is affected (its v3 attempt times out and
        the communities are tried).
        """
        model = self.engine.message_processing_subsystems.get(
            SnmpV3MessageProcessingModel.MESSAGE_PROCESSING_MODEL_ID)
        cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
        if isinstance(cache, dict):
            cache.pop((domain, address), None)

    def _user_row(self, user: _V3User, engine_id: bytes) -> None:
        """Make sure USM holds ``user``'s keys, localised, for one remote engine.

        The cheap way, taken whenever it is unambiguous (a sweep: one key set per user name):
        one "proto" row per user name with the master keys; pysnmp clones it for each new
        remote engine on the first request (one MIB write, localising the keys). Only when a
        different key set for the same user name comes along (per-camera keys in a targets
        file) does that camera get an explicit row of its own (``add_v3_user``: ~6 MIB
        writes, 5x the clone); a row holding other keys is replaced.
        """
        key = (engine_id, user.name)
        keys = (user.auth_protocol, user.auth_key, user.priv_protocol, user.priv_key)
        held = self._rows.get(key)
        if held == keys:
            return
        proto = self._proto.get(user.name)
        if proto is None and held is None:
            snmp_config.add_v3_user(
                self.engine, user.name,
                _AUTH_PROTOCOLS[user.auth_protocol], user.auth_key,
                _PRIV_PROTOCOLS[user.priv_protocol], user.priv_key,
                authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
                privKeyType=snmp_config.USM_KEY_TYPE_MASTER)
            self._proto[user.name] = proto = keys
        if proto == keys and held is None:
            self._rows[key] = keys  # cloned from the proto row on the first request
            return
        security_engine = rfc1902.OctetString(engine_id)
        if held is not None:
            snmp_config.delete_v3_user(self.engine, user.name, security_engine)
        snmp_config.add_v3_user(
            self.engine, user.name,
            _AUTH_PROTOCOLS[user.auth_protocol], user.auth_key,
            _PRIV_PROTOCOLS[user.priv_protocol], user.priv_key,
            securityEngineId=security_engine,
            authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
            privKeyType=snmp_config.USM_KEY_TYPE_MASTER)
        self._rows[key] = keys

    async def get(self, domain: tuple[int, ...], address: tuple[str, int], user: _V3User,
                  found: _Engine, plan: _Plan) -> _Attempt:
        self._user_row(user, found.engine_id)
        # Re-sends after reports (a reboot moves the time window) fit in twice the budget.
        deadline = plan.round_trip_s * 2 + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, response = await self._request(
                    domain, address, security_name=user.name,
                    security_level=user.security_level, var_binds=_V3_VAR_BINDS, plan=plan)
        except TimeoutError:
            return _Attempt(kind=ErrorKind.TIMEOUT, detail=f"no answer within {deadline:g} s")
        if response is None:
            return _failure(indication or "no response", 0, 0, plan) or _Attempt(
                kind=ErrorKind.PROTOCOL, detail="no response")
        failed = _failure(indication, v2c.apiPDU.get_error_status(response),
                          v2c.apiPDU.get_error_index(response, muteErrors=True), plan)
        if failed is not None:
            return failed
        return _parse_identity(address[0], address[1], f"v3:{user.name}",
                               v2c.apiPDU.get_varbinds(response), self.engines.get(address))


def _failure(indication: Any, status: Any, index: Any, plan: _Plan) -> _Attempt | None:
    """Classify what pysnmp handed back, or None if it is an answer to parse."""
    if indication:
        if isinstance(indication, errind.RequestTimedOut):
            return _Attempt(kind=ErrorKind.TIMEOUT,
                            detail=f"no answer within {plan.round_trip_s:g} s")
        if isinstance(indication, _AUTH_REFUSALS):
            return _Attempt(kind=ErrorKind.AUTH, detail=f"refused: {indication}")
        return _Attempt(kind=ErrorKind.PROTOCOL, detail=str(indication))
    if int(status):
        name = _error_status_name(int(status))
        kind = ErrorKind.AUTH if int(status) in _AUTH_STATUSES else ErrorKind.PROTOCOL
        return _Attempt(kind=kind, detail=f"error status {name} at index {int(index)}")
    return None


class SnmpSession:
    """The client side of many concurrent SNMP requests; an async context manager.

    v2c goes through pysnmp's v1arch ``SnmpDispatcher`` (stateless: one socket, requests
    matched by request-id, no configuration tables), shared by everything in the session.
    v3 goes through v3arch ``SnmpEngine`` instances, one per ``hosts_per_engine`` hosts (see
    :class:`_V3Engine` for why), created only when a v3 user is tried.

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
        self._v3: _V3Engine | None = None
        #: Every v3 engine not closed yet (the current one and retired ones still in use).
        self._v3_engines: set[_V3Engine] = set()
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
            dispatcher = v1.transport_dispatcher

            def stop() -> None:
                # Not SnmpDispatcher.close(): pysnmp 7.1 calls pending requests' callbacks
                # with one argument too few there (TypeError). Requests still pending belong
                # to callers that gave up (cancelled); they need no answer.
                dispatcher.unregister_recv_callback()
                dispatcher.unregister_timer_callback()
                dispatcher.close_dispatcher()  # closes the sockets and the timer task

            await _stop_dispatcher(dispatcher, stop)
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
                                          _TRANSPORTS[domain]().open_client_mode())
            self._v2c_domains.add(domain)
        return self._v2c

    def _checkout_v3(self) -> _V3Engine:
        current = self._v3
        if current is None or current.full:
            current = self._v3 = _V3Engine(self._hosts_per_engine)
            self._v3_engines.add(current)
            self.engines_created += 1
        current.hosts += 1
        current.active += 1
        return current

    async def _checkin_v3(self, engine: _V3Engine) -> None:
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
        return await self._identity(address, _plan(config), port)

    async def _identity(self, address: str, plan: _Plan,
                        port: int | None) -> SnmpIdentity | DeviceError:
        if not self._open:
            raise RuntimeError("the SNMP session is not open")
        port = plan.port if port is None else port
        async with self._slots:
            try:
                return await self._attempts(address, port, plan)
            except (PySnmpError, OSError) as exc:
                return _exception_error(exc, address, port, plan)

    async def _attempts(self, address: str, port: int,
                        plan: _Plan) -> SnmpIdentity | DeviceError:
        notes: list[str] = []
        kinds: list[ErrorKind] = []
        try:
            target = await _target(address, port, plan)
        except PySnmpError:  # a host name that does not resolve
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{_where(address, port)}: cannot resolve the address")
        domain = tuple(target.TRANSPORT_DOMAIN)
        peer = (str(target.transport_address[0]), int(target.transport_address[1]))
        if plan.v3_users:
            engine = self._checkout_v3()
            try:
                found = await engine.discover(domain, peer, plan)
                if isinstance(found, _Attempt):
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
        message = _scrub(f"{_where(address, port)}: " + "; ".join(notes), plan.secrets)
        return DeviceError(kind=kind, operation="snmp-get", message=message)

    async def _communities(self, target: Any,
                           plan: _Plan) -> list[tuple[_Community, _Attempt]]:
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

    async def _v2c_get(self, target: Any, community: _Community, plan: _Plan) -> _Attempt:
        # v1arch matches an answer to its request by request-id only (a random 31-bit start,
        # then counting), not by source address: enough against mix-ups between the hosts of a
        # sweep; v2c offers no protection against a forger on the path anyway.
        deadline = plan.round_trip_s + 0.5
        try:
            async with asyncio.timeout(deadline):
                indication, status, index, var_binds = await v1_get_cmd(
                    self._v2c_dispatcher(target), community.auth, target, *_V2C_VAR_BINDS,
                    lookupMib=False)
        except TimeoutError:
            return _Attempt(kind=ErrorKind.TIMEOUT, detail=f"no answer within {deadline:g} s")
        failed = _failure(indication, status, index, plan)
        if failed is not None:
            return failed
        address = target.transport_address
        return _parse_identity(str(address[0]), int(address[1]), community.label, var_binds,
                               None)


async def _target(address: str, port: int, plan: _Plan) -> Any:
    """A pysnmp transport target: the address resolved (host names too), timeout, retries."""
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        version = 4  # a host name: the IPv4 target resolves it
    target_class = Udp6TransportTarget if version == 6 else UdpTransportTarget
    return await target_class.create((address, port), timeout=plan.timeout_s,
                                     retries=plan.retries)


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _error_status_name(status: int) -> str:
    names = rfc1905.errorStatus.namedValues
    try:
        return f"{names.getName(status)}({status})"
    except (KeyError, AttributeError):
        return str(status)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    """Belt and braces: no community or key ever leaves in a message, whatever pysnmp said."""
    for secret in secrets:  # longest first, so a secret containing another goes whole
        if secret:
            text = text.replace(secret, "***")
    return text


def _exception_error(exc: BaseException, address: str, port: int, plan: _Plan) -> DeviceError:
    """pysnmp raised instead of answering: a send that failed, or something malformed."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{_where(address, port)}: {os.strerror(cause.errno)}")
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip().splitlines()
    summary = text[-1] if text else type(exc).__name__
    # pysnmp wraps send errors in CarrierError with the formatted traceback as text.
    for code in _UNREACHABLE_ERRNOS:
        if f"[Errno {code}]" in summary:
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{_where(address, port)}: {os.strerror(code)}")
    return DeviceError(kind=ErrorKind.PROTOCOL, operation="snmp-get",
                       message=_scrub(f"{_where(address, port)}: {summary}", plan.secrets))


# -- parsing -------------------------------------------------------------------------------------

_MISSING: Final = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


def _text(value: Any) -> str:
    # DisplayString/SnmpAdminString content: UTF-8 on the cameras we know (Chinese street
    # addresses in sysLocation); never fail on a stray byte.
    return bytes(value).decode("utf-8", errors="replace") if isinstance(
        value, univ.OctetString) else ""


def _parse_identity(address: str, port: int, access: str, var_binds: Iterable[Any],
                    engine: _Engine | None) -> _Attempt:
    values: dict[str, Any] = {}
    for name, value in var_binds:
        if isinstance(value, _MISSING) or value is None:
            continue
        values[str(name)] = value
    if not _SYSTEM_GROUP & values.keys():
        return _Attempt(kind=ErrorKind.PROTOCOL,
                        detail="answered, but with none of the system group")
    fields: dict[str, Any] = {
        "address": address, "port": port, "access": access,
        "sys_descr": _text(values.get(SYS_DESCR)),
        "sys_contact": _text(values.get(SYS_CONTACT)),
        "sys_name": _text(values.get(SYS_NAME)),
        "sys_location": _text(values.get(SYS_LOCATION)),
        "serial": _text(values.get(ENT_PHYSICAL_SERIAL_1)).strip(),
        "model": _text(values.get(ENT_PHYSICAL_MODEL_1)).strip(),
    }
    oid = values.get(SYS_OBJECT_ID)
    if isinstance(oid, univ.ObjectIdentifier):
        fields["sys_object_id"] = ".".join(str(arc) for arc in tuple(oid))
        fields["vendor"] = vendor_for(fields["sys_object_id"])
    uptime = values.get(SYS_UPTIME)
    if isinstance(uptime, univ.Integer):
        fields["uptime_s"] = int(uptime) / 100.0
    mac = values.get(IF_PHYS_ADDRESS_1)
    if isinstance(mac, univ.OctetString) and len(bytes(mac)) == 6:
        fields["mac"] = normalize_mac(bytes(mac).hex())
    # v3: the engine's own header (authenticated) is the source; v2c: the MIB objects.
    engine_id = values.get(SNMP_ENGINE_ID)
    boots = values.get(SNMP_ENGINE_BOOTS)
    if engine is not None:
        fields["engine_id"] = engine.engine_id.hex()
        fields["engine_boots"] = engine.boots
    if not fields.get("engine_id") and isinstance(engine_id, univ.OctetString):
        fields["engine_id"] = bytes(engine_id).hex()
    if fields.get("engine_boots") is None and isinstance(boots, univ.Integer):
        fields["engine_boots"] = int(boots)
    return _Attempt(identity=SnmpIdentity(**fields))


# -- public functions ----------------------------------------------------------------------------


async def snmp_identity(address: str, config: SnmpConfig | SnmpCredentials, *,
                        port: int | None = None,
                        session: SnmpSession | None = None) -> SnmpIdentity | DeviceError:
    """Identify one host. Never raises for device trouble: errors come back classified.

    Without ``session`` a private one is opened and closed (~60 ms of CPU for the engine);
    pass a shared :class:`SnmpSession` when identifying many hosts. Raises
    :class:`~devmgr.targets.TargetsError` if a credential's environment variable is unset.
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
    :class:`~devmgr.targets.TargetsError`, as for a missing environment variable.
    """
    if target.snmp is None:
        raise TargetsError(f"target {target.id}: has no snmp credentials")
    try:
        config = SnmpConfig.from_credentials(target.snmp, timeout_s=timeout_s,
                                             retries=retries)
        _plan(config)  # every *_env reference resolves, or the error names the target
    except ValidationError as exc:  # neither a community nor a v3 user
        raise TargetsError(f"target {target.id}: unusable snmp credentials: "
                           f"{exc.errors()[0]['msg']}") from None
    except TargetsError as exc:
        raise TargetsError(f"target {target.id}: {exc}") from None
    return await snmp_identity(target.address, config, port=target.snmp.port, session=session)


def sweep_addresses(cidrs: Sequence[str], max_hosts: int = DEFAULT_MAX_HOSTS) -> list[str]:
    """Every host address of the CIDRs, once, in order; network and broadcast skipped.

    Raises ValueError for a malformed CIDR or more than ``max_hosts`` addresses (checked
    before any is listed, so a typo like ``10.0.0.0/8`` fails at once).
    """
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {cidr!r} ({exc})") from None
    total = sum(n.num_addresses for n in networks)
    if total > max_hosts:
        raise ValueError(f"{', '.join(cidrs)} holds {total} addresses, more than the "
                         f"{max_hosts} allowed; pass a larger max_hosts to sweep them")
    seen: set[str] = set()
    ordered = []
    for network in networks:
        for host in network.hosts():  # /31 and /32 (RFC 3021) included, others minus ends
            text = str(host)
            if text not in seen:
                seen.add(text)
                ordered.append(text)
    return ordered


async def snmp_sweep(cidrs: Sequence[str], config: SnmpConfig, *,
                     progress: Callable[[int, int], None] | None = None,
                     max_hosts: int = DEFAULT_MAX_HOSTS,
                     session: SnmpSession | None = None) -> SweepResult:
    """Identify every host of the CIDRs, ``config.concurrency`` at a time, on one engine.

    ``progress(done, total)`` is called after each address. Silent addresses are only
    counted; hosts that refused every credential are listed in ``auth_failures`` (that is how
    a sweep finds cameras whose credentials it lacks).
    """
    addresses = sweep_addresses(cidrs, max_hosts)
    plan = _plan(config)  # resolves every secret before the first packet goes out
    began = time.monotonic()
    outcomes: dict[str, SnmpIdentity | DeviceError] = {}
    total = len(addresses)
    # Probe in a shuffled (but reproducible) order. Cameras are usually numbered from the
    # bottom of a range, so in address order the silent addresses come last and the sweep
    # ends with a tail of nothing but timeouts (2T with v3 users); spread out, their waits
    # overlap with the work on live hosts. Measured on a /22 with 1000 cameras: -2 s in v3.
    order = list(addresses)
    random.Random(total).shuffle(order)
    queue: Iterator[str] = iter(order)

    async def worker(active: SnmpSession) -> None:
        # Workers pull from one iterator, so a /16 is not 65536 tasks at once.
        for address in queue:
            outcomes[address] = await active._identity(address, plan, None)
            if progress is not None:
                progress(len(outcomes), total)

    async def run(active: SnmpSession) -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(config.concurrency, total)):
                group.create_task(worker(active))

    if session is not None:
        await run(session)
    else:
        async with SnmpSession(concurrency=config.concurrency) as own:
            await run(own)
    identities = [o for o in outcomes.values() if isinstance(o, SnmpIdentity)]
    errors = {a: o for a, o in outcomes.items() if isinstance(o, DeviceError)}
    auth = {a: e for a, e in errors.items() if e.kind is ErrorKind.AUTH}
    protocol = {a: e for a, e in errors.items() if e.kind is ErrorKind.PROTOCOL}
    unreachable = sum(1 for e in errors.values() if e.kind is ErrorKind.UNREACHABLE)
    return SweepResult(
        identities=tuple(sorted(identities, key=lambda i: ipaddress.ip_address(i.address))),
        probed=total, answered=len(identities) + len(auth) + len(protocol),
        auth_failures=auth, protocol_errors=protocol, unreachable=unreachable,
        elapsed_s=time.monotonic() - began)

