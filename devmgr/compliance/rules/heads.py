"""Art. 7 (a relatively fixed view), as far as this audit's own handling of the PTZ head goes.

Neither is the camera's fault, so both are for information: **views-not-checked**, another
run drove the head for longer than this audit would wait, so its views were not compared
today (:mod:`devmgr.compliance.heads`); **head-restored**, an earlier run was killed with the
head away from where it had found it, and this audit put it back before looking.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity

RULES = ("views-not-checked", "head-restored")


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    findings: list[Finding] = []
    if facts.views_skipped:
        findings.append(facts.finding(
            "views-not-checked", "Art. 7", Severity.INFO,
            f"{facts.label}'s views were not compared today: {facts.views_skipped}. The next "
            "audit compares them.", reason=facts.views_skipped))
    if facts.heads_restored:
        findings.append(facts.finding(
            "head-restored", "Art. 7", Severity.INFO,
            f"{facts.label}: {'; '.join(facts.heads_restored)}.",
            restored=list(facts.heads_restored)))
    return findings
