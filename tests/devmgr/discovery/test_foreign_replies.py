"""``devmgr discover`` against raw WS-Discovery replies from 127.0.0.0/8: what real firmware
gets wrong is accepted and the unit flagged non-conformant; what cannot be read is shown
(sender, bounded and escaped reason) in the table and in ``--json``, not dropped silently."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket
from devmgr.cli import app
from devmgr.discovery.wsd._replies import MAX_UNREADABLE, UNREADABLE_REASON_CHARS
from tests.camfleet.protocols.test_wsdiscovery_lenient import ENDPOINT, foreign_reply
from tests.conftest import free_udp_port
from tests.tables import unfolded_cells

runner = CliRunner()
FOREIGN, HOSTILE, JUNK = "127.77.0.1", "127.77.0.2", "127.77.0.3"
XADDR = f"http://{FOREIGN}:8080/onvif/device_service"
#: A root element in a namespace carrying a C1 CSI and rich markup, far longer than the cap.
EVIL_NS = "urn:\u009b2J[/oops]" + "x" * 3000
JUNK_REPLIES = MAX_UNREADABLE + 8


def _respond(port: int, stop: threading.Event) -> None:
    listener = group_socket(wsd.MULTICAST_GROUP, port, ["127.0.0.1"])
    senders = {}
    for address in (FOREIGN, HOSTILE, JUNK):
        senders[address] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        senders[address].bind((address, 0))
    answered: set[str] = set()
    try:
        while not stop.is_set():
            if not select.select([listener], [], [], 0.05)[0]:
                continue
            data, client = listener.recvfrom(65536)
            probe = wsd.parse_probe(data)
            if probe.message_id in answered:
                continue  # a retransmission: answered once, as a target does
            answered.add(probe.message_id)
            senders[FOREIGN].sendto(foreign_reply(probe.message_id, xaddr=XADDR,
                                                  declare=False), client)
            senders[HOSTILE].sendto(f'<x:Evil xmlns:x="{EVIL_NS}"/>'.encode(), client)
            for n in range(JUNK_REPLIES):
                senders[JUNK].sendto(b"\x00junk %d" % n, client)
    finally:
        listener.close()
        for sender in senders.values():
            sender.close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port, stop = free_udp_port(), threading.Event()
    thread = threading.Thread(target=_respond, args=(port, stop), daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(5)


def _discover(port: int, tmp_path: Path, *extra: str) -> str:
    result = runner.invoke(app, ["discover", "--interface", "127.0.0.1", "--port", str(port),
                                 "--timeout", "2", "--registry", str(tmp_path / "r.sqlite"),
                                 *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_shows_the_foreign_unit_flagged_and_the_unreadable_replies(
        port: int, tmp_path: Path) -> None:
    shown = json.loads(_discover(port, tmp_path, "--json"))
    [device] = shown["devices"]
    assert (device["addresses"], device["endpoint"], device["xaddrs"]) == (
        [FOREIGN], ENDPOINT, [XADDR])
    flagged = " | ".join(device["nonconformities"])
    for fault in ("bare d:ProbeMatch", "d:EndpointReference", "undeclared namespace prefixes"):
        assert fault in flagged
    unreadable = shown["unreadable_replies"]
    assert len(unreadable) == MAX_UNREADABLE  # capped: 2 x (1 + 40) arrived
    assert {r["address"] for r in unreadable} == {HOSTILE, JUNK}
    [evil, *_] = [r["reason"] for r in unreadable if r["address"] == HOSTILE]
    assert "\\x9b2J[/oops]" in evil
    assert "\u009b" not in evil
    assert len(evil) < UNREADABLE_REASON_CHARS + 40
    assert "chars)" in evil
    assert all("well-formed" in r["reason"] for r in unreadable if r["address"] == JUNK)


def test_the_table_flags_the_unit_and_lists_unreadable_replies(port: int,
                                                               tmp_path: Path) -> None:
    stdout = _discover(port, tmp_path)
    cells = unfolded_cells(stdout)
    assert any("bare d:ProbeMatch without d:ProbeMatches" in c for c in cells), stdout
    assert "unreadable WS-Discovery replies" in stdout
    assert HOSTILE in cells
    assert JUNK in cells
    assert any("\\x9b2J[/oops]" in c for c in cells), stdout
    assert "\u009b" not in stdout
