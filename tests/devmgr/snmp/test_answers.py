"""What pysnmp hands back, classified and parsed without a network: devmgr.snmp._answers."""

from __future__ import annotations

import errno

from pysnmp.carrier.error import CarrierError
from pysnmp.proto import rfc1902, rfc1905

from camfleet.errors import ErrorKind
from camfleet.protocols.snmp_mib import ENT_PHYSICAL_SERIAL_1, IF_PHYS_ADDRESS_1, SYS_NAME
from devmgr.snmp import SnmpConfig
from devmgr.snmp._answers import exception_error, parse_identity
from devmgr.snmp._plan import prepare
from tests.devmgr.snmp.helpers import assert_no_secret


def test_send_failures_are_unreachable_and_other_errors_keep_no_secret() -> None:
    plan = prepare(SnmpConfig(communities=("s3cret-community",)))
    error = exception_error(OSError(errno.ENETUNREACH, "unreachable"), "127.9.0.1", 161, plan)
    assert error.kind is ErrorKind.UNREACHABLE
    # pysnmp wraps send errors into CarrierError with the traceback as text.
    wrapped = CarrierError("Traceback ...\nOSError: [Errno 113] No route to host")
    assert exception_error(wrapped, "127.9.0.1", 161, plan).kind is ErrorKind.UNREACHABLE
    garbled = exception_error(CarrierError("bad community s3cret-community"), "127.9.0.1", 161,
                              plan)
    assert garbled.kind is ErrorKind.PROTOCOL
    assert_no_secret(garbled, "s3cret-community")


def test_an_answer_without_the_system_group_is_protocol() -> None:
    empty = parse_identity("127.9.0.1", 161, "v2c:#1", [
        (rfc1902.ObjectName(SYS_NAME), rfc1905.noSuchObject),
        (rfc1902.ObjectName(ENT_PHYSICAL_SERIAL_1), rfc1902.OctetString(b"X1"))], None)
    assert empty.identity is None
    assert empty.kind is ErrorKind.PROTOCOL
    odd = parse_identity("127.9.0.1", 161, "v2c:#1", [
        (rfc1902.ObjectName(SYS_NAME), rfc1902.OctetString("门口-1".encode())),
        (rfc1902.ObjectName(IF_PHYS_ADDRESS_1), rfc1902.OctetString(b"\x00\x01"))], None)
    assert odd.identity is not None
    assert odd.identity.sys_name == "门口-1"  # UTF-8, as the cameras we know send it
    assert odd.identity.mac is None  # not six octets: no MAC rather than a wrong one
