"""Device text reaches the terminal literally: rich markup is not interpreted, control, C1
and bidi characters (also percent-encoded ones in WS-Discovery scopes) are escaped visibly.
Through ``devmgr inventory`` and ``devmgr discover`` tables, against a camera whose identity
is hostile text, and ``devmgr monitor`` hearing an announcement nobody can read."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from camfleet.protocols import wsdiscovery as codec
from devmgr.cli import app
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port
from tests.tables import unfolded_cells

runner = CliRunner()
#: A C1 CSI (U+009B, allowed in XML 1.0) clearing the screen, an OSC (U+009D) setting the
#: title (ended by ST, U+009C), a right-to-left override, and markup rich would choke on.
MANUFACTURER = "Acme[/oops]\u009b2J\u009d0;pwned\u009c\u202egnp.exe"
#: The same in the hardware scope, percent-encoded (ESC [ 2 J) as a scope must carry it.
MODEL = "X%1B%5B2J%5B/oops%5D"
RAW = ("\u009b", "\u009c", "\u009d", "\u202e", "\x1b")
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    specs = generate_fleet(2, seed=43)
    identity = specs[1].identity.model_copy(update={"manufacturer": MANUFACTURER,
                                                    "model": MODEL})
    specs[1] = specs[1].model_copy(update={"identity": identity})
    with Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port()) as running:
        yield running


def test_the_inventory_table_shows_device_text_literally(fleet: Fleet, tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.json"
    fleet.manifest().save(manifest)
    result = runner.invoke(app, ["inventory", "--targets", str(manifest),
                                 "--registry", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    shown = "Acme[/oops]\\x9b2J\\x9d0;pwned\\x9c\\u202egnp.exe"
    assert any(cell.startswith(shown) for cell in unfolded_cells(result.stdout)), result.stdout
    assert not any(c in result.stdout for c in RAW)


def test_the_discover_table_escapes_percent_encoded_controls(fleet: Fleet,
                                                             tmp_path: Path) -> None:
    result = runner.invoke(app, ["discover", "--interface", "127.0.0.1", "--port",
                                 str(fleet.discovery_port), "--registry",
                                 str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    assert "X\\x1b[2J[/oops]" in result.stdout  # decoded from the scope, then escaped
    assert not any(c in result.stdout for c in RAW)


def test_monitor_reports_an_unreadable_announcement_once_literally_and_goes_on() -> None:
    port = free_udp_port()
    # Not XML: a Hello cut short whose bytes carry markup and a C1 control.
    broken = "<s:Envelope>[/oops]\u009b2J Hello from a broken camera".encode()
    hello = codec.build_hello("urn:uuid:11111111-2222-4333-8444-555555555555",
                              types=[codec.TYPE_NVT], scopes=[], metadata_version=1,
                              xaddrs=["http://127.0.0.1:8080/onvif/device_service"],
                              app_sequence=codec.AppSequence(1, 1))
    outcome: list[Result] = []
    listening = threading.Thread(target=lambda: outcome.append(runner.invoke(app, [
        "monitor", "--interface", "127.0.0.1", "--port", str(port), "--duration", "3"])))
    listening.start()
    time.sleep(1.0)  # the monitor has joined the group
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK))
        sender.bind((LOOPBACK, 0))
        for datagram in (broken, broken, broken, hello):
            sender.sendto(datagram, (codec.MULTICAST_GROUP, port))
            time.sleep(0.05)
    listening.join(30)
    [result] = outcome
    assert result.exit_code == 0, result.output
    unreadable = [line for line in result.stdout.splitlines() if line.startswith("unreadable")]
    assert len(unreadable) == 1, result.stdout  # three datagrams, one line: not a flood
    assert unreadable[0].startswith(f"unreadable {LOOPBACK}: ")
    assert "joined 127.0.0.1 urn:uuid:11111111" in result.stdout  # and it went on
    assert not any(c in result.stdout for c in RAW)
    assert "heard 1 Hello, 0 Bye, 3 unreadable" in result.output


def test_a_log_line_quoting_device_text_is_escaped_traceback_included(
        caplog: pytest.LogCaptureFixture) -> None:
    """A datagram whose handling fails is logged with the error, whose message quotes the
    device: the line and its traceback reach the log escaped, and discovery goes on."""
    import asyncio  # noqa: PLC0415

    from devmgr.discovery.wsd._sockets import Datagrams  # noqa: PLC0415

    def handler(data: bytes, source: str) -> None:
        raise ValueError(f"bad scope {data.decode()!s}")

    async def receive() -> None:
        protocol = Datagrams(asyncio.get_running_loop(), handler)
        protocol.datagram_received(MANUFACTURER.encode() + b"\x1b]0;t\x07", ("127.0.0.9", 3702))

    with caplog.at_level("ERROR", logger="devmgr.discovery.wsd._sockets"):
        asyncio.run(receive())
    assert "error handling a datagram from 127.0.0.9" in caplog.text
    assert "bad scope Acme[/oops]\\x9b2J" in caplog.text  # the traceback's last line
    assert not [c for c in RAW if c in caplog.text]
    assert "\x07" not in caplog.text
