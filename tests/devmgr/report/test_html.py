"""The HTML report as a person (and a browser) sees it: self-contained, escaped, with evidence."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np
import pytest
from lxml import html

from devmgr.compliance.model import CameraAudit, ViewEvidence
from devmgr.report import render_html
from devmgr.report._privacy import block_size

from .factory import (
    COMPLIANT,
    LOST_IMAGE,
    MOVED,
    OBSTRUCTED,
    SILENT,
    TURNED,
    UNFILED,
    UNTRUSTED_NAME,
    Sample,
    digest,
    jpeg,
)


@pytest.fixture(scope="module")
def text(written: dict[str, Path]) -> str:
    return written["html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(text: str) -> html.HtmlElement:
    return html.document_fromstring(text)


def _section(doc: html.HtmlElement, key: str) -> html.HtmlElement:
    (element,) = doc.xpath("//*[@id=$k]", k=key)
    return element


def test_self_contained(text: str, doc: html.HtmlElement) -> None:
    assert text.startswith("<!DOCTYPE html>")
    lowered = text.lower()
    for reference in ('src="http', "src='http", "<link", "<script", "@import", "url(http"):
        assert reference not in lowered
    assert all(src.startswith("data:image/") for src in doc.xpath("//img/@src"))
    assert all(href.startswith("#") for href in doc.xpath("//a/@href"))


def test_untrusted_name_is_shown_not_run(text: str, doc: html.HtmlElement) -> None:
    assert UNTRUSTED_NAME not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert doc.xpath("//script") == []
    assert _section(doc, UNFILED).findtext(".//h3").startswith(UNTRUSTED_NAME)


def test_every_camera_has_an_anchor(doc: html.HtmlElement, sample: Sample) -> None:
    for camera in sample.report.cameras:
        _section(doc, camera.camera)
    assert _section(doc, COMPLIANT).tag == "tr"  # compliant cameras: one compact row


def test_header_says_when_who_and_how_strict(doc: html.HtmlElement) -> None:
    header = doc.find(".//header").text_content()
    for expected in ("2025-03-01 09:00:00", "li.wei (quarterly)", "registry.sqlite",
                     "Position tolerance", "25 m", "1 compliant", "1 removed", "4 critical",
                     "1 info", "worst finding: critical"):
        assert expected in header


def test_article_summary_links_the_cameras_concerned(doc: html.HtmlElement,
                                                     sample: Sample) -> None:
    rows = {r.get("data-article"): r for r in doc.xpath("//table[@class='articles']//tr")
            if r.get("data-article")}
    assert list(rows) == list(sample.report.by_article())
    assert {"Art. 7", "Art. 9", "Art. 10", "Art. 12", "Art. 16(5)", "Art. 17",
            "Art. 18"} == set(rows)
    art10 = rows["Art. 10"]
    counts = art10.xpath("td[2]")[0]
    assert counts.text.strip() == "4"
    assert [b.text for b in counts.iter("span")] == ["3 critical", "1 info"]
    assert f"#{MOVED}" in art10.xpath(".//a/@href")


def _shown(section: html.HtmlElement) -> list[bytes]:
    return [base64.b64decode(uri.split(",", 1)[1])
            for uri in section.xpath(".//div[@class='view'][1]//img/@src")]


def test_turned_view_in_words_and_both_snapshots_de_identified(doc: html.HtmlElement,
                                                               sample: Sample) -> None:
    section = _section(doc, TURNED)
    assert "turned 3.2° right, 0.1° down" in section.text_content()
    assert "pan +3.2°, tilt -0.1°" in section.text_content()
    view = sample.camera(TURNED).views[0]
    originals = [sample.images[view.baseline_image], sample.images[view.current_image]]
    shown = _shown(section)
    assert len(shown) == 2
    for data, original in zip(shown, originals, strict=True):
        assert digest(data) not in sample.images  # not the stored bytes: pixelated
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        taken = cv2.imdecode(np.frombuffer(original, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == taken.shape  # the tiles drawn over it still fit
        block = block_size(taken.shape[1], view.hfov_deg)
        assert f"de-identified (blocks of {block} px)" in section.text_content()


def test_an_authorised_report_shows_the_snapshots_as_taken(sample: Sample) -> None:
    page = html.document_fromstring(render_html(sample.report, images=sample.images.get,
                                                identifiable=True))
    view = sample.camera(TURNED).views[0]
    assert _shown(_section(page, TURNED)) == [sample.images[view.baseline_image],
                                              sample.images[view.current_image]]


def test_lost_snapshot_shows_a_placeholder(doc: html.HtmlElement) -> None:
    second_view = _section(doc, TURNED).xpath(".//div[@class='view'][2]")[0]
    (placeholder,) = second_view.xpath(".//div[@class='placeholder']")
    assert "no snapshot" in placeholder.text_content()
    assert LOST_IMAGE in second_view.xpath(".//figcaption/code/@title")
    assert len(second_view.xpath(".//img")) == 1  # today's is still there


def test_obstructed_tiles_drawn_over_todays_snapshot(doc: html.HtmlElement,
                                                     sample: Sample) -> None:
    view = sample.camera(OBSTRUCTED).views[0]
    frames = _section(doc, OBSTRUCTED).xpath(".//div[@class='frame']")
    assert frames[0].xpath(".//svg") == []  # the baseline is left clean
    (overlay,) = frames[1].xpath(".//svg[@class='tiles']")
    assert overlay.get("viewbox", overlay.get("viewBox")) == "0 0 8 6"
    drawn = {(int(r.get("x")), int(r.get("y"))) for r in overlay.iter("rect")}
    assert drawn == set(view.obstructed_tiles)


def test_replaced_camera_shows_what_changed(doc: html.HtmlElement) -> None:
    rows = _section(doc, "42010200001320000006").xpath(".//table[@class='differences']//tr")
    cells = {r[0].text_content(): [c.text_content() for c in r[1:]] for r in rows[1:]}
    assert cells["serial"] == ["DS-A1006", "DS-B7777"]
    assert cells["firmware"] == ["V5.7.3", "—"]


def test_cameras_needing_attention_come_worst_first(doc: html.HtmlElement) -> None:
    ids = doc.xpath("//section[@id='report-cameras']/section/@id")
    assert ids[-1] == SILENT  # info only
    assert ids.index(MOVED) < ids.index(TURNED)  # critical before major


def test_snapshot_bytes_that_do_not_match_their_digest_are_flagged(sample: Sample) -> None:
    other = jpeg(99)
    page = render_html(sample.report, images=lambda _digest: other)
    assert "bytes do not match this digest" in page


def test_without_an_image_store_every_view_says_so(sample: Sample) -> None:
    doc = html.document_fromstring(render_html(sample.report))
    assert doc.xpath("//img") == []
    assert "snapshots not supplied to the report" in doc.text_content()


def test_file_size_is_dominated_by_the_snapshots(text: str, sample: Sample) -> None:
    embedded = sum(len(m) for m in re.findall(r"base64,([A-Za-z0-9+/=]+)", text))
    assert len(text.encode()) - embedded < 60_000


def test_hostile_camera_key_stays_inside_its_attributes(sample: Sample) -> None:
    key = "x\" onmouseover=\"alert(1)'><script>alert(2)</script>"
    cameras = tuple(
        c.model_copy(update={"camera": key, "findings": tuple(
            f.model_copy(update={"camera": key}) for f in c.findings)})
        if c.camera == UNFILED else c for c in sample.report.cameras)
    page = render_html(sample.report.model_copy(update={"cameras": cameras}))
    doc = html.document_fromstring(page)
    assert "<script" not in page.lower()
    assert doc.xpath("//*[@onmouseover]") == []
    (section,) = doc.xpath("//section[@data-camera=$k]", k=key)
    links = doc.xpath("//table[@class='articles']//a/@href")
    assert "#" + section.get("id") in [unquote(link) for link in links]


def test_an_unusable_comparison_is_reported_as_not_judged(sample: Sample) -> None:
    view = ViewEvidence(name="home", obstructed_share=float("nan"), blur_ratio=float("nan"),
                        verdicts=("unusable",), reason="current snapshot too dark")
    camera = CameraAudit(camera="c1", status="findings", views=(view,))
    page = render_html(sample.report.model_copy(update={"cameras": (camera,)}))
    text = html.document_fromstring(page).text_content()
    assert "not judged" in text
    assert "nan" not in text.lower()
    assert "current snapshot too dark" in text


def test_a_view_says_what_it_was_judged_against_and_shows_the_good_view(
        sample: Sample) -> None:
    """The baseline, and the good view in like light an obstruction was also judged against:
    named by digest and shown beside today's picture."""
    pictures = {digest(jpeg(k)): jpeg(k) for k in (1, 2)}
    base, good = list(pictures)
    view = ViewEvidence(name="preset:1", baseline_image=base, current_image=base,
                        light_reference=good, verdicts=("ok",), frames=("f" * 64,),
                        reason="a change of 12% against the baseline is the light of the "
                               "moment")
    camera = CameraAudit(camera="c1", status="findings", views=(view,))
    page = render_html(sample.report.model_copy(update={"cameras": (camera,)}),
                       images=pictures.get, identifiable=True)
    doc = html.document_fromstring(page)
    text = doc.text_content()
    assert f"commissioning baseline {base[:12]}" in text
    assert f"good view in like light {good[:12]}" in text
    assert "2 (later: ffffffffffff)" in text
    assert "light of the moment" in text
    assert _shown(doc) == [pictures[base], pictures[base], pictures[good]]
