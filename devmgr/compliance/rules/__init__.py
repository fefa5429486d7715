"""The compliance rules, one module per thing checked; each finding cites its article.

The order matters: :mod:`presence` runs first and says whether the unit is where it was
(present), somewhere else (moved), another unit (replaced) or gone; the later rules read that
verdict and stay silent where it makes them meaningless (a moved unit's view is not compared
with its old place).
"""

from __future__ import annotations

from collections.abc import Callable

from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import Finding
from devmgr.compliance.rules import filing, position, presence, ptz_range, retention, security, view

Rule = Callable[[CameraFacts], list[Finding]]

#: (module, its rule names), in evaluation order.
MODULES = (presence, position, ptz_range, view, retention, security, filing)
#: Every rule name a finding may carry.
RULE_NAMES: tuple[str, ...] = tuple(name for m in MODULES for name in m.RULES)


def evaluate(facts: CameraFacts) -> list[Finding]:
    """All findings for one camera, in rule order."""
    findings: list[Finding] = []
    for module in MODULES:
        findings += module.check(facts)
    return findings
