"""Art. 17: secure transmission and access.

* **default-credentials**: the camera accepted a factory-default user and password
  (``compliance.audit.DEFAULT_CREDENTIALS``), or requests without any credentials;
* **snmp-community**: it answers SNMP v1/v2c with a default community (``public``,
  ``private``): anyone on the network reads it;
* **clock**: its clock is off by more than the tolerance: timestamps in evidence are wrong
  and WS-Security replay protection weakens.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity

ARTICLE = "Art. 17"
RULES = ("default-credentials", "snmp-community", "clock")


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    if not facts.configured or judged.presence not in ("present", "replaced", "moved"):
        return []
    findings: list[Finding] = []
    accepted = list(facts.default_credentials)
    if facts.anonymous_access:
        accepted.insert(0, "(no credentials)")
    if accepted:
        findings.append(facts.finding(
            "default-credentials", ARTICLE, Severity.CRITICAL,
            f"{facts.label} accepts {', '.join(accepted)}: change or disable these accounts.",
            accepted=accepted))
    if facts.snmp_default_community:
        findings.append(facts.finding(
            "snmp-community", ARTICLE, Severity.MAJOR,
            f"{facts.label} answers SNMP v1/v2c with the default community "
            f"{facts.snmp_default_community!r}: use SNMPv3 or a secret community.",
            community=facts.snmp_default_community))
    offset = facts.inventory.clock_offset_s if facts.inventory is not None else None
    if offset is not None and abs(offset) > facts.settings.clock_tolerance_s:
        findings.append(facts.finding(
            "clock", ARTICLE, Severity.MINOR,
            f"{facts.label}'s clock is {abs(offset):.1f} s {'ahead' if offset > 0 else 'behind'}"
            f" (tolerance {facts.settings.clock_tolerance_s:g} s): configure NTP.",
            offset_s=round(offset, 3)))
    return findings
