"""A realistic audit, built by hand: one camera per thing that can go wrong, plus a good one.

Positions are around Jianghan Road, Wuhan; snapshots are tiny JPEGs so the tests stay fast.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np

from camfleet.model import GeoPosition, PtzVector
from devmgr.compliance.model import (
    AuditReport,
    AuditSettings,
    CameraAudit,
    Finding,
    Severity,
    ViewEvidence,
)

UNTRUSTED_NAME = "<script>alert(1)</script>"
#: Key of the camera whose baseline snapshot the store has lost.
LOST_IMAGE = "0" * 64

COMPLIANT = "42010200001320000001"
TURNED = "42010200001320000002"
OBSTRUCTED = "42010200001320000003"
MOVED = "42010200001320000004"
REMOVED = "42010200001320000005"
REPLACED = "42010200001320000006"
UNFILED = "DS-2CD2T47G2-UNFILED"
SILENT = "42010200001320000008"


@dataclass(frozen=True)
class Sample:
    report: AuditReport
    images: dict[str, bytes]

    def camera(self, key: str) -> CameraAudit:
        return next(c for c in self.report.cameras if c.camera == key)


def jpeg(seed: int, shift: int = 0) -> bytes:
    """A 64x48 textured frame; ``shift`` rolls it sideways like a turned camera would."""
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (0, 0), 1.5)
    ok, data = cv2.imencode(".jpg", np.roll(frame, -shift, axis=1))
    assert ok
    return bytes(data)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _at(lat: float, lon: float) -> GeoPosition:
    return GeoPosition(latitude=lat, longitude=lon)


def finding(camera: str, rule: str, article: str, severity: Severity, message: str,
            **evidence: object) -> Finding:
    return Finding(rule=rule, article=article, severity=severity, camera=camera,
                   message=message, evidence=evidence)


def make_sample() -> Sample:
    base, turned = jpeg(1), jpeg(1, shift=6)
    obs_base, obs_now = jpeg(2), jpeg(3)
    images = {digest(b): b for b in (base, turned, obs_base, obs_now)}
    home = _at(30.58010, 114.28990)
    # 0.0027 deg of latitude is ~300 m north.
    moved_filed, moved_seen = _at(30.58300, 114.29300), _at(30.58570, 114.29300)

    cameras = (
        CameraAudit(
            camera=COMPLIANT, name="江汉路步行街 北口", target_id="jhl-north",
            address="10.20.1.11", filed_address="10.20.1.11", serial="DS-A1001",
            filed_position=home, observed_position=home, status="compliant",
            views=(ViewEvidence(name="home", baseline_image=digest(base),
                                current_image=digest(base), pan_deg=0.0, tilt_deg=0.0,
                                grid=(8, 6), blur_ratio=1.0, verdicts=("ok",)),),
        ),
        CameraAudit(
            camera=TURNED, name="江汉路 花楼街口", address="10.20.1.12",
            filed_address="10.20.1.12", serial="DS-A1002",
            filed_position=_at(30.58100, 114.29050), observed_position=_at(30.58100, 114.29050),
            status="findings",
            findings=(
                finding(TURNED, "view-turned", "Art. 7", Severity.MAJOR,
                        "preset 1 view turned 3.2° right", preset="1", pan_deg=3.2,
                        tilt_deg=-0.1),
                finding(TURNED, "view-turned", "Art. 7", Severity.MAJOR,
                        "preset 2 view turned 2.9° right", preset="2", pan_deg=2.9),
                finding(TURNED, "retention", "Art. 16(5)", Severity.MINOR,
                        "recording kept 30 days; class 1 needs 90", days=30, required=90),
                finding(TURNED, "clock", "Art. 17", Severity.MINOR,
                        "clock 42 s ahead", offset_s=42.0),
            ),
            views=(
                ViewEvidence(name="preset:1", baseline_position=PtzVector(pan=10, tilt=-5),
                             current_position=PtzVector(pan=10, tilt=-5),
                             baseline_image=digest(base), current_image=digest(turned),
                             pan_deg=3.2, tilt_deg=-0.1, grid=(8, 6), blur_ratio=0.97,
                             verdicts=("turned",)),
                ViewEvidence(name="preset:2", baseline_image=LOST_IMAGE,
                             current_image=digest(turned), pan_deg=2.9, tilt_deg=0.0,
                             grid=(8, 6), verdicts=("turned",)),
            ),
        ),
        CameraAudit(
            camera=OBSTRUCTED, name="水塔街", address="10.20.1.13", filed_address="10.20.1.13",
            serial="DS-A1003", filed_position=_at(30.57950, 114.28850),
            observed_position=_at(30.57950, 114.28850), status="findings",
            findings=(
                finding(OBSTRUCTED, "view-obstructed", "Art. 12", Severity.MAJOR,
                        "view 17% obstructed, lower right", share=0.17),
                finding(OBSTRUCTED, "prohibited-site", "Art. 18", Severity.CRITICAL,
                        "filed site category is a changing room", category="prohibited:4"),
            ),
            views=(ViewEvidence(name="home", baseline_image=digest(obs_base),
                                current_image=digest(obs_now), pan_deg=0.0, tilt_deg=0.0,
                                obstructed_share=8 / 48, obstructed_where="lower right",
                                obstructed_tiles=((6, 4), (7, 4), (5, 5), (6, 5), (7, 5),
                                                  (4, 5), (5, 4), (4, 4)),
                                grid=(8, 6), blur_ratio=0.9, verdicts=("obstructed",)),),
        ),
        CameraAudit(
            camera=MOVED, name="前进五路", address="10.20.1.14", filed_address="10.20.1.14",
            serial="DS-A1004", filed_position=moved_filed, observed_position=moved_seen,
            status="findings",
            findings=(finding(MOVED, "moved", "Art. 10", Severity.CRITICAL,
                              "observed 300 m from the filed position, no move filing",
                              distance_m=round(moved_filed.distance_to(moved_seen), 1),
                              source="GeoLocation"),),
        ),
        CameraAudit(
            camera=REMOVED, name="民意四路", filed_address="10.20.1.15", serial="DS-A1005",
            filed_position=_at(30.58200, 114.28700), status="removed", missed_audits=3,
            findings=(finding(REMOVED, "removed", "Art. 10", Severity.CRITICAL,
                              "no answer in 3 audits and no removal filing", missed=3),),
        ),
        CameraAudit(
            camera=REPLACED, name="友谊路", address="10.20.1.16", filed_address="10.20.1.16",
            serial="DS-B7777", filed_position=_at(30.57900, 114.29150),
            observed_position=_at(30.57900, 114.29150), status="findings",
            findings=(finding(REPLACED, "replaced", "Art. 10", Severity.CRITICAL,
                              "another unit answers at the filed address",
                              filed_serial="DS-A1006", serial="DS-B7777"),),
            differences={"serial": ("DS-A1006", "DS-B7777"),
                         "mac": ("44:19:b6:00:10:06", "44:19:b6:77:77:77"),
                         "firmware": ("V5.7.3", None)},
        ),
        CameraAudit(
            camera=UNFILED, name=UNTRUSTED_NAME, address="10.20.1.99",
            serial="=HYPERLINK(\"http://evil\")", observed_position=_at(30.58050, 114.29200),
            status="unfiled",
            findings=(finding(UNFILED, "unfiled", "Art. 9", Severity.MINOR,
                              "camera on the network has no filing", address="10.20.1.99"),),
        ),
        CameraAudit(
            camera=SILENT, name="六渡桥", filed_address="10.20.1.18", serial="DS-A1008",
            filed_position=_at(30.57800, 114.28950), status="not-answering", missed_audits=1,
            findings=(finding(SILENT, "not-answering", "Art. 10", Severity.INFO,
                              "did not answer (1 audit in a row)", missed=1),),
        ),
    )
    report = AuditReport(
        sweep_id=42, started_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        finished_at=datetime(2025, 3, 1, 9, 4, 30, tzinfo=UTC), operator="li.wei (quarterly)",
        settings=AuditSettings(), registry="sqlite:///var/lib/camfleet/registry.sqlite",
        targets_digest="sha256:" + "ab" * 32, cameras=cameras,
    )
    return Sample(report=report, images=images)
