"""What the rules look at: one camera's filing, baseline and today's observations, gathered
once by the audit so that every rule is a small pure function of these facts; and the
:class:`Judgement` the first rules reach, which the later ones read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from camfleet.targets import Target
from devmgr.compliance.baseline import Baseline
from devmgr.compliance.model import AuditSettings, Finding, Severity, ViewEvidence
from devmgr.filings.model import FilingRecord
from devmgr.inventory.model import Inventory
from devmgr.media.model import CameraEvent, StreamEvidence
from devmgr.switches import Attachment, PortEvidence

#: What the presence rule concludes; the other rules read it (a moved unit's view is not
#: compared with the old place's baseline, a removed unit has no configuration to check).
Presence = Literal["present", "moved", "replaced", "not-answering", "services-down",
                   "unreadable", "unverified", "removed", "unknown"]


@dataclass(frozen=True)
class Judgement:
    """What is concluded about a camera before the rules that depend on it run."""

    #: The presence rule's verdict.
    presence: Presence
    #: What differs in the PTZ configuration since commissioning
    #: (:func:`devmgr.compliance.rules.ptz_range.differences`), for that rule, the view rule
    #: and the report.
    ptz_differences: Mapping[str, object] = field(default_factory=dict)

    @property
    def reconfigured_views(self) -> set[str]:
        """Views whose PTZ position was reconfigured (preset re-stored, home moved): their
        snapshots show another place on purpose, so the view rules leave them to ptz-range."""
        return {k for k in self.ptz_differences if k == "home" or k.startswith("preset:")}


@dataclass
class CameraFacts:
    camera: str
    today: date
    settings: AuditSettings
    target: Target | None = None
    filing: FilingRecord | None = None
    baseline: Baseline | None = None
    #: Today's inventory (None if the camera was not asked: not in the targets).
    inventory: Inventory | None = None
    #: Where the unit answered when it was not where the target said (found by discovery).
    found_at: str = ""
    views: list[ViewEvidence] = field(default_factory=list)
    #: Why the views were not taken (another run drove the head), else empty.
    views_skipped: str = ""
    #: Heads this audit put back where an earlier, killed run had left them (sentences).
    heads_restored: list[str] = field(default_factory=list)
    #: Consecutive complete audits before this one in which the camera did not answer.
    previous_misses: int = 0
    #: Credentials from the default list that the camera accepted (``user``, password masked).
    default_credentials: list[str] = field(default_factory=list)
    anonymous_access: bool = False
    #: A default SNMP community the camera answered to.
    snmp_default_community: str | None = None
    #: Only discovery saw it (no credentials to ask it more): presence can be judged, its
    #: configuration (PTZ, recording, security, view) cannot.
    identity_only: bool = False
    #: The main stream as the audit played it (None: not checked, or nothing to play).
    stream: StreamEvidence | None = None
    #: Tamper events the camera raised itself since the last audit (monitor and audit).
    camera_events: list[CameraEvent] = field(default_factory=list)
    #: Where its MAC is learned today on the switches the targets file names (None: nowhere,
    #: or no switch read); see :mod:`devmgr.compliance.attachment`.
    attachment: Attachment | None = None
    #: The port it was commissioned on, as that port reads today (None: unknown or unread).
    home_port: PortEvidence | None = None
    #: At least one switch answered in this audit: physical evidence exists.
    switches_read: bool = False

    @property
    def configured(self) -> bool:
        """Today's configuration was read: the configuration rules have something to judge."""
        return self.answered and not self.identity_only

    @property
    def answered(self) -> bool:
        inv = self.inventory
        return inv is not None and inv.device is not None

    @property
    def expected_serial(self) -> str:
        if self.baseline is not None and self.baseline.inventory.device is not None:
            return self.baseline.inventory.device.serial
        if self.filing is not None and self.filing.serial:
            return self.filing.serial
        return self.target.serial if self.target is not None and self.target.serial else ""

    @property
    def expected_mac(self) -> str:
        if self.baseline is not None and self.baseline.inventory.mac:
            return self.baseline.inventory.mac
        if self.filing is not None and self.filing.mac:
            return self.filing.mac
        return self.target.mac if self.target is not None and self.target.mac else ""

    def finding(self, rule: str, article: str, severity: Severity, message: str,
                **evidence: object) -> Finding:
        return Finding(rule=rule, article=article, severity=severity, camera=self.camera,
                       message=message, evidence=evidence)

    @property
    def label(self) -> str:
        """How a field engineer names the camera in a sentence."""
        name = self.filing.name if self.filing is not None else ""
        return f"{name} ({self.camera})" if name and name != self.camera else self.camera
