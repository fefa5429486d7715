"""The README's main job: ``devmgr demo`` tells the story it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lxml import html


def test_devmgr_demo_finds_each_incident_and_writes_the_html_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "devmgr.cli", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=170, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report" / "audit.json").read_text(encoding="utf-8"))
    rules = sorted(f["rule"] for cam in report["cameras"] for f in cam["findings"])
    assert rules == sorted(["view-turned", "view-obstructed", "moved", "removed", "replaced",
                            "readdressed"])
    page = html.parse(str(out / "report" / "audit.html")).getroot()
    text = page.text_content()
    for article in ("Art. 7", "Art. 10", "Art. 12"):
        assert article in text
    # The snapshots are there, de-identified (Art. 21): pixelated PNGs, not the JPEGs taken.
    assert page.xpath("//img[starts-with(@src, 'data:image/png;base64,')]")
    assert not page.xpath("//img[starts-with(@src, 'data:image/jpeg')]")
    assert "de-identified (blocks of" in text
    assert (out / "filings.csv").is_file()
    assert (out / "targets.json").is_file()
