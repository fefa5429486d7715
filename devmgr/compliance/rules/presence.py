"""Art. 10: filed units must not be moved or removed without a filing.

Judged per camera, in this order:

* when it answered on no route (its address, nor anywhere discovery looked) and the
  targets file names switches that answered, the switches decide (physical evidence):
  its MAC learned on a port with link -> **services-down** (present but not answering: a
  maintenance job), or **moved** if that port is not the one it was commissioned on; its
  commissioned port with no link, no powered PoE device and its MAC learned nowhere ->
  **removed** at once; anything less conclusive -> the count of misses below;
* **unreadable**: something answers on its address, but not in a way that can be read as the
  unit (garbled or hostile replies, or a refusal of the audit's credentials): not silence, so
  never counted towards a removal by misses, and not proof that the unit is there either (a
  device that took over its address answers too). A finding for someone to look on site;
* **removed**: it answered on no route in this audit and the ``removed_after - 1`` complete
  audits before it; fewer misses are **not-answering** (a power cut is not a removal);
* **replaced**: another unit (other serial, else other MAC) answers in its place;
* **moved**: the filed unit answers, but its position evidence changed: GeoLocation farther
  than the tolerance from the filed (else baseline) position, or both the ONVIF location
  scope and SNMP sysLocation changed, or it is plugged into another switch (strong
  evidence) or another port of the same switch (medium: a re-patch looks the same) than at
  commissioning, or every view it could be judged on shows another place (the picture:
  medium, a re-aim beyond recognition looks the same). A silent move (position and labels
  as typed at installation) is found by the last two alone;
* **readdressed**: the same unit, same place, on another network address (DHCP,
  re-addressing): worth knowing, not a move;
* **unverified**: found by discovery on another address than its own, unchanged by every
  evidence it gives of itself, but with nothing else to show it is the unit: no view of it
  shows its own scene and no switch has learned its MAC. Its serial and labels are only its
  word: an impostor claiming a missing unit's serial would otherwise pass it off as
  "readdressed". A finding to check on site, not a clean bill.

Each move, removal or replacement is judged against the camera's move/removal filings
(``FilingRecord.move_allowed_on``): allowed ones are reported as information.
"""

from __future__ import annotations

from camfleet.errors import DeviceError, ErrorKind
from devmgr.compliance.facts import CameraFacts, Judgement, Presence
from devmgr.compliance.model import Finding, Severity
from devmgr.inventory.model import Inventory
from devmgr.switches import PortEvidence

ARTICLE = "Art. 10"
RULES = ("removed", "not-answering", "services-down", "unreadable", "replaced", "moved",
         "readdressed", "unverified")
#: Errors that show something answered on the unit's address, wrongly or refusing us: a reply
#: that could not be read (``protocol``), credentials refused (``auth``). Not silence.
ANSWERED = (ErrorKind.PROTOCOL, ErrorKind.AUTH)
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


def position_kind(inv: Inventory | None) -> str:
    """How a reported position was obtained, in words: a GNSS fix is measured where the unit
    is; a configured one is what an installer typed, and stays so when the unit is moved."""
    if inv is None or inv.geolocation is None:
        return "no position"
    return "GNSS fix" if inv.geolocation_source == "gnss" else "configured position"


def _compared(facts: CameraFacts) -> str:
    """What today's position was compared with: '<kind> against <kind> at commissioning'."""
    base = facts.baseline.inventory if facts.baseline is not None else None
    today = position_kind(facts.inventory)
    if base is not None and base.geolocation is not None:
        return f"its {today} against its {position_kind(base)} at commissioning"
    return f"its {today} against the filed position"


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


def _identities(facts: CameraFacts) -> tuple[tuple[str, str], tuple[str, str]]:
    """(serial, MAC) answering today, and (serial, MAC) expected; "" where unknown."""
    inv = facts.inventory
    assert inv is not None
    assert inv.device is not None
    return (inv.device.serial, inv.mac or ""), (facts.expected_serial, facts.expected_mac)


