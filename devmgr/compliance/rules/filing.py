"""Art. 9 (file the device types and point distribution within 30 days of acceptance) and
Art. 18 (prohibited places).

* **unfiled**: a camera answers (in the targets or found by discovery) with no filing at all;
* **filing-incomplete**: a filing without a position, a site category or an acceptance date,
  typically imported from a platform's catalog, which carries none of the regulation's
  fields: the point distribution is not filed until it is completed;
* **filing-position**: the filed position is not a plausible place: the 0/0 placeholder,
  outside China, or outside the province its CivilCode names (coarse boxes,
  :mod:`devmgr.filings.places`);
* **filing-overdue**: a filing draft whose filing date is still missing 30 days after
  acceptance, or a filing made after the deadline;
* **prohibited-site**: a filing in an Art. 18 category: the camera must not be there.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity
from devmgr.filings.model import FilingRecord

RULES = ("unfiled", "filing-incomplete", "filing-position", "filing-overdue", "prohibited-site")

_WHAT_IS_MISSING = {"position": "position (longitude/latitude)", "site_category":
                    "site category (Art. 6)", "acceptance_date": "acceptance date"}


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
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
    if filing.site_category is not None and filing.site_category.is_prohibited:
        findings.append(facts.finding(
            "prohibited-site", "Art. 18", Severity.CRITICAL,
            f"{facts.label} is filed at a prohibited place ({filing.site_category.description})"
            ": it must be removed.", site_category=str(filing.site_category)))
    findings += _quality(facts, filing)
    deadline = filing.filing_deadline()
    if deadline is not None and filing.acceptance_date is not None and filing.filing_overdue(
            facts.today):
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


def _quality(facts: CameraFacts, filing: FilingRecord) -> list[Finding]:
    """Is what is filed a complete, plausible filing of the point?"""
    findings = []
    if filing.missing:
        lacking = ", ".join(_WHAT_IS_MISSING[f] for f in filing.missing)
        findings.append(facts.finding(
            "filing-incomplete", "Art. 9", Severity.MAJOR,
            f"{facts.label}'s filing lacks the {lacking}: the point is not filed until it is "
            "completed (re-import the record with these fields).", missing=list(filing.missing)))
    problems = filing.position_problems
    if problems:
        findings.append(facts.finding(
            "filing-position", "Art. 9", Severity.MAJOR,
            f"{facts.label}'s filed position {'; '.join(problems)}: correct the filing.",
            problems=problems, civil_code=filing.civil_code,
            latitude=filing.position.latitude if filing.position else None,
            longitude=filing.position.longitude if filing.position else None))
    return findings
