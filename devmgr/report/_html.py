"""The audit as one HTML page a person would rather read than the JSON.

One self-contained file: inline CSS, snapshots as ``data:`` URIs, the map as inline SVG, no
script, no external link, so it can be mailed, archived with the acceptance records (Art. 11)
and opened offline years later. Sections, in reading order:

1. **header**: when, who, which registry and targets, the tolerances, cameras per status and
   findings per severity;
2. **findings by article**: each article with its findings and links to the cameras concerned;
3. **positions**: the map of filed and observed positions (:mod:`devmgr.report._plot`);
4. **cameras needing attention** (worst first), each in a section whose id is the camera key:
   identity today vs filed, findings, configuration differences, and per view the baseline and
   today's snapshot side by side, with the estimated turn in words and the obstructed tiles
   drawn in red over today's snapshot;
5. **compliant cameras**, one table row each (id = camera key), without snapshots: a compliant
   view has nothing to look at, and it keeps a fleet's report small.

Snapshots are embedded as stored, not re-encoded, so the bytes shown are the evidence whose
SHA-256 the findings cite (the caption shows it, and flags a store that returned other bytes).
Every text comes from the models through :func:`~devmgr.report._dom.h`, which escapes it:
camera names come from devices and filing files and are treated as hostile.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from lxml import etree

from camfleet.files import write_atomic
from camfleet.model import GeoPosition, PtzVector
from devmgr.compliance.model import (
    AuditReport,
    CameraAudit,
    CameraStatus,
    Finding,
    Severity,
    ViewEvidence,
)
from devmgr.registry import mask_url
from devmgr.report._dom import Child, h, joined
from devmgr.report._media import events_table, stream_table, stream_words
from devmgr.report._plot import SAME_PLACE_M, position_plot
from devmgr.report._privacy import deidentify
from devmgr.report._style import CSS
from devmgr.report._text import (
    ARTICLE_TITLES,
    anchor_id,
    camera_label,
    describe_shift,
    format_value,
    sorted_findings,
)

__all__ = ["ImageLookup", "render_html", "write_html"]

#: SHA-256 hex digest of a snapshot -> its JPEG bytes, or ``None`` if the store does not have
#: it (``Registry.snapshot`` is one).
ImageLookup = Callable[[str], bytes | None]

_SETTINGS = {
    "position_tolerance_m": ("Position tolerance", "{:g} m"),
    "view_tolerance_deg": ("View tolerance", "{:g}°"),
    "ptz_tolerance_deg": ("PTZ tolerance", "{:g}°"),
    "clock_tolerance_s": ("Clock tolerance", "{:g} s"),
    "removed_after": ("Removed after", "{} audits without an answer"),
}

_IMAGE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def write_html(report: AuditReport, path: str | Path, *,
               images: ImageLookup | None = None, identifiable: bool = False) -> Path:
    """Write the HTML report to ``path``, atomically; ``images`` supplies the snapshots,
    de-identified (``_privacy``) unless ``identifiable``."""
    return write_atomic(path, render_html(report, images=images,
                                          identifiable=identifiable).encode())


def render_html(report: AuditReport, *, images: ImageLookup | None = None,
                identifiable: bool = False) -> str:
    """The HTML report as a string (what :func:`write_html` writes)."""
    root = _Page(report, images, identifiable=identifiable).render()
    return etree.tostring(root, method="html", encoding="unicode", doctype="<!DOCTYPE html>")


@dataclass(frozen=True)
class _Image:
    uri: str = ""
    #: Why there is no image, in words; empty when there is one.
    missing: str = ""
    digest_mismatch: bool = False
    #: Pixelated for the report (Art. 21): the block size in pixels; 0: as taken.
    block_px: int = 0


class _Page:
    """Renders one report; keeps the encoded snapshots so a digest used twice is encoded once."""

    def __init__(self, report: AuditReport, images: ImageLookup | None, *,
                 identifiable: bool = False) -> None:
        self.report = report
        self.images = images
        self.identifiable = identifiable
        self.cameras = {c.camera: c for c in report.cameras}
        self._encoded: dict[tuple[str, float | None], _Image] = {}

    def render(self) -> etree._Element:
        report = self.report
        attention = sorted((c for c in report.cameras if _needs_attention(c)),
                           key=_urgency)
        compliant = [c for c in report.cameras if not _needs_attention(c)]
        body = h("body",
                 _header(report),
                 h("nav", joined([h("a", "Findings by article", href="#report-articles"),
                                  h("a", "Positions", href="#report-map"),
                                  h("a", "Cameras needing attention", href="#report-cameras"),
                                  h("a", "Compliant cameras", href="#report-compliant")],
                                 " · ")),
                 self._articles(),
                 h("section", h("h2", "Positions"), position_plot(report), id="report-map"),
                 h("section", h("h2", f"Cameras needing attention ({len(attention)})"),
                   [self._camera(c) for c in attention] or h("p", "None."),
                   id="report-cameras"),
                 h("section", h("h2", f"Compliant cameras ({len(compliant)})"),
                   _compliant_table(compliant), id="report-compliant"),
                 h("footer", "Written by camfleet. Snapshots are embedded exactly as stored; "
                             "the SHA-256 under each is the one the findings cite."))
        head = h("head", h("meta", charset="utf-8"),
                 h("meta", name="viewport", content="width=device-width, initial-scale=1"),
                 h("title", f"camfleet audit {_when(report.started_at)}"),
                 h("style", CSS))
        return h("html", head, body, lang="en")

    # -- findings by article ----------------------------------------------------------------

    def _articles(self) -> etree._Element:
        by_article = self.report.by_article()
        if not by_article:
            return h("section", h("h2", "Findings by article"), h("p", "No findings."),
                     id="report-articles")
        rows = [h("tr", h("th", "Article"), h("th", "What it asks"), h("th", "Findings"),
                  h("th", "Rules"), h("th", "Cameras concerned"))]
        for article, findings in by_article.items():
            counts = Counter(f.severity for f in findings)
            severities = [_badge(f"{counts[s]} {s.value}", f"sev-{s.value}")
                          for s in Severity if counts[s]]
            keys = list(dict.fromkeys(f.camera for f in findings))
            rules = sorted({f.rule for f in findings})
            rows.append(h("tr", h("th", article, scope="row"),
                           h("td", ARTICLE_TITLES.get(article, "")),
                           h("td", str(len(findings)), " ", severities),
                           h("td", ", ".join(rules)),
                           h("td", joined([self._link(k) for k in keys])),
                           data_article=article))
        return h("section", h("h2", "Findings by article"), h("table", rows, cls="articles"),
                 id="report-articles")

    def _link(self, key: str) -> etree._Element:
        camera = self.cameras.get(key)
        return h("a", camera_label(camera) if camera else key, href="#" + anchor_id(key))

    # -- one camera -------------------------------------------------------------------------

    def _camera(self, camera: CameraAudit) -> etree._Element:
        return h("section",
                 h("h3", camera_label(camera), " ", _status_badge(camera),
                   [" ", _worst_badge(camera)] if camera.findings else None),
                 _identity_table(camera),
                 _findings_table(camera.findings),
                 _differences_table(camera.differences),
                 stream_table(camera),
                 events_table(camera),
                 [self._view(v) for v in camera.views],
                 id=anchor_id(camera.camera), cls=f"camera st-{camera.status}",
                 data_camera=camera.camera)

    def _view(self, view: ViewEvidence) -> etree._Element:
        verdicts = [_badge(v, "verdict-ok" if v == "ok" else "verdict-bad")
                    for v in view.verdicts]
        facts = [("Turn", describe_shift(view)),
                 ("PTZ position", f"baseline {_ptz(view.baseline_position)}; "
                                  f"today {_ptz(view.current_position)}"),
                 ("Blur ratio", _blur(view)),
                 ("Obstructed", _obstruction(view)),
                 ("Judged against", _references(view)),
                 ("Judged with", f"field of view {view.hfov_deg:.2f}°"
                  if view.hfov_deg is not None else None),
                 ("Frames", f"{1 + len(view.frames)} (later: "
                            f"{', '.join(d[:12] for d in view.frames)})"
                  if view.frames else None),
                 ("Reason", view.reason or None)]
        return h("div",
                 h("h4", "View ", h("code", view.name), " ", verdicts),
                 h("div", self._snapshot("Baseline", view.baseline_image, view, tiles=False),
                   self._snapshot("Today", view.current_image, view, tiles=True),
                   self._snapshot("Good view in like light", view.light_reference, view,
                                  tiles=False) if view.light_reference else None,
                   cls="pair"),
                 _table([h("tr", h("th", k, scope="row"), h("td", v)) for k, v in facts
                         if v is not None], cls="facts"),
                 cls="view")

    def _snapshot(self, label: str, digest: str, view: ViewEvidence, *,
                  tiles: bool) -> etree._Element:
        image = self._image(digest, view.hfov_deg)
        if image.uri:
            content: etree._Element = h("img", src=image.uri,
                                        alt=f"{view.name}: {label.lower()}")
        else:
            content = h("div", h("strong", "no snapshot"), h("br"), f"({image.missing})",
                        cls="placeholder")
        overlay = _tile_overlay(view) if tiles else None
        caption: list[Child] = [label]
        if digest:
            caption += [" · sha256 ", h("code", digest[:12] + "…", title=digest)]
        if image.block_px:
            caption += [" · de-identified (blocks of ", str(image.block_px), " px)"]
        if image.digest_mismatch:
            caption += [" ", _badge("bytes do not match this digest", "sev-critical")]
        return h("figure", h("div", content, overlay, cls="frame"), h("figcaption", caption),
                 cls="snapshot")

    def _image(self, digest: str, hfov_deg: float | None) -> _Image:
        if not digest:
            return _Image(missing="not taken")
        key = (digest, hfov_deg)
        if key not in self._encoded:
            self._encoded[key] = self._load(digest, hfov_deg)
        return self._encoded[key]

    def _load(self, digest: str, hfov_deg: float | None) -> _Image:
        data = self.images(digest) if self.images is not None else None
        if data is None:
            return _Image(missing="not in the snapshot store" if self.images is not None
                          else "snapshots not supplied to the report")
        mime = next((m for magic, m in _IMAGE_MAGIC if data.startswith(magic)), None)
        if mime is None:
            return _Image(missing="stored bytes are not a JPEG or PNG image")
        mismatch = hashlib.sha256(data).hexdigest() != digest.lower()
        block_px = 0
        if not self.identifiable:  # Art. 21: nothing recognisable leaves the registry
            try:
                (data, block_px), mime = deidentify(data, hfov_deg), "image/png"
            except ValueError as exc:
                return _Image(missing=f"not shown: it cannot be de-identified ({exc})",
                              digest_mismatch=mismatch)
        return _Image(uri=f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}",
                      digest_mismatch=mismatch, block_px=block_px)


# -- header ---------------------------------------------------------------------------------


def _header(report: AuditReport) -> etree._Element:
    worst = report.worst
    verdict = (_badge("no findings", "st-compliant") if worst is None
               else _badge(f"worst finding: {worst.value}", f"sev-{worst.value}"))
    duration = (report.finished_at - report.started_at).total_seconds()
    facts = [
        ("When", f"{_when(report.started_at)} to {_when(report.finished_at)} "
                 f"({_duration(duration)})"),
        ("Operator", report.operator or "—"),
        ("Registry", mask_url(report.registry) or "—"),
        ("Sweep", "—" if report.sweep_id is None else str(report.sweep_id)),
        ("Targets", report.targets_digest or "—"),
    ]
    settings = [(_SETTINGS.get(name, (name, "{}"))[0],
                 _SETTINGS.get(name, (name, "{}"))[1].format(value))
                for name, value in report.settings.model_dump().items()]
    statuses = Counter(c.status for c in report.cameras)
    severities = Counter(f.severity for f in report.findings)
    return h("header",
             h("h1", "Compliance audit ", verdict),
             h("div",
               _table([h("tr", h("th", k, scope="row"), h("td", v)) for k, v in facts],
                      cls="facts"),
               _table([h("tr", h("th", k, scope="row"), h("td", v)) for k, v in settings],
                      cls="facts tolerances", caption="Tolerances"),
               cls="columns"),
             h("p", f"{len(report.cameras)} cameras: ",
               [[_badge(f"{statuses[s]} {s}", f"st-{s}"), " "]
                for s in get_args(CameraStatus) if statuses[s]], cls="counts"),
             h("p", f"{len(report.findings)} findings: ",
               [[_badge(f"{severities[s]} {s.value}", f"sev-{s.value}"), " "]
                for s in Severity if severities[s]], cls="counts"))


# -- camera parts ---------------------------------------------------------------------------


def _identity_table(camera: CameraAudit) -> etree._Element:
    address_differs = bool(camera.address and camera.filed_address
                           and camera.address != camera.filed_address)
    rows: list[tuple[str, str, bool]] = [
        ("Key", camera.camera, False),
        ("Status", camera.status, False),
        ("Name", camera.name or "—", False),
        ("Address today", camera.address or "did not answer", address_differs),
        ("Filed address", camera.filed_address or "—", address_differs),
        ("Serial", camera.serial or "—", False),
        ("Filed position", _position(camera.filed_position), False),
        ("Observed position", _observed(camera), _moved(camera)),
    ]
    if camera.target_id:
        rows.insert(1, ("Target", camera.target_id, False))
    if camera.missed_audits:
        rows.append(("Missed audits", f"{camera.missed_audits} in a row", False))
    return _table([h("tr", h("th", k, scope="row"), h("td", v), cls="differs" if d else None)
                   for k, v, d in rows], cls="facts identity")


def _findings_table(findings: tuple[Finding, ...]) -> etree._Element | None:
    if not findings:
        return None
    header = h("tr", [h("th", t) for t in ("Severity", "Rule", "Article", "Message",
                                            "Evidence")])
    rows = [h("tr", h("td", _badge(f.severity.value, f"sev-{f.severity.value}")),
              h("td", f.rule), h("td", f.article), h("td", f.message),
              h("td", _evidence(f.evidence), cls="evidence"))
            for f in sorted_findings(findings)]
    return _table([header, *rows], cls="findings", caption="Findings")


def _differences_table(differences: dict[str, tuple[Any, Any]]) -> etree._Element | None:
    if not differences:
        return None
    header = h("tr", h("th", "Field"), h("th", "Baseline"), h("th", "Today"))
    rows = [h("tr", h("th", name, scope="row"), h("td", format_value(before)),
              h("td", format_value(after)))
            for name, (before, after) in sorted(differences.items())]
    return _table([header, *rows], cls="differences",
                  caption="Identity and configuration: baseline vs today")


def _evidence(evidence: dict[str, Any]) -> list[Child]:
    return [h("div", h("span", key, cls="k"), " ", format_value(value))
            for key, value in sorted(evidence.items())]


def _references(view: ViewEvidence) -> str | None:
    """What the view was compared with: the commissioning baseline, and the good view in like
    light a suspected obstruction was also judged against (digests, as in the audit log)."""
    if not view.baseline_image:
        return None
    said = f"commissioning baseline {view.baseline_image[:12]}"
    if view.light_reference:
        said += (f"; for obstruction also the good view in like light "
                 f"{view.light_reference[:12]} (commissioning's second frame or an earlier "
                 "audit's healthy view)")
    return said


def _tile_overlay(view: ViewEvidence) -> etree._Element | None:
    cols, rows = view.grid
    tiles = [(c, r) for c, r in view.obstructed_tiles if 0 <= c < cols and 0 <= r < rows]
    if not tiles:
        return None
    return h("svg", h("title", f"obstructed: {len(tiles)} of {cols}×{rows} tiles"),
             [h("rect", x=c, y=r, width=1, height=1, fill="#e03131", fill_opacity=0.4,
                stroke="#c92a2a", stroke_width=0.03) for c, r in tiles],
             viewBox=f"0 0 {cols} {rows}", preserveAspectRatio="none", cls="tiles")


def _blur(view: ViewEvidence) -> str:
    if view.blur_ratio is None or not math.isfinite(view.blur_ratio):
        return "—"
    return f"{view.blur_ratio:.2f} (sharpness today / baseline)"


def _obstruction(view: ViewEvidence) -> str:
    if not math.isfinite(view.obstructed_share):  # the comparison could not judge the view
        return "not judged"
    if not view.obstructed_tiles and not view.obstructed_share:
        return "no"
    where = f", {view.obstructed_where}" if view.obstructed_where else ""
    cols, rows = view.grid
    return (f"{view.obstructed_share:.0%} of the frame{where} "
            f"({len(view.obstructed_tiles)} of {cols * rows} tiles, shown in red)")


def _compliant_table(cameras: list[CameraAudit]) -> etree._Element:
    if not cameras:
        return h("p", "None.")
    header = h("tr", [h("th", t) for t in ("Camera", "Name", "Address", "Serial", "Views",
                                            "Main stream")])
    rows = [h("tr", h("td", h("code", c.camera)), h("td", c.name or "—"),
              h("td", c.address or "—"), h("td", c.serial or "—"),
              h("td", ", ".join(v.name for v in c.views) or "—"), h("td", stream_words(c)),
              id=anchor_id(c.camera))
            for c in cameras]
    return _table([header, *rows], cls="compliant")


# -- small pieces ---------------------------------------------------------------------------


def _needs_attention(camera: CameraAudit) -> bool:
    return camera.status != "compliant" or bool(camera.findings)


def _urgency(camera: CameraAudit) -> int:
    ranks = [f.severity.rank for f in camera.findings]
    return min(ranks) if ranks else len(Severity)


def _table(rows: list[etree._Element], *, cls: str,
           caption: str | None = None) -> etree._Element:
    return h("table", h("caption", caption) if caption else None, rows, cls=cls)


def _badge(text: str, cls: str) -> etree._Element:
    return h("span", text, cls=f"badge {cls}")


def _status_badge(camera: CameraAudit) -> etree._Element:
    return _badge(camera.status, f"st-{camera.status}")


def _worst_badge(camera: CameraAudit) -> etree._Element:
    worst = min((f.severity for f in camera.findings), key=lambda s: s.rank)
    return _badge(worst.value, f"sev-{worst.value}")


def _position(position: GeoPosition | None) -> str:
    if position is None:
        return "—"
    return f"{position.latitude:.6f}, {position.longitude:.6f}"


def _observed(camera: CameraAudit) -> str:
    text = _position(camera.observed_position)
    if camera.filed_position and camera.observed_position:
        distance = camera.filed_position.distance_to(camera.observed_position)
        text += (" (the filed position)" if distance < SAME_PLACE_M
                 else f" ({distance:,.0f} m from the filed position)")
    return text


def _moved(camera: CameraAudit) -> bool:
    filed, observed = camera.filed_position, camera.observed_position
    return bool(filed and observed and filed.distance_to(observed) >= SAME_PLACE_M)


def _ptz(position: PtzVector | None) -> str:
    if position is None:
        return "—"
    return f"pan {position.pan:.1f}°, tilt {position.tilt:.1f}°, zoom {position.zoom:.2f}"


def _when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
