"""Where the cameras are: filed and observed positions on one small inline SVG map.

A moved or removed camera is a question of place (Art. 10), and a table of coordinates hides
it; a map shows at a glance which unit walked off and how far. The map has no tiles (the
report must stay self-contained and work offline): positions are projected
equirectangularly around the centre of their bounding box, x = R·Δλ·cos φ0, y = R·Δφ, on
the sphere :meth:`GeoPosition.distance_to` uses. Over a few kilometres that agrees with the
distances the findings quote to better than 0.01 % (0.3 % to the WGS-84 ellipsoid: a metre on
300 m, below GNSS noise), so the metre scale bar can be trusted.

Markers: a filed position is a dot in the colour of the camera's worst finding; an observed
position that differs from the filed one by more than a metre is reached by an arrow from the
filed dot (solid red beyond the audit's position tolerance: moved; dashed grey within it);
a removed unit is an X, a camera that did not answer a hollow circle, a replaced unit a
diamond, and a camera with no filing a square at its observed position. Each marker links to
the camera's section and has a ``<title>`` tooltip with its name; cameras needing attention
are also labelled, since a printed page has no tooltips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lxml import etree

from camfleet.model import GeoPosition
from devmgr.compliance.model import AuditReport, CameraAudit, Severity
from devmgr.report._dom import h, joined
from devmgr.report._text import anchor_id, camera_label

__all__ = [
    "COMPLIANT_COLOUR",
    "SAME_PLACE_M",
    "SEVERITY_COLOURS",
    "UNKNOWN_COLOUR",
    "camera_colour",
    "position_plot",
]

_EARTH_RADIUS_M = 6_371_008.8
_WIDTH = 800.0
_MARGIN = 40.0
#: The smallest extent drawn, so one camera (or a tight cluster) is not blown up to 800 px.
_MIN_SPAN_M = 100.0
#: Observed positions closer than this to the filed one are the same place (GNSS noise).
SAME_PLACE_M = 1.0
_R = 6.0
#: Up to this many cameras needing attention are labelled on the map (a printed page has no
#: tooltips); beyond it labels would only hide each other.
_MAX_LABELS = 40

SEVERITY_COLOURS = {
    "critical": "#b00020",
    "major": "#d9480f",
    "minor": "#b08800",
    "info": "#1c6dd0",
}
COMPLIANT_COLOUR = "#2b8a3e"
UNKNOWN_COLOUR = "#6c757d"


def camera_colour(camera: CameraAudit) -> str:
    """The colour of the camera's worst finding; green when compliant, grey otherwise."""
    if camera.findings:
        worst = min((f.severity for f in camera.findings), key=lambda s: s.rank)
        return SEVERITY_COLOURS[worst.value]
    return COMPLIANT_COLOUR if camera.status == "compliant" else UNKNOWN_COLOUR


@dataclass(frozen=True)
class _Projection:
    """Metres east/north of the bounding-box centre, scaled into the SVG's pixels."""

    lat0: float
    lon0: float
    scale: float  # pixels per metre
    width: float
    height: float

    def metres(self, p: GeoPosition) -> tuple[float, float]:
        x = math.radians(p.longitude - self.lon0) * _EARTH_RADIUS_M * math.cos(
            math.radians(self.lat0))
        return x, math.radians(p.latitude - self.lat0) * _EARTH_RADIUS_M

    def pixels(self, p: GeoPosition) -> tuple[float, float]:
        x, y = self.metres(p)
        return self.width / 2 + x * self.scale, self.height / 2 - y * self.scale


def position_plot(report: AuditReport) -> etree._Element:
    """A ``<div>`` with the map, its legend, and the cameras that have no position."""
    placed = [c for c in report.cameras if c.filed_position or c.observed_position]
    unplaced = [c for c in report.cameras if c not in placed]
    parts: list[etree._Element] = []
    if placed:
        projection = _fit([p for c in placed for p in (c.filed_position, c.observed_position)
                           if p is not None])
        parts += [_svg(placed, projection, report.settings.position_tolerance_m), _legend()]
    else:
        parts.append(h("p", "No camera has a filed or observed position."))
    if unplaced:
        links = [h("a", camera_label(c), href="#" + anchor_id(c.camera)) for c in unplaced]
        parts.append(h("p", "Not on the map (no position filed or observed): ",
                       joined(links), cls="unplaced"))
    return h("div", parts, cls="plot")


