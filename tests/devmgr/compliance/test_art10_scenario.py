"""Art. 10 on switch evidence: moves that do not announce themselves, removals and hung units.

A fleet with two access switches is commissioned (each baseline records where the unit is
plugged in), then: units moved silently to another port and to another switch (their
position, scopes and sysLocation as typed at installation), one moved that announces it,
one removed, one whose services hung, one re-addressed, and healthy ones. One audit must
tell them all apart -- removal on the first audit, since the switches give physical
evidence -- with precision and recall 1.0 and no confusion between removed, services-down
and re-addressed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import AuditReport, AuditSettings
from devmgr.discovery.run import DiscoveryOptions
from devmgr.media.liveness import StreamCheck
from devmgr.registry import Registry
from scenarios.fleet_filings import fleet_filings
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.switch.model import Attachment, SwitchSpec
from tests.clients import requires_netsnmp
from tests.conftest import free_udp_port
from tests.simulators.fleet.backends import require

#: A module fixture commissions and audits a whole fleet (moves, snapshots, PTZ travel):
#: on two loaded cores its setup alone has taken over pytest-timeout's default 120 s.
pytestmark = pytest.mark.timeout(600)

TODAY = datetime.now(UTC).date()
PRESENCE_RULES = frozenset({"moved", "removed", "services-down", "readdressed",
                            "not-answering", "replaced"})


@dataclass(frozen=True)
class Case:
    name: str
    expected: frozenset[str]
    faults: tuple[dict[str, Any], ...] = ()


CASES = (
    # Camera i sits on port 1 + i // 2 of sw-b (even i) or sw-a (odd i).
    Case("moved silently, same switch", frozenset({"moved"}),
         ({"kind": "moved", "switch": "sw-b", "port": 8},)),
    Case("moved silently, other switch", frozenset({"moved"}),
         ({"kind": "moved", "switch": "sw-b", "port": 7},)),
    Case("moved, announced", frozenset({"moved"}),
         ({"kind": "moved", "distance_m": 300.0, "announce": True},)),
    Case("removed", frozenset({"removed"}), ({"kind": "removed"},)),
    Case("services down", frozenset({"services-down"}), ({"kind": "services_down"},)),
    Case("readdressed", frozenset({"readdressed"}), ({"kind": "readdressed"},)),
    Case("healthy 1", frozenset()),
    Case("healthy 2", frozenset()),
    # On sw-b port 5: moved to sw-a and re-addressed into another /24 at the new place.
    Case("moved silently, other subnet", frozenset({"moved"}),
         ({"kind": "moved", "switch": "sw-a", "port": 6},
          {"kind": "readdressed", "address": "SUBNET"})),
)


@dataclass
class Scenario:
    cases: dict[str, Case]
    report: AuditReport


@pytest.fixture(scope="module", params=["loopback", "netns"])
def scenario(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """On loopback, and on netns: each camera in its own namespace behind a bridge, where
    ARP, a re-addressing (also into another /24) and a pulled link are real."""
    backend = request.param
    require(backend)
    specs = generate_fleet(len(CASES), seed=23)
    filings = fleet_filings(specs, accepted_on=TODAY - timedelta(days=30))
    members = [FleetMember(spec, attachment=Attachment(switch="sw-a" if i % 2 else "sw-b",
                                                       port=1 + i // 2))
               for i, spec in enumerate(specs)]
    switches = [SwitchSpec(name="sw-a", ports=8), SwitchSpec(name="sw-b", ports=8)]
    port = free_udp_port()
    db = tmp_path_factory.mktemp("art10") / "registry.sqlite"
    with Fleet(members, switches=switches, discovery_port=port, backend=backend) as fleet, \
            Registry.open(db) as registry:
        manifest = fleet.manifest()
        registry.put_filings([(f.device_id, f.model_copy(update={
            "ip_address": t.address, "port": t.http_port}))
            for f, t in zip(filings, manifest.targets, strict=True)], source="scenario")
        result = asyncio.run(commission(manifest, registry, operator="test", move=False))
        assert len(result.baselines) == len(specs), result.problems
        assert sorted(b.attachment.describe() for b in result.baselines.values()
                      if b.attachment) == [f"sw-{s} port Gi1/0/{n}, VLAN 1" for s in "ab"
                                           for n in range(1, 6) if s == "b" or n < 5]
        assert all(b.attachment is not None for b in result.baselines.values())
        keyed = {}
        for index, (filing, target, case) in enumerate(zip(filings, manifest.targets, CASES,
                                                           strict=True)):
            keyed[filing.device_id] = case
            faults = [dict(f, address=fleet.spare_address(
                index, other_subnet=f.get("address") == "SUBNET"))
                if f["kind"] == "readdressed" else f for f in case.faults]
            if faults:
                fleet.set_faults(target.id, faults)
        options = AuditOptions(
            settings=AuditSettings(removed_after=2), operator="test", move=False,
            streams=StreamCheck(seconds=0),  # presence is judged without playing video
            discovery=DiscoveryOptions(interfaces=(fleet.manager_address,), port=port,
                                       wait_s=1.0))
        report = asyncio.run(audit(manifest, registry, options))
        yield Scenario(cases=keyed, report=report)


@requires_netsnmp
def test_presence_verdicts_have_precision_and_recall_1(scenario: Scenario) -> None:
    found = {c.camera: {f.rule for f in c.findings} & PRESENCE_RULES
             for c in scenario.report.cameras}
    expected = {k: set(c.expected) for k, c in scenario.cases.items()}
    wrong = {scenario.cases[k].name: (expected[k], found.get(k)) for k in expected
             if found.get(k) != expected[k]}
    assert not wrong, wrong
    for rule in ("moved", "removed", "services-down"):
        hits = {k for k, rules in found.items() if rule in rules}
        truth = {k for k, rules in expected.items() if rule in rules}
        assert hits == truth, rule  # precision and recall 1.0, no confusion


@requires_netsnmp
def test_each_verdict_states_its_evidence(scenario: Scenario) -> None:
    by_case = {scenario.cases[c.camera].name: c for c in scenario.report.cameras}
    same = next(f for f in by_case["moved silently, same switch"].findings if f.rule == "moved")
    assert same.evidence["rests_on"] == ["attachment (medium)"]
    assert "plugged into sw-b port Gi1/0/8" in same.message
    other = next(f for f in by_case["moved silently, other switch"].findings
                 if f.rule == "moved")
    # Moved 250 m (the fault's default) it also sees another place: the picture adds to it.
    assert other.evidence["rests_on"][0] == "attachment (strong)"
    assert set(other.evidence["rests_on"][1:]) <= {"picture (medium)"}
    assert other.evidence["strength"] == "strong"
    removed = by_case["removed"]
    assert (removed.status, removed.presence) == ("removed", "removed")
    assert removed.findings[0].evidence["rests_on"] == ["no link", "MAC gone", "no PoE device"]
    assert "no link, PoE detects no device" in removed.findings[0].message
    hung = by_case["services down"]
    assert hung.presence == "services-down"
    assert hung.findings[0].severity == "minor"
    assert "link up, PoE delivering power" in hung.findings[0].message
