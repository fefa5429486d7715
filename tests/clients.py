"""Independent clients for tests: a raw WS-Discovery socket, net-snmp, onvif-zeep-async.

None of these use camfleet's own client code (devmgr), so what they observe is what the
field's tools would observe.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from onvif import ONVIFCamera

from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import Target

requires_netsnmp = pytest.mark.skipif(
    shutil.which("snmpget") is None,
    reason="net-snmp's snmpget/snmpwalk are not installed (Debian package 'snmp'; .ci/run "
           "installs it)")


@dataclass(frozen=True)
class Heard:
    source: str
    data: bytes


def multicast_socket(port: int, interface: str = "127.0.0.1") -> socket.socket:
    """A socket joined to the WS-Discovery group on ``interface``, to hear Hello and Bye."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((wsd.MULTICAST_GROUP, port))
    membership = socket.inet_aton(wsd.MULTICAST_GROUP) + socket.inet_aton(interface)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


def listen(sock: socket.socket, seconds: float) -> list[Heard]:
    """Everything the socket receives within ``seconds``."""
    heard = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            break
        data, (source, _port) = sock.recvfrom(65536)
        heard.append(Heard(source, data))
    return heard


def probe(port: int, interface: str = "127.0.0.1", wait_s: float = 1.5,
          types: tuple[wsd.QName, ...] = (wsd.TYPE_NVT,)) -> dict[str, wsd.ProbeMatch]:
    """Multicast a Probe; return the ProbeMatch of each answering address."""
    message_id, datagram = wsd.build_probe(types)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.bind((interface, 0))
        sock.sendto(datagram, (wsd.MULTICAST_GROUP, port))
        found = {}
        for heard in listen(sock, wait_s):
            for match in wsd.parse_probe_matches(heard.data):
                if match.relates_to == message_id:
                    found[heard.source] = match
        return found


def snmp_env() -> dict[str, str]:
    # No MIB loading: numeric OIDs in, numeric OIDs out, no warnings about missing MIBs.
    return {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}


def snmpget(target: Target, *oids: str, timeout_s: float = 1.0) -> list[str]:
    """Values (``-Oqv``) via v2c with the target's community; [] if no answer."""
    assert target.snmp is not None
    result = subprocess.run(
        ["snmpget", "-v2c", "-c", target.snmp.community or "", "-t", str(timeout_s), "-r", "0",
         "-Oqv", "-On", f"{target.address}:{target.snmp.port}", *oids],
        capture_output=True, text=True, env=snmp_env(), check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


def mac_from_snmp(value: str) -> str:
    """net-snmp prints an OCTET STRING MAC as ``"C0 56 E3 F2 CE 21 "``."""
    return ":".join(value.strip('" ').lower().split())


def snmpget_v3(target: Target, *oids: str) -> list[str]:
    assert target.snmp is not None
    assert target.snmp.v3 is not None
    v3 = target.snmp.v3
    result = subprocess.run(
        ["snmpget", "-v3", "-l", "authPriv", "-u", v3.user, "-a", v3.auth_protocol,
         "-A", v3.auth_key or "", "-x", v3.priv_protocol, "-X", v3.priv_key or "",
         "-t", "1", "-r", "0", "-Oqv", "-On", f"{target.address}:{target.snmp.port}", *oids],
        capture_output=True, text=True, env=snmp_env(), check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


@asynccontextmanager
async def onvif_client(target: Target, *, adjust_time: bool = False,
                       update_xaddrs: bool = True) -> AsyncIterator[ONVIFCamera]:
    client = ONVIFCamera(target.address, target.http_port, target.onvif.username,
                         target.onvif_password(), adjust_time=adjust_time)
    try:
        if update_xaddrs:
            await client.update_xaddrs()
        yield client
    finally:
        await client.close()


# A Probe as the ONVIF Device Test Tool and most VMSs send it (default namespace on Probe, the
# type prefix declared on Types itself, mustUnderstand headers, an empty Scopes element),
# written out by hand, not by build_probe, so the codec cannot agree with itself on a
# mistake. ``%`` the MessageID's UUID into it.
LITERAL_PROBE = b"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
               xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">
  <soap:Header>
    <wsa:MessageID>uuid:%s</wsa:MessageID>
    <wsa:To soap:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>
    <wsa:Action soap:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>
  </soap:Header>
  <soap:Body>
    <Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery">
      <Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</Types>
      <Scopes />
    </Probe>
  </soap:Body>
</soap:Envelope>
"""
