"""What we ask an agent, and what its answer (or silence, or refusal) means.

Turns pysnmp's outcome into an :class:`Attempt`: an identity parsed from the variable
bindings, or a classified reason (TIMEOUT, AUTH, PROTOCOL, UNREACHABLE). Messages never
contain a community or a key (:func:`scrub`). Everything in an answer is hostile until
parsed here: missing objects are skipped, text is decoded leniently, a MAC must be 6 bytes.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.type import univ
from pysnmp.proto import errind, rfc1902, rfc1905

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import normalize_mac
from camfleet.protocols.snmp_mib import (
    ENT_PHYSICAL_MODEL_1,
    ENT_PHYSICAL_SERIAL_1,
    IF_PHYS_ADDRESS_1,
    SNMP_ENGINE_BOOTS,
    SNMP_ENGINE_ID,
    SYS_CONTACT,
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    vendor_for,
)
from devmgr.inventory.model import SnmpIdentity
from devmgr.snmp._plan import Plan

IDENTITY_OIDS: Final = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME,
                        SYS_LOCATION, IF_PHYS_ADDRESS_1, ENT_PHYSICAL_SERIAL_1,
                        ENT_PHYSICAL_MODEL_1, SNMP_ENGINE_ID, SNMP_ENGINE_BOOTS)
_SYSTEM_GROUP: Final = frozenset({SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME})

_AUTH_REFUSALS: Final = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                         errind.UnsupportedSecurityLevel, errind.AuthenticationFailure,
                         errind.AuthenticationError, errind.NoAuthentication,
                         errind.UnknownSecurityName, errind.UnknownCommunityName)
#: errorStatus values meaning "you may not read this": authorizationError (16), noAccess (6).
_AUTH_STATUSES: Final = frozenset({6, 16})
_UNREACHABLE_ERRNOS: Final = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH,
                                        errno.ECONNREFUSED, errno.EADDRNOTAVAIL})

#: The GET's variable bindings, built once: plain (name, Null) pairs need no MIB lookup.
V2C_VAR_BINDS: Final = tuple((rfc1902.ObjectName(oid), rfc1902.Null("")) for oid in IDENTITY_OIDS)
#: v3 leaves out the engine scalars: every v3 message header carries them, authenticated.
V3_VAR_BINDS: Final = tuple(vb for vb in V2C_VAR_BINDS
                            if str(vb[0]) not in (SNMP_ENGINE_ID, SNMP_ENGINE_BOOTS))


@dataclass
class RemoteEngine:
    """What an SNMPv3 engine told us about itself, from the message headers."""

    engine_id: bytes
    boots: int | None
    time_s: int | None


@dataclass
class Attempt:
    """The outcome of one request: an identity, or why not."""

    identity: SnmpIdentity | None = None
    kind: ErrorKind | None = None
    detail: str = ""


def classify_failure(indication: Any, status: Any, index: Any, plan: Plan) -> Attempt | None:
    """Classify what pysnmp handed back, or None if it is an answer to parse."""
    if indication:
        if isinstance(indication, errind.RequestTimedOut):
            return Attempt(kind=ErrorKind.TIMEOUT,
                           detail=f"no answer within {plan.round_trip_s:g} s")
        if isinstance(indication, _AUTH_REFUSALS):
            return Attempt(kind=ErrorKind.AUTH, detail=f"refused: {indication}")
        return Attempt(kind=ErrorKind.PROTOCOL, detail=str(indication))
    if int(status):
        name = _error_status_name(int(status))
        kind = ErrorKind.AUTH if int(status) in _AUTH_STATUSES else ErrorKind.PROTOCOL
        return Attempt(kind=kind, detail=f"error status {name} at index {int(index)}")
    return None


def where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _error_status_name(status: int) -> str:
    names = rfc1905.errorStatus.namedValues
    try:
        return f"{names.getName(status)}({status})"
    except (KeyError, AttributeError):
        return str(status)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Belt and braces: no community or key ever leaves in a message, whatever pysnmp said."""
    for secret in secrets:  # longest first, so a secret containing another goes whole
        if secret:
            text = text.replace(secret, "***")
    return text


def exception_error(exc: BaseException, address: str, port: int, plan: Plan) -> DeviceError:
    """pysnmp raised instead of answering: a send that failed, or something malformed."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{where(address, port)}: {os.strerror(cause.errno)}")
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip().splitlines()
    summary = text[-1] if text else type(exc).__name__
    # pysnmp wraps send errors in CarrierError with the formatted traceback as text.
    for code in _UNREACHABLE_ERRNOS:
        if f"[Errno {code}]" in summary:
            return DeviceError(kind=ErrorKind.UNREACHABLE, operation="snmp-get",
                               message=f"{where(address, port)}: {os.strerror(code)}")
    return DeviceError(kind=ErrorKind.PROTOCOL, operation="snmp-get",
                       message=scrub(f"{where(address, port)}: {summary}", plan.secrets))



_MISSING: Final = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


def _text(value: Any) -> str:
    # DisplayString/SnmpAdminString content: UTF-8 on the cameras we know (Chinese street
    # addresses in sysLocation); never fail on a stray byte.
    return bytes(value).decode("utf-8", errors="replace") if isinstance(
        value, univ.OctetString) else ""


def parse_identity(address: str, port: int, access: str, var_binds: Iterable[Any],
                   engine: RemoteEngine | None) -> Attempt:
    values: dict[str, Any] = {}
    for name, value in var_binds:
        if isinstance(value, _MISSING) or value is None:
            continue
        values[str(name)] = value
    if not _SYSTEM_GROUP & values.keys():
        return Attempt(kind=ErrorKind.PROTOCOL,
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
    return Attempt(identity=SnmpIdentity(**fields))
