"""Property: whatever bytes a device sends where devmgr reads a reply outside the SOAP calls
of an inventory (those are ``test_fuzz_replies.py``), the reader ends with a result or the
classified error that reply gets, never another exception, and what it keeps serializes and
prints.

The replies are real ones (WS-Discovery ProbeMatches, Hello and Bye as the simulated cameras
send them, a PullMessagesResponse, a camera's snapshot JPEG), edited by Hypothesis: values no
field should hold, markup and control bytes, repeats, cuts. Each reader is what devmgr runs on
the bytes: discovery's reply counter, the monitor's datagram handler, the event puller's body
and notification parsers, and the snapshot's size check and decoder. Set
``HOSTILE_FUZZ_PARSER_EXAMPLES`` for a longer run (replies per reader).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camfleet.printable import printable
from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.jpeg_header import MAX_PIXELS, jpeg_dimensions
from devmgr.discovery.wsd._monitor import DiscoveryMonitor
from devmgr.discovery.wsd._multicast import ProbeStats
from devmgr.discovery.wsd._replies import Replies, endpoint_of
from devmgr.media.events import parse_notifications
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.soap import parse_body
from devmgr.vision import decode_image
from tests.devmgr.hostile.mutations import EDITS, mutate

EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_PARSER_EXAMPLES", "1000"))
SENDER = "127.0.0.9"
SEQUENCE = wsd.AppSequence(instance_id=7, message_number=3)
TARGET = {"types": [wsd.TYPE_NVT], "scopes": [
    "onvif://www.onvif.org/name/Cam%201", "onvif://www.onvif.org/location/city/Gate",
    "onvif://www.onvif.org/hardware/XNO-6080R", "onvif://www.onvif.org/Profile/Streaming"],
    "xaddrs": ["http://127.0.0.9/onvif/device_service"], "metadata_version": 2,
    "app_sequence": SEQUENCE}
ENDPOINT = "urn:uuid:6b1f9a40-2f5e-4c9b-9d8e-1b2c3d4e5f60"

PULL_MESSAGES = b"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"
 xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics">
<s:Body><tev:PullMessagesResponse><tev:CurrentTime>2026-12-07T10:00:00Z</tev:CurrentTime>
<tev:TerminationTime>2026-12-07T10:01:00Z</tev:TerminationTime>
<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/GlobalSceneChange/ImagingService</wsnt:Topic>
<wsnt:Message><tt:Message UtcTime="2026-12-07T09:59:58Z" PropertyOperation="Changed">
<tt:Source><tt:SimpleItem Name="Source" Value="VideoSourceToken"/></tt:Source>
<tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data></tt:Message></wsnt:Message>
</wsnt:NotificationMessage></tev:PullMessagesResponse></s:Body></s:Envelope>"""


def _snapshot() -> bytes:
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (90, 160), np.uint8)
    ok, data = cv2.imencode(".jpg", picture)
    assert ok
    return bytes(data)


def read_probe_matches(data: bytes) -> None:
    """As a multicast or unicast probe reads a datagram: parsed, or counted as unreadable."""
    stats = ProbeStats()
    replies = Replies(asyncio.new_event_loop(), stats)
    for match in replies.parse(data, SENDER):
        endpoint = endpoint_of(match, SENDER)
        type(endpoint).model_validate_json(endpoint.model_dump_json())
        printable(str(endpoint))
    for unreadable in stats.unreadable:
        assert len(unreadable.reason) <= 400
        printable(unreadable.reason)


def read_announcement(data: bytes) -> None:
    """As ``devmgr monitor`` reads a datagram: an event, or counted (unreadable, ignored)."""
    monitor = DiscoveryMonitor(["127.0.0.1"], report_unreadable=True)
    monitor._on_datagram(data, SENDER)
    while not monitor._queue.empty():
        event = monitor._queue.get_nowait()
        assert event is not None
        printable(str(event))


def read_pull_messages(data: bytes) -> None:
    """As the event puller reads a PullMessagesResponse."""
    refused = ""
    try:
        body = parse_body(data, "PullMessages")
    except OnvifError as exc:
        refused = str(exc)
    if refused:
        assert len(refused) <= 2100  # bounded, whatever the reply quoted
        return
    for event in parse_notifications(body, camera="cam-1", target_id="cam-1", via="pull",
                                     limit=100):
        type(event).model_validate_json(event.model_dump_json())
        printable(str(event))


def read_snapshot(data: bytes) -> None:
    """As the audit reads a snapshot: its size before decoding, then the pixels."""
    size = jpeg_dimensions(data)
    if size is not None:
        assert 0 <= size[0] <= 0xFFFF
        assert 0 <= size[1] <= 0xFFFF
    try:
        picture = decode_image(data)
    except ValueError:
        return
    assert picture.size <= MAX_PIXELS


READERS: dict[str, tuple[Callable[[bytes], None], bytes]] = {
    "ProbeMatches": (read_probe_matches, wsd.build_probe_matches(
        "urn:uuid:0", ENDPOINT, **TARGET)),  # type: ignore[arg-type]
    "Hello": (read_announcement, wsd.build_hello(ENDPOINT, **TARGET)),  # type: ignore[arg-type]
    "Bye": (read_announcement, wsd.build_bye(ENDPOINT, SEQUENCE)),
    "PullMessagesResponse": (read_pull_messages, PULL_MESSAGES),
    "snapshot JPEG": (read_snapshot, _snapshot()),
}


@pytest.mark.parametrize("reply", READERS)
def test_no_edit_of_a_reply_escapes_its_reader(reply: str) -> None:
    read, original = READERS[reply]
    read(original)  # the unedited reply reads
    seen = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(edits=st.lists(EDITS, min_size=1, max_size=4))
    def edited(edits: list[tuple[str, float, int, bytes]]) -> None:
        nonlocal seen
        seen += 1
        read(mutate(original, edits))

    edited()
    assert seen >= EXAMPLES  # it really ran over that many replies
