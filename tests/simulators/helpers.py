"""Small independent clients the fault tests share: a unicast WS-Discovery Probe, a free
loopback address, a connection attempt, and a targets-file entry for a lone camera."""

from __future__ import annotations

import random
import socket

from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import OnvifCredentials, SnmpCredentials, SnmpV3Credentials, Target
from simulators.host import CameraHandle
from tests.clients import listen


def unicast_probe(address: str, port: int, wait_s: float = 1.0) -> list[wsd.ProbeMatch]:
    """Send a Probe to ``address:port`` alone (how discovery crosses VLANs); the matches that
    came back from that address."""
    message_id, datagram = wsd.build_probe((wsd.TYPE_NVT,))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(datagram, (address, port))
        return [match for heard in listen(sock, wait_s) if heard.source == address
                for match in wsd.parse_probe_matches(heard.data)
                if match.relates_to == message_id]


def refuses_connections(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


def spare_loopback_address() -> str:
    """A 127.0.0.0/8 address nothing of the test run uses: below the /16s fleets pick from
    (127.100-249) and away from 127.0.0.0/16, random so xdist workers do not collide."""
    rng = random.SystemRandom()
    return f"127.{rng.randrange(30, 90)}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}"


def camera_target(camera: CameraHandle, address: str | None = None) -> Target:
    """A targets-file entry for a lone camera, filed as its base spec says, at ``address``
    (default: where it answers now)."""
    spec = camera.camera.base_spec
    admin = spec.users[0]
    v3 = spec.snmp.v3_users[0]
    return Target(
        id=spec.id, address=address or camera.address, http_port=camera.http_port,
        onvif=OnvifCredentials(username=admin.username, password=admin.password),
        snmp=SnmpCredentials(port=camera.snmp_port or 161, community=spec.snmp.community,
                             v3=SnmpV3Credentials(user=v3.name, auth_protocol=v3.auth_protocol,
                                                  auth_key=v3.auth_key,
                                                  priv_protocol=v3.priv_protocol,
                                                  priv_key=v3.priv_key)),
        serial=spec.identity.serial, mac=spec.identity.mac)
