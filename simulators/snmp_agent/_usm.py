"""SNMPv3 users of the cameras on one engine: rows of its USM table, keys localised per camera.

USM looks users up by (msgAuthoritativeEngineID, userName), so each camera sees its own
users with keys localised to its own engine ID.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from pysnmp.entity import config
from pysnmp.proto import rfc1902

from simulators.snmp_agent._objects import Oid
from simulators.spec import SnmpV3User

#: RFC 3411 securityLevel.
NO_AUTH, AUTH_NO_PRIV, AUTH_PRIV = 1, 2, 3


_AUTH_PROTOCOLS: Final[Mapping[str, Oid]] = {
    "none": config.USM_AUTH_NONE,
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
}
_PRIV_PROTOCOLS: Final[Mapping[str, Oid]] = {
    "none": config.USM_PRIV_NONE,
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
}


def security_level(user: SnmpV3User) -> int:
    if user.auth_protocol == "none":
        return NO_AUTH
    return AUTH_NO_PRIV if user.priv_protocol == "none" else AUTH_PRIV


@functools.lru_cache(maxsize=256)
def _master_keys(user: SnmpV3User) -> tuple[Any, Any]:
    """RFC 3414 A.2 password-to-key (a 1 MB hash per key), once per user definition.

    A fleet usually shares one monitoring user, so 1000 agents hash it once, and each engine
    only localises the master keys to its own engine ID (cheap).
    """
    auth = _AUTH_PROTOCOLS[user.auth_protocol]
    priv = _PRIV_PROTOCOLS[user.priv_protocol]
    auth_key = None
    priv_key = None
    if user.auth_protocol != "none":
        auth_key = config.AUTH_SERVICES[auth].hash_passphrase(
            rfc1902.OctetString(user.auth_key.encode("utf-8")))
    if user.priv_protocol != "none":
        priv_key = config.PRIV_SERVICES[priv].hash_passphrase(
            auth, rfc1902.OctetString(user.priv_key.encode("utf-8")))
    return auth_key, priv_key


def add_user(snmp_engine: Any, user: SnmpV3User, engine_id: bytes) -> None:
    """A row of the engine's USM user table for ``user`` on the camera with ``engine_id``.

    USM looks users up by (msgAuthoritativeEngineID, userName), and a request is only
    processed as authoritative when that engine ID is the one being served, so each camera
    sees its own users with keys localised to its own engine ID. ~3 ms and ~32 KiB a row,
    most of the per-camera cost on a host.
    """
    auth_key, priv_key = _master_keys(user)
    config.add_v3_user(
        snmp_engine, user.name,
        _AUTH_PROTOCOLS[user.auth_protocol], auth_key,
        _PRIV_PROTOCOLS[user.priv_protocol], priv_key,
        securityEngineId=engine_id,
        authKeyType=config.USM_KEY_TYPE_MASTER,
        privKeyType=config.USM_KEY_TYPE_MASTER,
    )


def delete_user(snmp_engine: Any, name: str, engine_id: bytes) -> None:
    """Drop the USM row of one camera's user.

    Not ``config.delete_v3_user``: after dropping the row it walks the whole table for users
    cloned from it (a manager-side thing this engine never does), 0.6 s per call with 1000
    cameras, and it also destroys the pysnmpUsmSecretEntry row, which is keyed by user name
    only and so shared by every camera with a user of that name. Destroying the row through
    its RowStatus (usmUserStatus, column 13 in RFC 3414) drops its pysnmpUsmKeyEntry
    augmentation (the localised keys) with it.
    """
    (entry,) = snmp_engine.get_mib_builder().import_symbols(
        "SNMP-USER-BASED-SM-MIB", "usmUserEntry")
    index = entry.getInstIdFromIndices(engine_id, name)
    snmp_engine.message_dispatcher.mib_instrum_controller.write_variables(
        ((*entry.name, 13, *index), "destroy"), snmpEngine=snmp_engine)
