"""Art. 9 (file within 30 days of acceptance) and Art. 18 (prohibited places).

* **unfiled**: a camera answers (in the targets or found by discovery) with no filing at all;
* **filing-overdue**: a filing draft whose filing date is still missing 30 days after
  acceptance, or a filing made after the deadline;
* **prohibited-site**: a filing in an Art. 18 category: the camera must not be there.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import Finding, Severity

RULES = ("unfiled", "filing-overdue", "prohibited-site")


def check(facts: CameraFacts) -> list[Finding]:
    filing = facts.filing
    if filing is None:
        if not facts.answered:
            return []
        return [facts.finding(
            "unfiled", "Art. 9", Severity.MAJOR,
            f"{facts.label} is in service with no filing; file it with the public security "
            "organ within 30 days of acceptance (Art. 9).",
            address=facts.found_at or (facts.inventory.address if facts.inventory else ""))]
    findings: list[Finding] = []
    if filing.is_prohibited_site:
        findings.append(facts.finding(
            "prohibited-site", "Art. 18", Severity.CRITICAL,
            f"{facts.label} is filed at a prohibited place ({filing.site_category.description})"
            ": it must be removed.", site_category=str(filing.site_category)))
    if filing.filing_overdue(facts.today):
        deadline = filing.filing_deadline()
        late = (f"filed {filing.filing_date.isoformat()}" if filing.filing_date is not None
                else "still not filed")
        findings.append(facts.finding(
            "filing-overdue", "Art. 9", Severity.MAJOR,
            f"{facts.label} was accepted {filing.acceptance_date.isoformat()} and {late}; the "
            f"deadline was {deadline.isoformat()} (30 days).",
            acceptance_date=filing.acceptance_date.isoformat(),
            filing_date=filing.filing_date.isoformat() if filing.filing_date else None,
            deadline=deadline.isoformat()))
    return findings
