"""Art. 16(5): recordings kept at least 90 days (counter-terror key targets) or two years
(important information). Compared: the camera's recording MaximumRetentionTime with the
filed retention class's floor, and with the filed record-save days."""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity

ARTICLE = "Art. 16(5)"
RULES = ("retention",)


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    inv, filing = facts.inventory, facts.filing
    if (not facts.configured or judged.presence not in ("present", "replaced") or inv is None
            or filing is None
            or inv.recording_retention_days is None):
        return []
    days = inv.recording_retention_days
    floor = filing.retention_minimum_days
    if days < floor:
        return [facts.finding(
            "retention", ARTICLE, Severity.MAJOR,
            f"{facts.label} keeps recordings {days:g} days; its class "
            f"{filing.retention_class.value!r} requires at least {floor}.",
            retention_days=days, minimum_days=floor,
            retention_class=filing.retention_class.value)]
    filed = filing.record_save_days
    if filed is not None and days < filed:
        return [facts.finding(
            "retention", ARTICLE, Severity.MINOR,
            f"{facts.label} keeps recordings {days:g} days, less than the {filed} filed.",
            retention_days=days, filed_days=filed)]
    return []
