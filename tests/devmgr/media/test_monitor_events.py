"""``devmgr monitor --events`` follows a fleet's tamper events through pull points, printing
camera, topic, state and time; device text cannot drive the terminal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from camfleet.printable import printable
from devmgr.media.events import is_wanted, parse_notifications
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port

SCENE = "tns1:VideoSource/GlobalSceneChange/ImagingService"
BLURRY = "tns1:VideoSource/ImageTooBlurry/ImagingService"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(2, seed=8)],
               discovery_port=free_udp_port()) as running:
        yield running


def _monitor(targets: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devmgr.cli", "monitor", "--events", "--targets", str(targets),
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin"})


def _wait_subscribed(proc: subprocess.Popen[str], count: int, lines: list[str]) -> None:
    """Read stderr (in a thread, to the end) until ``count`` cameras are subscribed."""
    assert proc.stderr is not None
    stream = proc.stderr

    def read() -> None:
        for line in stream:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 90
    while sum("subscribed" in line for line in lines) < count:
        assert time.monotonic() < deadline, "".join(lines)
        assert proc.poll() is None, "".join(lines)
        time.sleep(0.05)


def _read_until(proc: subprocess.Popen[str], lines: list[str], *words: str) -> None:
    """Read stdout lines until one holds all ``words`` (at most 90 s)."""
    assert proc.stdout is not None
    stream = proc.stdout

    def read() -> None:
        for line in stream:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 90
    while not any(all(w in line for w in words) for line in list(lines)):
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)


def test_monitor_prints_each_cameras_tamper_events(fleet: Fleet, tmp_path: Path) -> None:
    targets = tmp_path / "fleet.json"
    fleet.manifest().save(targets)
    registry = tmp_path / "registry.sqlite"
    obstructed, blurred = fleet.camera_ids
    fleet.add_fault(obstructed, "obstructed")
    status: list[str] = []
    lines: list[str] = []
    try:
        # Until interrupted (Ctrl-C), as an engineer runs it: stopped once the change is seen.
        proc = _monitor(targets, "--json", "--registry", str(registry))
        _wait_subscribed(proc, 2, status)
        fleet.add_fault(blurred, "blurred")  # while it is followed: a Changed event
        _read_until(proc, lines, f'"camera":"{blurred}"', '"state":"true"')
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        fleet.clear_faults(obstructed)
        fleet.clear_faults(blurred)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(status)
    events = [json.loads(line) for line in lines]
    seen = {(e["camera"], e["topic"], e["state"], e["operation"]) for e in events}
    # The state when subscribing, then what changed while followed.
    assert (obstructed, SCENE, "true", "Initialized") in seen
    assert (blurred, BLURRY, "false", "Initialized") in seen
    assert (blurred, BLURRY, "true", "Changed") in seen
    assert all(e["utc_time"] for e in events)  # the camera's own time stamps
    assert not any("MotionAlarm" in e["topic"] for e in events)  # motion only with --motion

    # Kept in the registry: the next audit shows them beside its own look at the view.
    kept = _audited_events(targets, registry, blurred)
    assert (BLURRY, "true", "Changed", "monitor") in kept  # what happened since
    assert (BLURRY, "false", "Initialized", "audit") in kept  # and how it is now
    again = _audited_events(targets, registry, blurred)  # since the last audit: none new
    assert {e for e in again if e[3] == "monitor"} == set()
    with Registry.open(registry) as stored:  # Art. 16(3): the monitor's reads, registered
        reads = [e for e in stored.audit_entries() if e.purpose.startswith("tamper monitoring")]
    assert sorted(e.target_id or "" for e in reads) == sorted(fleet.camera_ids)


def _audited_events(targets: Path, registry: Path,
                    camera: str) -> set[tuple[str, str, str, str]]:
    audit = subprocess.run(
        [sys.executable, "-m", "devmgr.cli", "audit", "--targets", str(targets), "--json",
         "--no-discover", "--no-credential-check", "--stream-seconds", "0",
         "--registry", str(registry)], capture_output=True, text=True, timeout=120,
        check=False, env={"PATH": "/usr/bin"})
    cameras = {c["camera"]: c for c in json.loads(audit.stdout)["cameras"]}
    return {(e["topic"], e["state"], e["operation"], e["via"])
            for e in cameras[camera]["camera_events"]}


def test_the_table_names_time_camera_topic_and_state(fleet: Fleet, tmp_path: Path) -> None:
    targets = tmp_path / "fleet.json"
    fleet.manifest().save(targets)
    proc = _monitor(targets, "--duration", "5", "--motion", "--no-keep")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    first = fleet.camera_ids[0]
    line = next(x for x in out.splitlines() if f" {first} tns1:VideoSource/MotionAlarm " in x)
    stamp, camera, _topic, state, operation = line.split(" ")
    assert stamp.endswith("+00:00")
    assert stamp[:2] == "20"
    assert (camera, state, operation) == (first, "false", "(Initialized)")
    assert f"{first}: subscribed" in err


def test_monitor_without_targets_says_what_to_give(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "devmgr.cli", "monitor", "--events"],
                          capture_output=True, text=True, timeout=30, check=False,
                          env={"PATH": "/usr/bin"})
    assert proc.returncode == 2
    assert "--targets" in proc.stderr


HOSTILE = """<r xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"
  xmlns:tt="http://www.onvif.org/ver10/schema">{notes}</r>"""
NOTE = """<wsnt:NotificationMessage><wsnt:Topic>{topic}</wsnt:Topic><wsnt:Message>
  <tt:Message UtcTime="{utc}" PropertyOperation="Changed"><tt:Source/><tt:Data>
  <tt:SimpleItem Name="State" Value="{state}"/></tt:Data></tt:Message></wsnt:Message>
  </wsnt:NotificationMessage>"""


def test_a_hostile_reply_is_bounded_and_escaped() -> None:
    notes = NOTE.format(topic="tns1:VideoSource/GlobalSceneChange/x", utc="99999999999999-01-01",
                        state="true&#155;2J&#13;&#10;fake line" + "A" * 5000)
    notes += NOTE.format(topic=SCENE, utc="2026-12-07T10:00:00Z", state="false") * 60000
    body = etree.fromstring(HOSTILE.format(notes=notes))
    events = parse_notifications(body, camera="c", target_id="c", via="monitor", limit=100)
    assert len(events) == 100  # MessageLimit holds, whatever the camera sends
    assert events[0].utc_time is None  # year 10^14: no time, not a crash
    assert len(events[0].state) == 256
    shown = printable(events[0].state)
    # XML carries no ESC, but the 8-bit CSI and line breaks (a forged line) it does carry.
    assert shown.startswith("true\\x9b2J\\x0d\\x0afake line")


@pytest.mark.parametrize(("topic", "motion", "wanted"), [
    (SCENE, False, True), (BLURRY, False, True),
    ("ns7:VideoSource/ImageTooDark/AnalyticsService", False, True),
    ("tns1:VideoSource/MotionAlarm", False, False), ("tns1:VideoSource/MotionAlarm", True, True),
    ("tns1:RuleEngine/CellMotionDetector/Motion", True, True),
    ("tns1:Monitoring/OperatingTime/LastReboot", True, False),
])
def test_tamper_topics_in_any_prefix(topic: str, motion: bool, wanted: bool) -> None:
    assert is_wanted(topic, motion=motion) is wanted