def _other_unit(facts: CameraFacts) -> bool:
    """Another unit answers: other serial, else (no serials to compare) other MAC."""
    (serial, mac), (expected_serial, expected_mac) = _identities(facts)
    return (serial != expected_serial if serial and expected_serial
            else bool(mac and expected_mac and mac != expected_mac))


def _replugged(facts: CameraFacts) -> str:
    """"strong" (another switch), "medium" (another port of the same switch) or ""."""
    home = facts.baseline.attachment if facts.baseline is not None else None
    now = facts.attachment
    if home is None or now is None or now.place() == home.place():
        return ""
    return "strong" if now.switch != home.switch else "medium"


def _elsewhere(facts: CameraFacts) -> int:
    """How many views show another place, when every view that could be judged does (0:
    none, or some view still shows its own)."""
    judged = [v for v in facts.views if v.verdicts and not (
        {"unjudged", "unusable"} & set(v.verdicts))]
    return len(judged) if judged and all("elsewhere" in v.verdicts for v in judged) else 0


def _moved(facts: CameraFacts) -> bool:
    distance = _geo_distance(facts)
    return ((distance is not None and distance > facts.settings.position_tolerance_m)
            or len(_text_evidence_changed(facts)) >= 2 or bool(_replugged(facts))
            or _elsewhere(facts) > 0)


def _physically(facts: CameraFacts) -> Presence | None:
    """What the switches say of a silent unit; None: not conclusive (or no switches)."""
    if not facts.switches_read:
        return None
    now = facts.attachment
    if now is not None and now.evidence.link_up is not False:
        return "moved" if _replugged(facts) else "services-down"
    home = facts.home_port
    if now is None and home is not None and home.device_present is False:
        return "removed"
    return None


def _answers_unreadably(facts: CameraFacts) -> list[DeviceError]:
    """The errors that show something answered on the unit's address (empty: silence)."""
    inv = facts.inventory
    return [e for e in inv.errors if e.kind in ANSWERED] if inv is not None else []


def verdict(facts: CameraFacts) -> Presence:
    """Where the unit is, judged from today's facts alone."""
    if not facts.answered:
        physical = _physically(facts)
        if physical is not None:
            return physical
        if _answers_unreadably(facts):
            return "unreadable"
        misses = facts.previous_misses + 1
        return "not-answering" if misses < facts.settings.removed_after else "removed"
    if _other_unit(facts):
        return "replaced"
    if _moved(facts):
        return "moved"
    return "unverified" if _claimed_elsewhere(facts) else "present"


def _own_address(facts: CameraFacts) -> str:
    """Where the unit was expected to answer: its filing's address, else where it was
    commissioned, else its target's."""
    if facts.filing is not None and facts.filing.ip_address:
        return str(facts.filing.ip_address)
    if facts.baseline is not None and facts.baseline.inventory.address:
        return facts.baseline.inventory.address
    return facts.target.address if facts.target is not None else ""


def _claimed_elsewhere(facts: CameraFacts) -> bool:
    """It answered only on another address, and only its own word says it is the unit."""
    own = _own_address(facts)
    if not facts.found_at or not own or facts.found_at == own:
        return False
    own_scene = any({"ok", "turned"} & set(v.verdicts) for v in facts.views)
    return not own_scene and facts.attachment is None


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    if judged.presence == "unreadable":
        return [_unreadable(facts)]
    if judged.presence in ("not-answering", "removed", "services-down"):
        return [_missing(facts, judged.presence)]
    if judged.presence == "moved" and not facts.answered:
        return [_moved_finding(facts)]
    inv = facts.inventory
    if inv is None or inv.device is None:
        return []
    if judged.presence == "replaced":
        return [_replaced(facts)]
    if judged.presence == "unverified":
        return [_unverified(facts)]
    if judged.presence == "moved":
        return [_moved_finding(facts)]
    before = facts.baseline.inventory.address if facts.baseline is not None else ""
    now = facts.found_at or inv.address
    if before and now and before != now:
        return [facts.finding(
            "readdressed", ARTICLE, Severity.INFO,
            f"{facts.label} answers on a new address {now} (was {before}); identity, "
            "position and view unchanged, so it is not a move. Update the targets file.",
            previous=before, current=now)]
    return []


