"""PTZ leases and origins: one run drives a head at a time, across processes (and machines,
judged by the database's clock), a dead holder's lease is taken over, and where a head was
before a run moved it stays on record until it is back."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from camfleet.model import PtzVector
from devmgr.registry import Lease, LeaseHeld, LeaseLost, Registry
from tests.devmgr.registry._together import REPO, finish, start_together
from tests.postgres import raw

KEY = "serial:DS-2DE4425IW-DE2023000001"


def take(registry: Registry, key: str = KEY, ttl_s: float = 60.0) -> Lease:
    return registry.acquire_lease(key, purpose="audit sweep 1 by li.wei", ttl_s=ttl_s)


def test_a_held_head_is_refused_naming_its_holder(registry: Registry) -> None:
    lease = take(registry)
    assert registry.lease_holder(KEY) == lease
    with pytest.raises(LeaseHeld, match=r"driven by audit sweep 1 by li\.wei \(pid \d+ on "):
        take(registry)
    other = take(registry, "serial:OTHER")  # another head: no waiting
    renewed = registry.renew_lease(lease, ttl_s=120)
    assert renewed.expires_at > lease.expires_at
    registry.release_lease(lease)
    assert registry.lease_holder(KEY) is None
    again = take(registry)
    assert again.token != lease.token
    with pytest.raises(LeaseLost, match="was lost"):
        registry.renew_lease(lease)  # an old holding cannot come back
    registry.release_lease(lease)  # nor release the new one
    assert registry.lease_holder(KEY) == again
    registry.release_lease(other)


def test_an_expired_lease_is_taken_over(registry: Registry) -> None:
    lease = take(registry, ttl_s=0.3)
    time.sleep(0.4)
    taker = take(registry)
    assert taker.token != lease.token
    with pytest.raises(LeaseLost, match="took it"):
        registry.renew_lease(lease)


def test_four_processes_drive_one_head_one_after_another(url: str, tmp_path: Path) -> None:
    Registry.open(url).close()
    outs = finish(start_together("tests.devmgr.registry._contender",
                                 [[url, "lease", KEY, "0.3"]] * 4, tmp_path / "go"))
    spans = sorted(_span(out) for out in outs)
    assert len(spans) == 4
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"two holders at once: {spans}"


def _span(out: str) -> tuple[float, float]:
    times = {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line}
    return times["acquired"], times["released"]


def holder(url: str, ttl_s: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.devmgr.registry._contender", url,
                             "hold", KEY, str(ttl_s)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env={"GO_FILE": "/dev/null", "PATH": "/usr/bin"})
    assert proc.stdout is not None
    assert [proc.stdout.readline().strip() for _ in range(2)] == ["ready", "held"]
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_a_killed_holder_on_this_host_frees_the_head_at_once(url: str) -> None:
    Registry.open(url).close()
    proc = holder(url, ttl_s=600)
    with Registry.open(url) as registry:
        with pytest.raises(LeaseHeld, match=f"pid {proc.pid}"):
            take(registry)
        kill(proc)
        assert take(registry).pid != proc.pid  # gone: no need to wait 600 s


def test_a_silent_holder_on_another_host_is_waited_out(url: str) -> None:
    Registry.open(url).close()
    proc = holder(url, ttl_s=2.0)
    raw(url, "UPDATE ptz_leases SET host = 'other-host'")  # whether it lives: unknowable
    kill(proc)
    with Registry.open(url) as registry:
        with pytest.raises(LeaseHeld, match="on other-host"):
            take(registry)
        deadline = time.monotonic() + 10
        while True:
            try:
                taken = take(registry)
                break
            except LeaseHeld:
                assert time.monotonic() < deadline, "the lease never expired"
                time.sleep(0.1)
        assert taken.host != "other-host"


def test_origins_stay_on_record_until_the_head_is_back(registry: Registry) -> None:
    lease = take(registry)
    first = registry.record_origin(lease, target_id="gate-1", address="10.0.0.5",
                                   device_url="http://10.0.0.5/onvif/device_service",
                                   profile="Profile_1",
                                   position=PtzVector(pan=0.25, tilt=-0.5, zoom=0.0))
    second = registry.record_origin(lease, target_id="gate-1", address="10.0.0.5",
                                    device_url="http://10.0.0.5/onvif/device_service",
                                    profile="Profile_1", position=PtzVector(pan=0.7))
    registry.record_origin(take(registry, "serial:OTHER"), target_id=None, address="10.0.0.6",
                           device_url="http://10.0.0.6/onvif", profile="P",
                           position=PtzVector())
    assert [o.id for o in registry.displaced(KEY)] == [first.id, second.id]
    assert registry.displaced(KEY)[0].position == PtzVector(pan=0.25, tilt=-0.5, zoom=0.0)
    assert registry.displaced(KEY)[0].holder == lease.describe()
    assert len(registry.displaced()) == 3

    registry.mark_restored([first.id, second.id], note="put back by audit sweep 2")
    assert registry.displaced(KEY) == []
    history = registry.origins(KEY)
    assert [o.restored_note for o in history] == ["put back by audit sweep 2"] * 2
    assert all(o.restored_at is not None for o in history)
