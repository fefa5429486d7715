from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from devmgr.filings import (
    FilingImportError,
    FilingRecord,
    dump_csv,
    dump_xml,
    dump_yaml,
    load,
    loads_csv,
    loads_xml,
    loads_yaml,
    save,
)
from devmgr.filings.catalog import CAMFLEET_NS

from .factory import PLATFORM, make_record

# --- round trips


def test_csv_round_trip(records: list[FilingRecord]) -> None:
    text = dump_csv(records)
    assert "汉口火车站东广场" in text
    assert loads_csv(text) == records


def test_csv_with_bom_accepted(records: list[FilingRecord]) -> None:
    text = dump_csv(records, bom=True)
    assert text.startswith("\ufeff")
    assert loads_csv(text) == records


def test_yaml_round_trip(records: list[FilingRecord]) -> None:
    text = dump_yaml(records)
    assert "汉口火车站东广场" in text  # allow_unicode: readable, not \u escapes
    assert loads_yaml(text) == records


def test_xml_round_trip(records: list[FilingRecord]) -> None:
    data = dump_xml(records, platform_id=PLATFORM)
    assert loads_xml(data).records == records
    assert loads_xml(data.decode("gb2312")).records == records


@pytest.mark.parametrize("suffix", [".csv", ".yaml", ".yml", ".xml"])
def test_file_round_trip(tmp_path: Path, records: list[FilingRecord], suffix: str) -> None:
    path = tmp_path / f"filings{suffix}"
    save(records, path, platform_id=PLATFORM)
    assert load(path).records == records


def test_excel_csv_file_with_bom(tmp_path: Path, records: list[FilingRecord]) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(dump_csv(records).replace("\n", "\r\n").encode("utf-8-sig"))
    assert load(path).records == records


def test_gbk_csv_refused_with_reason(tmp_path: Path, records: list[FilingRecord]) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(dump_csv(records).encode("gb18030"))
    with pytest.raises(FilingImportError, match="not UTF-8"):
        load(path)


# --- catalog XML shape


def test_xml_is_a_gbt28181_catalog(records: list[FilingRecord]) -> None:
    root = etree.fromstring(dump_xml(records, platform_id=PLATFORM))
    assert root.tag == "Response"
    assert root.findtext("CmdType") == "Catalog"
    assert root.findtext("DeviceID") == PLATFORM
    assert root.findtext("SumNum") == "3"
    assert root.find("DeviceList").get("Num") == "3"
    item = root.find("DeviceList/Item")
    assert item.findtext("DeviceID") == "42010000001320000001"
    assert item.findtext("Name") == "汉口火车站东广场 1 号枪机"
    assert item.findtext("Info/MAC") == "44-19-B6-0A-BB-CC"
    assert item.findtext("Info/PTZType") == "3"
    assert item.findtext("Info/DirectionType") == "6"
    assert item.findtext("Info/InstallTime") == "2024-11-03T09:30:00"
    ext = item.find(f"{{{CAMFLEET_NS}}}Filing")
    assert ext.findtext(f"{{{CAMFLEET_NS}}}SiteCategory") == "art6:2"


def test_xml_plain_catalog_is_an_incomplete_filing_and_gb2312_honoured() -> None:
    doc = """<?xml version="1.0" encoding="GB2312"?>
<Response><CmdType>Catalog</CmdType><SN>7</SN><DeviceID>42010000002000000001</DeviceID>
<SumNum>1</SumNum><DeviceList Num="1"><Item>
<DeviceID>42010000001310000009</DeviceID><Name>武汉长江大桥</Name><Manufacturer>大华</Manufacturer>
<Model></Model><CivilCode>420103</CivilCode><Block/><Address>武昌</Address><Parental>0</Parental>
<Secrecy>0</Secrecy><Status>ON</Status><Longitude>114.2889</Longitude><Latitude>30.5494</Latitude>
<Info><PTZType>1</PTZType><InstallTime>2023-05-01T08:30:00</InstallTime></Info>
</Item></DeviceList></Response>""".encode("gb2312")
    # A plain catalog lacks the regulation fields: imported, as an incomplete filing.
    (plain,) = loads_xml(doc).records
    assert plain.missing == ("site_category", "acceptance_date")
    with_ext = doc.replace(
        b"</Info>",
        f'</Info><cf:Filing xmlns:cf="{CAMFLEET_NS}"><cf:SiteCategory>art6:2</cf:SiteCategory>'
        "<cf:AcceptanceDate>2023-06-01</cf:AcceptanceDate></cf:Filing>".encode(),
    )
    (rec,) = loads_xml(with_ext).records
    assert rec.missing == ()
    assert rec.name == "武汉长江大桥"
    assert rec.install_time is not None
    assert rec.install_time.isoformat() == "2023-05-01T08:30:00"
    assert rec.position is not None
    assert rec.position.elevation == 0.0


# --- all-or-nothing import with every problem reported


