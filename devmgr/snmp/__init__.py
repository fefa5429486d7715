"""The manager's SNMP client: identity, vendor fingerprint, reboot evidence and sweeps.

One GET per host fetches the MIB-II system group, ifPhysAddress.1, the ENTITY-MIB serial and
model of entry 1 (and, on v2c, the engine scalars) and turns the answer into an
:class:`~devmgr.inventory.model.SnmpIdentity`, or into a classified
:class:`~camfleet.errors.DeviceError` -- never an exception, so one bad camera cannot
stop a sweep. Everything on the wire is encoded and decoded by pysnmp 7 (asyncio): v2c by
the v1arch ``get_cmd``, v3 by the v3arch ``SnmpEngine`` (USM, discovery, time windows).

    >>> import asyncio
    >>> from camfleet.targets import SnmpV3Credentials
    >>> from devmgr.snmp import SnmpConfig, snmp_identity, snmp_sweep
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
v3 does, and pysnmp's USM tables make one engine per sweep quadratic, so a session uses a
fresh engine every ``hosts_per_engine`` hosts (see ``_v3``).

**Concurrency.** One asyncio thread decodes every answer, a few milliseconds of CPU per live
host (more on v3 than on v2c). Answers that have arrived wait for their turn, so
``concurrency`` x that must stay well under ``timeout_s``, or they time out in our own queue;
silent addresses cost no CPU, so sparse ranges can take more. ``bench/snmp_sweep.py``
measures all of this; ``bench/README.md`` has the figures.

The modules: ``_config`` (what to try), ``_plan`` (secrets resolved, keys hashed),
``_answers`` (what we ask and what the answer means), ``_transport`` (sockets), ``_v3`` (the
v3 engine), ``_session`` and ``_sweep``.
"""

from devmgr.snmp._answers import IDENTITY_OIDS
from devmgr.snmp._config import WELL_KNOWN_COMMUNITIES, SnmpConfig, community_label
from devmgr.snmp._session import SnmpSession, snmp_identity, snmp_identity_for_target
from devmgr.snmp._sweep import DEFAULT_MAX_HOSTS, SweepResult, snmp_sweep, sweep_addresses
from devmgr.snmp._v3 import DEFAULT_HOSTS_PER_ENGINE

__all__ = [
    "DEFAULT_HOSTS_PER_ENGINE",
    "DEFAULT_MAX_HOSTS",
    "IDENTITY_OIDS",
    "WELL_KNOWN_COMMUNITIES",
    "SnmpConfig",
    "SnmpSession",
    "SweepResult",
    "community_label",
    "snmp_identity",
    "snmp_identity_for_target",
    "snmp_sweep",
    "sweep_addresses",
]
