"""Art. 7: the device position is fixed, and the filing says where it is.

The unit answers where it should (presence: present or readdressed), yet what it says about
itself disagrees with its filing: GeoLocation beyond the tolerance of the filed position while
it already did so at commissioning (the filing is wrong, or it was put up elsewhere before
commissioning), or a manufacturer/model other than filed. A move seen since commissioning is
the presence rule's ``moved``, not this.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity
from devmgr.compliance.rules.presence import position_kind

ARTICLE = "Art. 7"
RULES = ("position",)


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    inv, filing = facts.inventory, facts.filing
    if not facts.configured or judged.presence != "present" or inv is None or filing is None:
        return []
    problems: dict[str, object] = {}
    if inv.geolocation is not None and filing.position is not None:
        # (no filed position: an incomplete filing, which the filing rule reports)
        distance = filing.position.distance_to(inv.geolocation)
        if distance > facts.settings.position_tolerance_m:
            problems["distance_m"] = round(distance, 1)
    device = inv.device
    for field in ("manufacturer", "model"):
        filed = getattr(filing, field)
        seen = getattr(device, field, "") if device is not None else ""
        if filed and seen and filed.strip().lower() != seen.strip().lower():
            problems[field] = [filed, seen]
    if not problems:
        return []
    parts = []
    if "distance_m" in problems:
        kind = position_kind(inv)
        problems["position_kind"] = kind
        parts.append(f"reports a position {problems['distance_m']} m from the filed one "
                     f"(its {kind})")
    parts += [f"is a {field} {pair[1]!r}, filed as {pair[0]!r}"  # type: ignore[index]
              for field, pair in problems.items() if field in ("manufacturer", "model")]
    return [facts.finding(
        "position", ARTICLE, Severity.MAJOR,
        f"{facts.label} {' and '.join(parts)}; correct the filing or the unit.", **problems)]