def _unverified(facts: CameraFacts) -> Finding:
    (serial, mac), _ = _identities(facts)
    own = _own_address(facts)
    pictures = ("none of its views could be compared with the baseline" if not facts.views
                else "none of its views shows its own scene")
    switches = ("no switch has learned its MAC" if facts.switches_read
                else "no switch was read")
    return facts.finding(
        "unverified", ARTICLE, Severity.MAJOR,
        f"{facts.label} does not answer on {own}; a device on {facts.found_at} says it is the "
        f"unit (serial {serial or '?'}, MAC {mac or '?'}), but nothing else shows it: "
        f"{pictures}, and {switches}. It may be the unit on a new address, or another "
        "device claiming its identity. Check it on site before taking it for the unit.",
        claimed_at=facts.found_at, own_address=own, serial=serial, mac=mac,
        rests_on=["its own word"], strength="weak")


def _unreadable(facts: CameraFacts) -> Finding:
    errors = _answers_unreadably(facts)
    address = facts.target.address if facts.target is not None else ""
    said = "; ".join(f"{e.operation}: {e.message}" for e in errors[:3])
    refused = all(e.kind is ErrorKind.AUTH for e in errors)
    how = ("refuses the audit's credentials" if refused
           else "answers, but its replies cannot be read")
    return facts.finding(
        "unreadable", ARTICLE, Severity.MAJOR,
        f"{facts.label}: something on {address or 'its address'} {how} ({said}). It is not "
        "silent, so this is no removal; but nothing identifies it as the filed unit either "
        "(another device on its address answers too). Check it on site.",
        errors=[e.model_dump(mode="json") for e in errors], address=address,
        rests_on=["its replies"], strength="weak")


def _replaced(facts: CameraFacts) -> Finding:
    (serial, mac), (expected_serial, expected_mac) = _identities(facts)
    severity, why = _judged(facts, "replacement", Severity.MAJOR)
    return facts.finding(
        "replaced", ARTICLE, severity,
        f"{facts.label}: another unit answers in its place (serial {serial or '?'}, "
        f"MAC {mac or '?'}; filed serial {expected_serial or '?'}, MAC "
        f"{expected_mac or '?'}). {why}. File the new unit (Art. 9).",
        serial=[expected_serial, serial], mac=[expected_mac, mac], judgement=why)


def _moved_finding(facts: CameraFacts) -> Finding:
    inv = facts.inventory
    distance = _geo_distance(facts)
    tolerance = facts.settings.position_tolerance_m
    severity, why = _judged(facts, "move", Severity.MAJOR)
    rests_on: list[str] = []
    sentences: list[str] = []
    gnss = inv is not None and inv.geolocation_source == "gnss"
    if distance is not None and distance > tolerance:
        rests_on.append("GNSS position" if gnss else "reported position")
        sentences.append(f"{'its GNSS fix is' if gnss else 'it reports a position'} "
                         f"{distance:.0f} m from where it was (tolerance {tolerance:g} m; "
                         f"{_compared(facts)})")
    changed = _text_evidence_changed(facts)
    if len(changed) >= 2:
        rests_on.append("location labels")
        sentences.append("its location labels changed")
    strength = _replugged(facts)
    home = facts.baseline.attachment if facts.baseline is not None else None
    if strength and home is not None and facts.attachment is not None:
        rests_on.append(f"attachment ({strength})")
        sentences.append(f"it is plugged into {facts.attachment.describe()}, commissioned on "
                         f"{home.describe()}")
    if views := _elsewhere(facts):
        rests_on.append("picture (medium)")
        found = [v.scene_match for v in facts.views if v.scene_match is not None
                 and "elsewhere" in v.verdicts]
        prints = f"; {max(found):.0%} of its scene fingerprints at most" if found else ""
        sentences.append(f"{'its view shows' if views == 1 else f'all {views} of its views show'}"
                         " another place than at commissioning (or it was re-aimed beyond "
                         f"recognition{prints})")
    if not facts.answered:
        sentences.append("it does not answer there")
    return facts.finding(
        "moved", ARTICLE, severity,
        f"{facts.label} was moved: {'; '.join(sentences)}. {why}.",
        distance_m=None if distance is None else round(distance, 1),
        observed=inv.geolocation.model_dump() if inv and inv.geolocation else None,
        changed=changed, judgement=why, rests_on=rests_on,
        strength="strong" if len(rests_on) > 1 or strength == "strong" or (
            {"reported position", "GNSS position"} & set(rests_on)) else "medium",
        position_compared=_compared(facts),
        attachment=_attachment_evidence(facts))


