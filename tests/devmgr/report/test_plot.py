"""The position map: a marker per placed camera, an arrow for the moved one, a true scale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree, html

from camfleet.model import GeoPosition
from devmgr.compliance.model import CameraAudit
from devmgr.report._plot import position_plot

from .factory import MOVED, REMOVED, REPLACED, SILENT, UNFILED, Sample


@pytest.fixture(scope="module")
def svg(written: dict[str, Path]) -> html.HtmlElement:
    doc = html.document_fromstring(written["html"].read_text(encoding="utf-8"))
    (svg,) = doc.xpath("//section[@id='report-map']//svg[contains(@class, 'map')]")
    return svg


def _markers(svg: html.HtmlElement) -> dict[str, str]:
    return {m.get("data-camera"): m.get("class") for m in svg.xpath(".//*[@data-camera]")
            if "marker" in m.get("class", "").split()}


def test_a_marker_per_placed_camera_with_its_name(svg: html.HtmlElement,
                                                  sample: Sample) -> None:
    placed = {c.camera for c in sample.report.cameras
              if c.filed_position or c.observed_position}
    assert set(_markers(svg)) == placed
    for marker in svg.xpath(".//*[contains(@class, 'marker')]"):
        camera = sample.camera(marker.get("data-camera"))
        assert marker.findtext("title").startswith(camera.name)
        assert marker.get("href") == f"#{camera.camera}"


def test_marker_kinds(svg: html.HtmlElement) -> None:
    kinds = {key: cls.split()[1] for key, cls in _markers(svg).items()}
    assert kinds[REMOVED] == "removed"
    assert kinds[SILENT] == "not-answering"
    assert kinds[REPLACED] == "replaced"
    assert kinds[UNFILED] == "unfiled"
    assert kinds[MOVED] == "filed"


def test_moved_camera_has_an_arrow_from_filed_to_observed(svg: html.HtmlElement) -> None:
    (arrow,) = svg.xpath(".//g[@class='moved']")
    assert arrow.get("data-camera") == MOVED
    assert "300 m" in arrow.findtext("title")
    line = arrow.find("line")
    # 300 m due north: straight up on the map.
    assert float(line.get("x1")) == pytest.approx(float(line.get("x2")), abs=0.5)
    assert float(line.get("y2")) < float(line.get("y1"))


def _scale(svg: etree._Element) -> tuple[float, float]:
    """(metres, pixels) of the scale bar."""
    bar = svg.xpath(".//g[@class='scale-bar']")[0]
    xs = [float(x) for x in re.findall(r"[MH]([\d.]+)", bar.find("path").get("d"))]
    label = bar.findtext("text")
    metres = float(label.split()[0]) * (1000 if label.endswith("km") else 1)
    return metres, max(xs) - min(xs)


def test_scale_bar_matches_the_drawn_distance(svg: html.HtmlElement) -> None:
    metres, pixels = _scale(svg)
    line = svg.xpath(".//g[@class='moved']/line")[0]
    head = 10.0 + 6.0  # the line stops short of the marker radius and the arrow head
    drawn = float(line.get("y1")) - float(line.get("y2")) + head
    assert drawn / (pixels / metres) == pytest.approx(300.2, rel=0.02)


def test_one_camera_and_no_camera(sample: Sample) -> None:
    def plot(*cameras: CameraAudit) -> etree._Element:
        return position_plot(sample.report.model_copy(update={"cameras": cameras}))

    lone = plot(CameraAudit(camera="c1", name="lone", status="compliant",
                            filed_position=GeoPosition(latitude=30.5, longitude=114.3)))
    assert len(lone.xpath(".//*[@data-camera='c1']")) == 1
    assert _scale(lone)[0] > 0
    nowhere = plot(CameraAudit(camera="c2", status="removed"))
    assert nowhere.xpath(".//svg") == []
    assert "Not on the map" in "".join(nowhere.itertext())