def _fit(points: list[GeoPosition]) -> _Projection:
    lats = [p.latitude for p in points]
    lons = [p.longitude for p in points]
    probe = _Projection((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2, 1.0, 0, 0)
    xy = [probe.metres(p) for p in points]
    span_x = max(max(x for x, _ in xy) - min(x for x, _ in xy), _MIN_SPAN_M)
    span_y = max(max(y for _, y in xy) - min(y for _, y in xy), _MIN_SPAN_M)
    inner_w = _WIDTH - 2 * _MARGIN
    height = min(max(inner_w * span_y / span_x + 2 * _MARGIN, 280.0), 600.0)
    scale = min(inner_w / span_x, (height - 2 * _MARGIN) / span_y)
    return _Projection(probe.lat0, probe.lon0, scale, _WIDTH, height)


def _svg(cameras: list[CameraAudit], proj: _Projection, tolerance_m: float) -> etree._Element:
    arrows = [_arrow(c, proj, tolerance_m) for c in cameras]
    # The most urgent last, so it is drawn on top where markers overlap.
    labelled = sum(1 for c in cameras if _needs_label(c)) <= _MAX_LABELS
    markers = [_marker(c, proj, label=labelled and _needs_label(c))
               for c in sorted(cameras, key=_urgency, reverse=True)]
    return h("svg", h("title", "Camera positions: filed and observed"),
             h("rect", x=0, y=0, width=proj.width, height=proj.height, cls="map-bg"),
             arrows, markers, _scale_bar(proj), _north(proj),
             viewBox=f"0 0 {proj.width:.0f} {proj.height:.0f}", cls="map", role="img")


def _needs_label(camera: CameraAudit) -> bool:
    return camera.status != "compliant" or bool(camera.findings)


def _marker(camera: CameraAudit, proj: _Projection, *, label: bool) -> etree._Element:
    position = camera.filed_position or camera.observed_position
    assert position is not None  # only placed cameras get here
    x, y = proj.pixels(position)
    colour = camera_colour(camera)
    kind = _kind(camera)
    tooltip = f"{camera_label(camera)} — {camera.status} ({camera.camera})"
    text = h("text", camera_label(camera), x=x + 10, y=y + 4, cls="label") if label else None
    return h("a", h("title", tooltip), _symbol(kind, x, y, colour), text,
             href="#" + anchor_id(camera.camera), cls=f"marker {kind}", data_camera=camera.camera)


def _urgency(camera: CameraAudit) -> int:
    return min((f.severity.rank for f in camera.findings), default=len(Severity))


def _kind(camera: CameraAudit) -> str:
    rules = {f.rule for f in camera.findings}
    if camera.status == "removed" or "removed" in rules:
        return "removed"
    if camera.status == "not-answering":
        return "not-answering"
    if "replaced" in rules:
        return "replaced"
    if camera.status == "unfiled" or camera.filed_position is None:
        return "unfiled"
    return "filed"


def _symbol(kind: str, x: float, y: float, colour: str) -> etree._Element:
    r = _R
    if kind == "removed":
        return h("path", d=f"M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}"
                           f"M{x - r:.1f},{y + r:.1f}L{x + r:.1f},{y - r:.1f}",
                 stroke=colour, stroke_width=3, fill="none")
    if kind == "not-answering":
        return h("circle", cx=x, cy=y, r=r, fill="#ffffff", stroke=colour, stroke_width=2.5)
    if kind == "replaced":
        d = r * 1.4
        return h("path", d=f"M{x:.1f},{y - d:.1f}L{x + d:.1f},{y:.1f}L{x:.1f},{y + d:.1f}"
                           f"L{x - d:.1f},{y:.1f}Z", fill=colour, stroke="#ffffff")
    if kind == "unfiled":
        return h("rect", x=x - r, y=y - r, width=2 * r, height=2 * r, fill=colour,
                 stroke="#ffffff")
    return h("circle", cx=x, cy=y, r=r, fill=colour, stroke="#ffffff", stroke_width=1.5)


def _arrow(camera: CameraAudit, proj: _Projection,
           tolerance_m: float) -> etree._Element | None:
    filed, observed = camera.filed_position, camera.observed_position
    if filed is None or observed is None:
        return None
    distance = filed.distance_to(observed)
    if distance < SAME_PLACE_M:
        return None
    moved = distance > tolerance_m
    (x0, y0), (x1, y1) = proj.pixels(filed), proj.pixels(observed)
    length = math.hypot(x1 - x0, y1 - y0)
    colour = SEVERITY_COLOURS["critical"] if moved else UNKNOWN_COLOUR
    title = h("title", f"{camera_label(camera)}: observed {distance:,.0f} m from its filed "
                       "position")
    if length < 2 * _R:  # too short to draw an arrow at this scale: the tooltip still says it
        return h("g", title, cls="moved" if moved else "drift", data_camera=camera.camera)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head = 10.0
    bx, by = x1 - ux * head, y1 - uy * head
    tip = f"M{x1:.1f},{y1:.1f}L{bx - uy * head / 2:.1f},{by + ux * head / 2:.1f}" \
          f"L{bx + uy * head / 2:.1f},{by - ux * head / 2:.1f}Z"
    return h("g", title,
             h("line", x1=x0 + ux * _R, y1=y0 + uy * _R, x2=bx, y2=by, stroke=colour,
               stroke_width=2.5, stroke_dasharray=None if moved else "5 4"),
             h("path", d=tip, fill=colour),
             cls="moved" if moved else "drift", data_camera=camera.camera)


def _scale_bar(proj: _Projection) -> etree._Element:
    target_m = (proj.width / 5) / proj.scale
    length_m = _nice_length(target_m)
    px = length_m * proj.scale
    x0, y0 = _MARGIN / 2, proj.height - _MARGIN / 2
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    return h("g",
             h("path", d=f"M{x0:.1f},{y0 - 5:.1f}V{y0:.1f}H{x0 + px:.1f}V{y0 - 5:.1f}",
               fill="none", stroke="#222222", stroke_width=2),
             h("text", label, x=x0 + px / 2, y=y0 - 8, text_anchor="middle"),
             cls="scale-bar")


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``metres``."""
    magnitude = 10.0 ** math.floor(math.log10(metres))
    return max(m * magnitude for m in (1, 2, 5) if m * magnitude <= metres)


def _north(proj: _Projection) -> etree._Element:
    x, y = proj.width - _MARGIN / 2, _MARGIN / 2
    return h("g", h("path", d=f"M{x:.1f},{y - 12:.1f}L{x + 5:.1f},{y + 2:.1f}"
                              f"L{x - 5:.1f},{y + 2:.1f}Z", fill="#222222"),
             h("text", "N", x=x, y=y + 16, text_anchor="middle"), cls="north")


def _legend() -> etree._Element:
    items = [
        ("filed", "filed position (colour: worst finding; green: compliant)"),
        ("moved", "observed elsewhere, beyond tolerance (moved)"),
        ("drift", "observed elsewhere, within tolerance"),
        ("removed", "removed"),
        ("not-answering", "not answering"),
        ("replaced", "replaced by another unit"),
        ("unfiled", "not filed (observed position)"),
    ]
    return h("ul", [h("li", _legend_icon(kind), " ", text) for kind, text in items],
             cls="legend")


def _legend_icon(kind: str) -> etree._Element:
    if kind in {"moved", "drift"}:
        colour = SEVERITY_COLOURS["critical"] if kind == "moved" else UNKNOWN_COLOUR
        body = [h("line", x1=1, y1=8, x2=11, y2=8, stroke=colour, stroke_width=2.5,
                  stroke_dasharray=None if kind == "moved" else "3 2"),
                h("path", d="M16,8L10,4.5L10,11.5Z", fill=colour)]
    else:
        colour = COMPLIANT_COLOUR if kind == "filed" else UNKNOWN_COLOUR
        body = [_symbol(kind, 8, 8, colour)]
    return h("svg", body, viewBox="-2 -2 20 20", width=16, height=16, cls="icon",
             aria_hidden="true")