def _attachment_evidence(facts: CameraFacts) -> dict[str, object] | None:
    """The switch evidence behind a verdict, for the report (None: no switch evidence)."""
    if not facts.switches_read:
        return None
    home = facts.baseline.attachment if facts.baseline is not None else None
    port = facts.attachment.evidence if facts.attachment is not None else facts.home_port
    return {"commissioned_on": home.describe() if home else None,
            "learned_on": facts.attachment.describe() if facts.attachment else None,
            "port_now": port.model_dump(mode="json") if port is not None else None}


def _port_words(port: PortEvidence | None) -> str:
    if port is None:
        return "its port was not read"
    link = {True: "link up", False: "no link", None: "link unknown"}[port.link_up]
    poe = {"deliveringPower": "PoE delivering power", "searching": "PoE detects no device",
           "disabled": "PoE off", None: "no PoE"}.get(port.poe, f"PoE {port.poe}")
    return f"{link}, {poe}"


def _missing(facts: CameraFacts, presence: Presence) -> Finding:
    misses = facts.previous_misses + 1
    needed = facts.settings.removed_after
    errors = [e.message for e in facts.inventory.errors] if facts.inventory else []
    if presence == "services-down":
        where = facts.attachment
        assert where is not None
        return facts.finding(
            "services-down", ARTICLE, Severity.MINOR,
            f"{facts.label} does not answer (ONVIF, SNMP, discovery) but is still on its pole: "
            f"its MAC is learned on {where.describe()} ({_port_words(where.evidence)}). "
            "Present but not answering: restart it (a maintenance job, not a removal).",
            errors=errors, rests_on=["MAC learned", "link", "PoE"], strength="strong",
            attachment=_attachment_evidence(facts))
    if presence == "not-answering":
        return facts.finding(
            "not-answering", ARTICLE, Severity.MINOR,
            f"{facts.label} did not answer ({misses} of {needed} consecutive audits before "
            "it counts as removed); check power and network.",
            missed_audits=misses, removed_after=needed, errors=errors)
    severity, why = _judged(facts, "removal", Severity.MAJOR)
    home = facts.baseline.attachment if facts.baseline is not None else None
    if facts.switches_read and home is not None and facts.home_port is not None and \
            facts.home_port.device_present is False and facts.attachment is None:
        return facts.finding(
            "removed", ARTICLE, severity,
            f"{facts.label} is gone from the network: it answers on no route, its port "
            f"{home.describe()} has {_port_words(facts.home_port)}, and no switch has "
            f"learned its MAC. Removed. {why}.",
            missed_audits=misses, removed_after=needed, errors=errors, judgement=why,
            rests_on=["no link", "MAC gone", "no PoE device"], strength="strong",
            attachment=_attachment_evidence(facts))
    return facts.finding(
        "removed", ARTICLE, severity,
        f"{facts.label} has not answered on any route in {misses} consecutive audits: "
        f"removed (no switch evidence either way). {why}.",
        missed_audits=misses, removed_after=needed, errors=errors, judgement=why,
        rests_on=["silence"], strength="weak")
