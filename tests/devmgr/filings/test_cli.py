"""``devmgr filings import | list | export`` on a platform's catalog, as an engineer runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from devmgr.cli import app
from devmgr.filings import CatalogNode, FilingRecord, loads_xml
from devmgr.registry import Registry

from .catalogs import CAMERAS, platform_catalog, summary_head

runner = CliRunner()
OURS = "42010000002000000099"  # the system camfleet's catalog is sent as


def devmgr(*args: str, registry: Path) -> Result:
    return runner.invoke(app, [*args, "--registry", str(registry)])


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "platform.xml"
    path.write_bytes(platform_catalog().encode("gb2312"))
    return path


def test_a_platform_catalog_imports_exports_and_reimports_unchanged(
        catalog: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry.sqlite"
    imported = devmgr("filings", "import", str(catalog), registry=registry)
    assert imported.exit_code == 0, imported.output
    assert imported.stderr.splitlines()[:5] == summary_head(str(catalog))
    assert "registry: 5 filings and 7 directory nodes new or changed" in imported.stderr

    listed = devmgr("filings", "list", registry=registry)
    assert listed.exit_code == 0, listed.output
    assert "5 filings (5 incomplete), 7 directory nodes" in listed.stderr
    assert "position, site_category, acceptance_date" in listed.stdout

    nameless = devmgr("filings", "export", str(tmp_path / "out.xml"), registry=registry)
    assert nameless.exit_code == 2
    assert "--platform-id" in nameless.stderr

    out = tmp_path / "out.xml"
    exported = devmgr("filings", "export", str(out), "--platform-id", OURS, registry=registry)
    assert exported.exit_code == 0, exported.output
    assert "5 filing records and 7 directory nodes written" in exported.stderr
    text = out.read_bytes().decode("gb2312")  # strict GB2312
    assert text.startswith('<?xml version="1.0" encoding="GB2312"?>')
    assert f"<DeviceID>{OURS}</DeviceID>" in text
    assert "大智路口东北角球机" in text

    again = devmgr("filings", "import", str(out), registry=registry)
    assert again.exit_code == 0, again.output
    assert "registry: 0 filings and 0 directory nodes new or changed" in again.stderr
    with Registry.open(registry) as reg:
        stored = list(reg.filings(FilingRecord).values())
        nodes = list(reg.catalog_nodes(CatalogNode).values())
    original = loads_xml(catalog.read_bytes())
    assert stored == sorted(original.records, key=lambda r: r.device_id)  # registry: by id
    assert nodes == sorted(original.nodes, key=lambda n: n.device_id)


def test_export_encoding_and_csv(catalog: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry.sqlite"
    assert devmgr("filings", "import", str(catalog), registry=registry).exit_code == 0
    utf8 = tmp_path / "utf8.xml"
    done = devmgr("filings", "export", str(utf8), "--platform-id", OURS, "--encoding", "utf-8",
                  registry=registry)
    assert done.exit_code == 0, done.output
    assert utf8.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert len(loads_xml(utf8.read_bytes()).records) == len(CAMERAS)
    wrong = devmgr("filings", "export", str(utf8), "--platform-id", OURS, "--encoding",
                   "latin-1", registry=registry)
    assert wrong.exit_code == 2
    assert "use one of gb2312, gb18030, utf-8" in wrong.stderr
    table = tmp_path / "filings.csv"
    done = devmgr("filings", "export", str(table), registry=registry)
    assert done.exit_code == 0, done.output
    assert "7 directory nodes go to catalogs (.xml) only" in done.stderr


def test_a_gbk_catalog_under_a_gb2312_label(tmp_path: Path) -> None:
    registry = tmp_path / "registry.sqlite"
    text = platform_catalog().replace("一元路枪机", "一元路喆园枪机")
    path = tmp_path / "gbk.xml"
    path.write_bytes(text.encode("gbk"))
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "喆园" in t)
    refused = devmgr("filings", "import", str(path), registry=registry)
    assert refused.exit_code == 2
    assert f"{path}:{line}: bytes 86 at byte" in refused.stderr
    assert "--encoding gbk" in refused.stderr
    accepted = devmgr("filings", "import", str(path), "--encoding", "gbk", registry=registry)
    assert accepted.exit_code == 0, accepted.output
    with Registry.open(registry) as reg:
        assert reg.filings(FilingRecord)[CAMERAS[3]].name == "一元路喆园枪机"


def test_completed_filings_survive_a_new_platform_catalog(catalog: Path, tmp_path: Path) -> None:
    """The README's way to complete filings: export CSV, fill in the regulation's columns,
    import it. The platform's next catalog, silent on those fields, must not undo that."""
    registry = tmp_path / "registry.sqlite"
    assert devmgr("filings", "import", str(catalog), registry=registry).exit_code == 0
    table = tmp_path / "complete.csv"
    assert devmgr("filings", "export", str(table), registry=registry).exit_code == 0
    rows = list(csv.DictReader(table.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        row |= {"site_category": "art6:2", "acceptance_date": "2025-03-01"}
        if not row["latitude"]:
            row |= {"latitude": "30.5951", "longitude": "114.2932"}
    with table.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    completed = devmgr("filings", "import", str(table), registry=registry)
    assert completed.exit_code == 0, completed.output
    assert "  5 cameras" in completed.stderr.splitlines()
    assert "registry: 5 filings and 0 directory nodes new or changed" in completed.stderr

    again = devmgr("filings", "import", str(catalog), registry=registry)
    assert again.exit_code == 0, again.output
    assert "  5 cameras, 5 keeping the regulation fields of their filing in force" in (
        again.stderr.splitlines())
    assert "registry: 0 filings and 0 directory nodes new or changed" in again.stderr
    with Registry.open(registry) as reg:
        filings = reg.filings(FilingRecord)
    assert all(f.missing == () for f in filings.values())
    assert str(filings[CAMERAS[0]].site_category) == "art6:2"