def test_csv_three_bad_rows_all_reported(records: list[FilingRecord]) -> None:
    good = make_record("42010000001320000011", name="良好")
    lines = dump_csv([records[0], good, records[2]]).splitlines()
    header, row1, row2, row3 = lines
    bad_id = row2.replace("42010000001320000011", "42010000001180000011")  # NVR
    bad_site = row3.replace("not-listed", "art6:99")
    bad_lat = row1.replace("30.617712345", "north")
    text = "\n".join([header, row1, bad_id, row2.replace("0011", "0012"), bad_site, bad_lat])
    with pytest.raises(FilingImportError) as exc:
        loads_csv(text, "cams.csv")
    problems = exc.value.problems
    assert [p.line for p in problems] == [3, 5, 6]
    assert "type code 118" in problems[0].reason
    assert "site_category" in problems[1].reason
    assert "position.latitude" in problems[2].reason
    assert "cams.csv:5" in str(exc.value)
    assert str(exc.value).startswith("3 problem(s), nothing imported")


def test_csv_line_numbers_count_multiline_cells(records: list[FilingRecord]) -> None:
    # an address with a newline spans two physical lines in a quoted cell
    multi = make_record(address="武汉市江岸区\n发展大道")
    text = dump_csv([multi, records[2]])
    assert text.count("\n") == 4
    assert loads_csv(text) == [multi, records[2]]
    broken = text.replace("2025-02-01", "2025-02-30")
    with pytest.raises(FilingImportError) as exc:
        loads_csv(broken)
    assert [p.line for p in exc.value.problems] == [4]


def test_csv_duplicate_ids(records: list[FilingRecord]) -> None:
    with pytest.raises(
        FilingImportError, match=r"<csv>:3: duplicate device_id \d+ \(first at line 2\)"
    ):
        loads_csv(dump_csv([records[2], records[2]]))


def test_csv_bad_header() -> None:
    with pytest.raises(FilingImportError, match=r"unknown column.*colour.*missing column"):
        loads_csv("device_id,name,colour\n1,2,3\n")


def test_yaml_problems_have_item_and_line(records: list[FilingRecord]) -> None:
    text = (
        dump_yaml(records)
        .replace("prohibited:3", "prohibited:9")
        .replace("42010600001310000007", "4201060000131000000")
    )
    text += "- just a string\n"
    with pytest.raises(FilingImportError) as exc:
        loads_yaml(text, "f.yaml")
    items = [(p.item, p.line) for p in exc.value.problems]
    assert [i for i, _ in items] == [1, 2, 3]
    starts = [n + 1 for n, line in enumerate(text.splitlines()) if line.startswith("- ")]
    assert [line for _, line in items] == starts[1:]


def test_yaml_unquoted_ids_accepted() -> None:
    text = """
- device_id: 42010000001320000001
  name: 光谷广场
  civil_code: 420111
  position: {latitude: 30.5058, longitude: 114.3987}
  site_category: 5
  acceptance_date: 2025-01-01
"""
    (rec,) = loads_yaml(text)
    assert rec.device_id == "42010000001320000001"
    assert rec.civil_code == "420111"
    assert str(rec.site_category) == "art6:5"


def test_yaml_not_a_list() -> None:
    with pytest.raises(FilingImportError, match="must be a list"):
        loads_yaml("device_id: 1\n")


def test_xml_problems_with_sourceline(records: list[FilingRecord]) -> None:
    data = dump_xml(records, platform_id=PLATFORM).decode("gb2312")
    data = data.replace("<Latitude>30.5801</Latitude>", "")  # item 2 loses half its position
    data = data.replace("42010000011325000002", "4201000001132500000X")  # item 1: bad id
    with pytest.raises(FilingImportError) as exc:
        loads_xml(data, "cat.xml")
    problems = exc.value.problems
    assert [p.item for p in problems] == [1, 2]
    lines = data.splitlines()
    for p in problems:
        assert p.line is not None
        assert lines[p.line - 1].strip() == "<Item>"
    assert "non-digits" in problems[0].reason
    assert "Longitude and Latitude come together" in problems[1].reason


def test_xml_num_mismatch(records: list[FilingRecord]) -> None:
    data = dump_xml(records, platform_id=PLATFORM).replace(b'Num="3"', b'Num="4"')
    with pytest.raises(FilingImportError, match="Num=4 but it holds 3"):
        loads_xml(data)


def test_xml_external_entity_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE Response [<!ENTITY xxe SYSTEM "file://{secret}">]>
<Response><CmdType>Catalog</CmdType><DeviceList Num="1"><Item>
<DeviceID>42010000001320000001</DeviceID><Name>&xxe;</Name>
<Longitude>114.3</Longitude><Latitude>30.6</Latitude></Item></DeviceList></Response>"""
    with pytest.raises(FilingImportError, match="DOCTYPE") as exc:
        loads_xml(doc.encode())
    assert "TOP-SECRET" not in str(exc.value)


def test_xml_entity_bomb_refused() -> None:
    doc = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Response><CmdType>Catalog</CmdType><SN>&b;</SN></Response>"""
    with pytest.raises(FilingImportError, match="DOCTYPE"):
        loads_xml(doc)


def test_xml_syntax_error_has_line() -> None:
    with pytest.raises(FilingImportError) as exc:
        loads_xml(b"<Response>\n<CmdType>Catalog</CmdType>\n<DeviceList>\n</Response>")
    assert exc.value.problems[0].line == 4


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown filing format"):
        load(tmp_path / "x.json")
