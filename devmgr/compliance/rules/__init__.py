"""The compliance rules, one module per thing checked; each finding cites its article.

Every rule is a pure function of the facts: it returns findings and writes nothing. The order
matters: :mod:`presence` judges first whether the unit is where it was (present), somewhere
else (moved), another unit (replaced) or gone, and :func:`ptz_range.differences` what changed
in its PTZ configuration; that :class:`~devmgr.compliance.facts.Judgement` is handed to the
later rules, which stay silent where it makes them meaningless (a moved unit's view is not
compared with its old place).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding
from devmgr.compliance.rules import (
    filing,
    heads,
    position,
    presence,
    ptz_range,
    retention,
    security,
    stream,
    view,
)

__all__ = ["MODULES", "RULE_NAMES", "Conclusions", "evaluate", "judge"]

Rule = Callable[[CameraFacts, Judgement], list[Finding]]

#: (module, its rule names), in evaluation order.
MODULES = (presence, position, ptz_range, view, stream, heads, retention, security, filing)
#: Every rule name a finding may carry.
RULE_NAMES: tuple[str, ...] = tuple(name for m in MODULES for name in m.RULES)


@dataclass(frozen=True)
class Conclusions:
    """Everything the rules concluded about one camera."""

    judgement: Judgement
    findings: tuple[Finding, ...]


def judge(facts: CameraFacts) -> Judgement:
    """The verdicts the later rules depend on."""
    return Judgement(presence=presence.verdict(facts),
                     ptz_differences=ptz_range.differences(facts) if facts.answered else {})


def evaluate(facts: CameraFacts) -> Conclusions:
    """The judgement and all findings for one camera, in rule order."""
    judged = judge(facts)
    findings: list[Finding] = []
    for module in MODULES:
        findings += module.check(facts, judged)
    return Conclusions(judgement=judged, findings=tuple(findings))
