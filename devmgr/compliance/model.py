"""What an audit produces: findings, per-camera evidence, and the run as a whole.

A :class:`Finding` is one thing a field engineer must act on: the rule that raised it, the
article of the regulation the rule serves, a severity, a sentence in plain words, and the
evidence (JSON-able values, so the machine reports carry it unchanged). Rules never print;
reports (:mod:`devmgr.report`) turn these records into JSON, JUnit XML, CSV and HTML.

Snapshots are not inside the records: a :class:`ViewEvidence` names them by SHA-256, and the
registry (or the report writer's image lookup) supplies the bytes.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from camfleet.errors import DeviceError
from camfleet.model import GeoPosition, Model, PtzVector
from devmgr.media.model import CameraEvent, StreamEvidence


def article_key(article: str) -> tuple[int, ...]:
    """Sort ``Art. 7`` before ``Art. 10`` and ``Art. 16(3)`` before ``Art. 16(5)``."""
    return tuple(int(n) for n in re.findall(r"\d+", article))


class Severity(StrEnum):
    """How urgent a finding is; the order is the order of this enum (most urgent first)."""

    #: The regulation is broken now (a filed unit gone without a filing, a prohibited site).
    CRITICAL = "critical"
    #: The unit no longer does what it was filed for (view turned, obstructed, moved).
    MAJOR = "major"
    #: Needs attention, not an outage (clock drift, a late filing, an unfiled spare).
    MINOR = "minor"
    #: Worth knowing, nothing to do (re-addressed, not answering once).
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Finding(Model):
    """One rule's verdict on one camera."""

    #: Short stable name of the rule (``view-turned``, ``removed`` ...); see ``compliance.RULES``.
    rule: str
    #: The article it serves, as the regulation numbers it: ``Art. 7``, ``Art. 16(5)``.
    article: str
    severity: Severity
    #: Key of the camera: its filing's device id, else its target id, else its serial.
    camera: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class ViewEvidence(Model):
    """A reference view and today's view of it, compared (Art. 7 view, Art. 12 obstruction)."""

    #: ``home`` or ``preset:<token>`` (``current`` for a camera without PTZ).
    name: str
    baseline_position: PtzVector | None = None
    current_position: PtzVector | None = None
    #: SHA-256 of the JPEGs (registry snapshot store); empty if not taken.
    baseline_image: str = ""
    current_image: str = ""
    #: Field of view the pixels were turned into degrees with (None: turn not measured).
    hfov_deg: float | None = None
    pan_deg: float | None = None
    tilt_deg: float | None = None
    obstructed_share: float = 0.0
    obstructed_where: str = ""
    #: Obstructed tiles as (column, row) of the comparison grid, for drawing.
    obstructed_tiles: tuple[tuple[int, int], ...] = ()
    grid: tuple[int, int] = (0, 0)
    blur_ratio: float | None = None
    #: ``ok``, ``turned``, ``obstructed``, ``blurred``, ``unusable`` (cannot be compared),
    #: ``unjudged`` (cannot be judged now or ever: said, never a major finding),
    #: ``elsewhere`` (a good picture with none of the baseline's scene: another place; all
    #: views so is evidence of a move); empty: seen but not judged (``--no-move`` away from
    #: every reference view).
    verdicts: tuple[str, ...] = ()
    reason: str = ""
    #: Later frames taken to tell a lasting obstruction from a passing one (SHA-256s).
    frames: tuple[str, ...] = ()
    #: Tiles obstructed in one frame of this audit and not in a later one: passing traffic,
    #: or an obstruction caught only in some frames. Never excused by this view when it
    #: serves as a good view (``devmgr.compliance.lighting``).
    passed_tiles: tuple[tuple[int, int], ...] = ()
    #: A good view of an earlier audit, in light like today's, that a suspected obstruction
    #: was also judged against (SHA-256; empty: none was needed or there was none).
    light_reference: str = ""
    #: Share of the view's commissioning fingerprint found in today's picture, where the
    #: comparison could not align the two (None: not asked, or no fingerprint).
    scene_match: float | None = None
    #: Another of the camera's own views whose scene today's picture shows instead.
    shows_view: str = ""


CameraStatus = Literal["compliant", "findings", "removed", "not-answering", "unfiled"]


class CameraAudit(Model):
    """Everything the audit learnt about one camera (filed, baselined or discovered)."""

    camera: str
    name: str = ""
    target_id: str | None = None
    #: Where it answered today (empty if it did not).
    address: str = ""
    filed_address: str = ""
    serial: str = ""
    filed_position: GeoPosition | None = None
    observed_position: GeoPosition | None = None
    status: CameraStatus
    #: What the presence rule concluded: present, moved, replaced, not-answering, removed.
    presence: str = "unknown"
    findings: tuple[Finding, ...] = ()
    views: tuple[ViewEvidence, ...] = ()
    #: Field -> (baseline, today) for identity and configuration values that differ.
    differences: dict[str, tuple[Any, Any]] = Field(default_factory=dict)
    #: Consecutive audits, this one included, in which the camera did not answer.
    missed_audits: int = 0
    #: What the camera could not tell today, classified (a value it sent that no field can
    #: hold, an operation that failed): why facts are missing, never a finding by itself.
    errors: tuple[DeviceError, ...] = ()
    #: The main stream as played (Art. 7: a live picture), if it was checked.
    stream: StreamEvidence | None = None
    #: Tamper events the camera raised itself since the last audit: its own verdict, beside
    #: the audit's off-camera one (the views).
    camera_events: tuple[CameraEvent, ...] = ()


class AuditSettings(Model):
    """Tolerances and thresholds; every one has a CLI option."""

    #: Distance between filed and observed positions that counts as moved.
    position_tolerance_m: float = 25.0
    #: View turn (pan or tilt, degrees) that counts as a turned view.
    view_tolerance_deg: float = 0.5
    #: PTZ position difference (degrees) that counts as a preset or home moved.
    ptz_tolerance_deg: float = 0.5
    #: Camera clock offset that counts as unsynchronised (Art. 17: time sync).
    clock_tolerance_s: float = 5.0
    #: Consecutive audits without an answer before a filed camera is called removed.
    removed_after: int = 3
    #: Frames a suspected obstruction must persist in (a bus in front of the lens, a crowd
    #: passing: gone in a later frame), and the seconds between them.
    obstruction_frames: int = 3
    obstruction_spacing_s: float = 2.0


class AuditReport(Model):
    """One audit run: its cameras, their findings, and how it was made."""

    sweep_id: int | None = None
    started_at: datetime
    finished_at: datetime
    #: Who ran it and why (copied to the audit log).
    operator: str = ""
    settings: AuditSettings = AuditSettings()
    registry: str = ""
    targets_digest: str = ""
    cameras: tuple[CameraAudit, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        return [f for cam in self.cameras for f in cam.findings]

    def by_article(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for finding in sorted(self.findings,
                              key=lambda f: (article_key(f.article), f.severity.rank)):
            out.setdefault(finding.article, []).append(finding)
        return out

    @property
    def worst(self) -> Severity | None:
        ranks = [f.severity for f in self.findings]
        return min(ranks, key=lambda s: s.rank) if ranks else None
