"""Art. 10: filed units must not be moved or removed without a filing.

Judged per camera, in this order:

* **removed**: it answered on no route (its address, nor anywhere discovery looked) in this
  audit and the ``removed_after - 1`` complete audits before it; fewer misses are
  **not-answering** (a power cut is not a removal);
* **replaced**: another unit (other serial, else other MAC) answers in its place;
* **moved**: the filed unit answers, but its position evidence changed: GeoLocation farther
  than the tolerance from the filed (else baseline) position, or both the ONVIF location
  scope and SNMP sysLocation changed;
* **readdressed**: the same unit, same place, on another network address (DHCP,
  re-addressing): worth knowing, not a move.

Each move, removal or replacement is judged against the camera's move/removal filings
(``FilingRecord.move_allowed_on``): allowed ones are reported as information.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import Finding, Severity
from devmgr.inventory.model import Inventory

ARTICLE = "Art. 10"
RULES = ("removed", "not-answering", "replaced", "moved", "readdressed")
LOCATION_SCOPE = "onvif://www.onvif.org/location/"


def location_scopes(inv: Inventory) -> tuple[str, ...]:
    return tuple(sorted(s for s in inv.scopes if s.startswith(LOCATION_SCOPE)))


def _judged(facts: CameraFacts, what: str, unfiled: Severity) -> tuple[Severity, str]:
    """Severity and the Art. 10 reasoning for a move/removal/replacement seen today."""
    if facts.filing is None:
        return unfiled, "the camera has no filing to judge it against"
    allowed, why = facts.filing.move_allowed_on(facts.today)
    if allowed:
        return Severity.INFO, f"{what} as filed: {why}"
    severity = Severity.CRITICAL if facts.filing.is_art6_site else Severity.MAJOR
    return severity, why


def _geo_distance(facts: CameraFacts) -> float | None:
    """How far the unit is from where it was: the baseline's GeoLocation (what it said at
    commissioning), else the filed position. A filing that was wrong from the start is the
    position rule's business, not a move."""
    inv = facts.inventory
    if inv is None or inv.geolocation is None:
        return None
    base = facts.baseline.inventory.geolocation if facts.baseline is not None else None
    reference = base or (facts.filing.position if facts.filing is not None else None)
    return reference.distance_to(inv.geolocation) if reference is not None else None


def _text_evidence_changed(facts: CameraFacts) -> dict[str, tuple[object, object]]:
    inv, base = facts.inventory, facts.baseline
    if inv is None or base is None:
        return {}
    changed: dict[str, tuple[object, object]] = {}
    before, now = location_scopes(base.inventory), location_scopes(inv)
    if before != now:
        changed["location_scope"] = (list(before), list(now))
    if base.inventory.snmp is not None and inv.snmp is not None and (
            base.inventory.snmp.sys_location != inv.snmp.sys_location):
        changed["sys_location"] = (base.inventory.snmp.sys_location, inv.snmp.sys_location)
    return changed


def check(facts: CameraFacts) -> list[Finding]:
    if not facts.answered:
        return _missing(facts)
    inv = facts.inventory
    assert inv is not None
    assert inv.device is not None
    findings: list[Finding] = []
    serial, mac = inv.device.serial, inv.mac or ""
    expected_serial, expected_mac = facts.expected_serial, facts.expected_mac
    other_unit = (serial != expected_serial if serial and expected_serial
                  else bool(mac and expected_mac and mac != expected_mac))
    if other_unit:
        facts.presence = "replaced"
        severity, why = _judged(facts, "replacement", Severity.MAJOR)
        findings.append(facts.finding(
            "replaced", ARTICLE, severity,
            f"{facts.label}: another unit answers in its place (serial {serial or '?'}, "
            f"MAC {mac or '?'}; filed serial {expected_serial or '?'}, MAC "
            f"{expected_mac or '?'}). {why}. File the new unit (Art. 9).",
            serial=[expected_serial, serial], mac=[expected_mac, mac], judgement=why))
        return findings
    distance = _geo_distance(facts)
    text_changes = _text_evidence_changed(facts)
    tolerance = facts.settings.position_tolerance_m
    if (distance is not None and distance > tolerance) or len(text_changes) >= 2:
        facts.presence = "moved"
        severity, why = _judged(facts, "move", Severity.MAJOR)
        where = f"{distance:.0f} m from where it was" if distance is not None else (
            "its location labels changed")
        findings.append(facts.finding(
            "moved", ARTICLE, severity,
            f"{facts.label} was moved: it reports a position {where} "
            f"(tolerance {tolerance:g} m). {why}.",
            distance_m=None if distance is None else round(distance, 1),
            observed=inv.geolocation.model_dump() if inv.geolocation else None,
            changed=text_changes, judgement=why))
        return findings
    facts.presence = "present"
    before = facts.baseline.inventory.address if facts.baseline is not None else ""
    now = facts.found_at or inv.address
    if before and now and before != now:
        findings.append(facts.finding(
            "readdressed", ARTICLE, Severity.INFO,
            f"{facts.label} answers on a new address {now} (was {before}); identity, "
            "position and view unchanged, so it is not a move. Update the targets file.",
            previous=before, current=now))
    return findings


def _missing(facts: CameraFacts) -> list[Finding]:
    misses = facts.previous_misses + 1
    needed = facts.settings.removed_after
    errors = [e.message for e in facts.inventory.errors] if facts.inventory else []
    if misses < needed:
        facts.presence = "not-answering"
        return [facts.finding(
            "not-answering", ARTICLE, Severity.MINOR,
            f"{facts.label} did not answer ({misses} of {needed} consecutive audits before "
            "it counts as removed); check power and network.",
            missed_audits=misses, removed_after=needed, errors=errors)]
    facts.presence = "removed"
    severity, why = _judged(facts, "removal", Severity.MAJOR)
    return [facts.finding(
        "removed", ARTICLE, severity,
        f"{facts.label} has not answered on any route in {misses} consecutive audits: "
        f"removed. {why}.",
        missed_audits=misses, removed_after=needed, errors=errors, judgement=why)]
