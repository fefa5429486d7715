"""GB/T 28181 catalogs as platforms send and read them: a mixed platform catalog in, what
platforms read out, nothing lost in between, and encodings reported where they go wrong."""

from __future__ import annotations

import pytest
from lxml import etree

from camfleet.model import GeoPosition
from devmgr.filings import (
    CatalogNode,
    FilingExportError,
    FilingImportError,
    FilingRecord,
    dump_csv,
    dump_xml,
    dump_yaml,
    loads_csv,
    loads_xml,
    loads_yaml,
)
from devmgr.filings.catalog import CAMFLEET_NS, ExportEncoding

from .catalogs import (
    BRANCH,
    BUSINESS_GROUP,
    CAMERAS,
    NVR,
    PLATFORM_ID,
    STATION,
    item_of,
    platform_catalog,
    summary_head,
)
from .factory import PLATFORM, make_record

RAW = platform_catalog().encode("gb2312")

# --- import


def test_a_mixed_platform_catalog_imports_as_it_comes() -> None:
    imported = loads_xml(RAW, "platform.xml")
    assert imported.sender == PLATFORM_ID
    assert [r.device_id for r in imported.records] == list(CAMERAS)
    assert sorted(n.kind for n in imported.nodes) == [
        "business-group", "division", "division", "division", "division",
        "virtual-organisation", "virtual-organisation"]
    (skipped,) = imported.skipped
    assert NVR in skipped.reason
    assert "type 118 (NVR)" in skipped.reason
    # Every camera lacks the regulation's fields: imported, as incomplete filings.
    assert [r.missing for r in imported.records] == [
        ("site_category", "acceptance_date"), ("site_category", "acceptance_date"),
        ("position", "site_category", "acceptance_date"),
        ("position", "site_category", "acceptance_date"),
        ("site_category", "acceptance_date")]
    summary = imported.summary()
    assert summary[:5] == summary_head("platform.xml")


def test_no_field_of_the_catalog_item_is_dropped_on_import() -> None:
    full, item_level_ptz = loads_xml(RAW).records[:2]
    assert (full.owner, full.block, full.parent_id) == ("江岸分局", "大智警区", STATION)
    assert (full.safety_way, full.register_way, full.secrecy, full.status) == (0, 1, False, "ON")
    assert (full.position_type, full.room_type, full.use_type, full.supply_light_type) == (
        9, 1, 1, 2)
    assert (full.business_group_id, full.grassroots_code, full.function_type) == (
        BUSINESS_GROUP, "420102002", "01/03")
    assert full.install_time is not None
    assert full.install_time.isoformat() == "2023-05-01T08:30:00"
    assert [e.tag for e in full.extra_elements] == [
        "StreamNumberList", "Extension", "Resolution", "DownloadSpeed", "SVCSpaceSupportMode",
        "SVCTimeSupportMode"]
    # PTZType at item level is read like the one in Info.
    assert item_level_ptz.ptz_type == 3
    assert (item_level_ptz.safety_way, item_level_ptz.register_way) == (3, 3)
    assert (item_level_ptz.cert_num, item_level_ptz.certifiable, item_level_ptz.err_code) == (
        "SM2-0001", False, 400)
    assert item_level_ptz.secrecy is True


def test_a_password_is_not_stored_and_that_is_said() -> None:
    imported = loads_xml(RAW)
    assert "hik12345" not in imported.records[1].model_dump_json()
    (note,) = imported.notes
    assert CAMERAS[1] in note.reason
    assert "Password not stored" in note.reason


def test_placeholder_and_implausible_positions_are_flagged() -> None:
    imported = loads_xml(RAW, "platform.xml")
    placeholder, elsewhere = imported.position_flags
    assert imported.records[2].position is None  # 0/0 read as "no position"
    assert CAMERAS[2] in placeholder.reason
    assert "0/0 is a placeholder" in placeholder.reason
    assert CAMERAS[4] in elsewhere.reason
    assert "outside Hubei (CivilCode 420102)" in elsewhere.reason
    lines = platform_catalog().splitlines()
    assert f"<DeviceID>{CAMERAS[4]}</DeviceID>" in lines[elsewhere.line or 0]  # the item's line
    assert imported.records[4].position is not None  # kept: flagged, never corrected


def test_directory_nodes_keep_the_tree() -> None:
    nodes = {n.device_id: n for n in loads_xml(RAW).nodes}
    assert nodes["420102"].name == "江岸区"
    assert nodes[BRANCH].parent_id == BUSINESS_GROUP
    assert nodes[STATION].parent_id == f"{BUSINESS_GROUP}/{BRANCH}"
    assert nodes[STATION].business_group_id == BUSINESS_GROUP  # read from its Info


def test_problems_still_refuse_the_whole_file_and_say_where() -> None:
    broken = platform_catalog().replace("<PositionType>9</PositionType>",
                                        "<PositionType>12</PositionType>")
    broken = broken.replace("<PTZType>3</PTZType>", "<PTZType>3</PTZType><PTZType>4</PTZType>")
    broken = broken.replace("<Info><DirectionType>2</DirectionType></Info>",
                            "<Info><PTZType>1</PTZType></Info>")
    with pytest.raises(FilingImportError) as exc:
        loads_xml(broken, "bad.xml")
    reasons = [(p.item, p.reason) for p in exc.value.problems]
    assert reasons[0][0] == 7
    assert "position_type" in reasons[0][1]
    assert reasons[1][0] == reasons[2][0] == 8
    assert "<PTZType> appears twice in the item" in reasons[1][1]
    assert "PTZType is 3 in the item and 1 in <Info>" in reasons[2][1]
    assert str(exc.value).startswith("3 problem(s), nothing imported")


# --- export


def test_export_writes_what_platforms_read() -> None:
    data = dump_xml([make_record()], platform_id=PLATFORM)
    root = etree.fromstring(data)
    assert root.findtext("DeviceID") == PLATFORM
    item = root.find("DeviceList/Item")
    assert item is not None
    for tag in ("DeviceID", "Name", "Manufacturer", "Model", "Owner", "CivilCode", "Address",
                "Parental", "ParentID", "SafetyWay", "RegisterWay", "Secrecy", "Status"):
        assert item.find(tag) is not None, tag
    assert [item.findtext(t) for t in ("Parental", "SafetyWay", "RegisterWay", "Secrecy")] == [
        "0", "0", "1", "1"]
    assert item.findtext("EndTime") == "2027-12-31T23:59:59"
    assert item.findtext("Info/InstallTime") == "2024-11-03T09:30:00"
    bare = etree.fromstring(dump_xml([FilingRecord(device_id="42010600001320000001", name="x")],
                                     platform_id=PLATFORM)).find("DeviceList/Item")
    assert bare is not None
    assert [bare.findtext(t) for t in ("CivilCode", "ParentID", "Status", "Owner")] == [
        "420106", "420106", "ON", ""]
    assert bare.find("Longitude") is None  # no position: none invented


def test_a_gb2312_export_decodes_with_a_strict_decoder() -> None:
    imported = loads_xml(RAW)
    data = dump_xml(imported.records, nodes=imported.nodes, platform_id=PLATFORM)
    assert data.startswith(b'<?xml version="1.0" encoding="GB2312"?>\n')
    text = data.decode("gb2312")  # strict: any byte outside GB2312 raises
    for name in ("大智路口东北角球机", "江岸分局", "湖北省", "变焦"):
        assert name in text
    assert "大智路口东北角球机".encode("gb2312") in data


def test_utf8_export_when_asked() -> None:
    data = dump_xml([make_record()], platform_id=PLATFORM, encoding="utf-8")
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "汉口火车站".encode() in data


def test_characters_outside_gb2312_are_named_not_mangled() -> None:
    records = [make_record(name="堃·东广场", address="江岸区 — 北侧"),
               make_record("42010000001320000002")]
    with pytest.raises(FilingExportError) as exc:
        dump_xml(records, platform_id=PLATFORM)
    assert exc.value.problems == [
        "42010000001320000001 Name: '堃' (U+5803) is not in GB2312; write the catalog as "
        "UTF-8 or GB18030, or change the text",
        "42010000001320000001 Name: '·' (U+00B7) is not in GB2312; write the catalog as "
        "UTF-8 or GB18030, or change the text",
        "42010000001320000001 Address: '—' (U+2014) is not in GB2312; write the catalog as "
        "UTF-8 or GB18030, or change the text"]
    wider: tuple[ExportEncoding, ...] = ("utf-8", "gb18030")
    for encoding in wider:
        assert loads_xml(dump_xml(records, platform_id=PLATFORM,
                                  encoding=encoding)).records == records


@pytest.mark.parametrize("platform_id", ["", "4201", "4201000000200000000X"])
def test_the_platform_id_is_a_20_digit_id(platform_id: str) -> None:
    with pytest.raises(ValueError, match="platform id"):
        dump_xml([make_record()], platform_id=platform_id)


def test_nodes_come_first_parents_before_children() -> None:
    nodes = [CatalogNode(device_id=STATION, name="所", parent_id=BRANCH),
             CatalogNode(device_id=BRANCH, name="局", parent_id=BUSINESS_GROUP),
             CatalogNode(device_id=BUSINESS_GROUP, name="网"),
             CatalogNode(device_id="420102", name="区"), CatalogNode(device_id="42", name="省")]
    root = etree.fromstring(dump_xml([make_record()], nodes=nodes, platform_id=PLATFORM))
    assert [i.findtext("DeviceID") for i in root.iterfind("DeviceList/Item")] == [
        "42", "420102", BUSINESS_GROUP, BRANCH, STATION, "42010000001320000001"]
    assert root.findtext("SumNum") == "6"


# --- round trips: nothing of the standard's fields is lost


def _leaves(item: etree._Element) -> set[tuple[str, str]]:
    """(path, text) of every non-empty leaf and attribute of an item, camfleet's own left out;
    PTZType and BusinessGroupID counted wherever they sit."""
    found = set()
    for el in item.iter(tag=etree.Element):
        if etree.QName(el).namespace == CAMFLEET_NS or el is item:
            continue
        path = etree.QName(el).text
        if path in {"PTZType", "BusinessGroupID"} or el.getparent() is not item:
            path = f"Info|{path}" if path in {"PTZType", "BusinessGroupID"} else (
                f"{etree.QName(el.getparent()).text}/{path}")
        found |= {(f"{path}@{k!s}", str(v)) for k, v in el.attrib.items()}
        if len(el) == 0 and el.text and el.text.strip():
            found.add((path, el.text.strip()))
    return found


def test_a_platform_catalog_through_camfleet_loses_no_field() -> None:
    imported = loads_xml(RAW)
    exported = dump_xml(imported.records, nodes=imported.nodes, platform_id=PLATFORM_ID)
    again = loads_xml(exported)
    assert (again.records, again.nodes) == (imported.records, imported.nodes)
    before = {i.findtext("DeviceID"): i for i in etree.fromstring(RAW).iterfind("DeviceList/Item")}
    after = {i.findtext("DeviceID"): i
             for i in etree.fromstring(exported).iterfind("DeviceList/Item")}
    assert set(after) == set(before) - {NVR}
    for device_id, item in after.items():
        lost = _leaves(before[device_id]) - _leaves(item)
        if device_id == CAMERAS[1]:
            assert lost == {("Password", "hik12345")}
        elif device_id == CAMERAS[2]:
            assert lost == {("Longitude", "0.0"), ("Latitude", "0.0")}  # read as no position
        else:
            assert lost == set(), device_id


def test_platform_records_round_trip_through_csv_and_yaml() -> None:
    records = loads_xml(RAW).records
    assert loads_csv(dump_csv(records)) == records
    assert loads_yaml(dump_yaml(records)) == records


# --- encodings on import


def test_gbk_bytes_in_a_gb2312_catalog_are_reported_on_their_line() -> None:
    text = platform_catalog().replace("三阳路半球", "三阳路堃园半球")
    raw = text.encode("gbk")  # what a platform writing GBK under a GB2312 label sends
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "堃园" in t)
    assert line > 1
    with pytest.raises(FilingImportError) as exc:
        loads_xml(raw, "platform.xml")
    (problem,) = exc.value.problems
    assert problem.line == line
    # <Name>三阳路 is 6 + 3 * 2 bytes: the GBK lead byte 0x88 is the 13th
    assert str(problem).startswith(
        f"platform.xml:{line}: bytes 88 at byte 13 of the line are not valid GB2312, the "
        "encoding the document declares (illegal multibyte sequence)")
    assert "the line is valid GBK: <Name>三阳路堃园半球</Name>" in problem.reason
    assert "--encoding gbk" in problem.reason
    imported = loads_xml(raw, encoding="gbk")
    assert imported.records[2].name == "三阳路堃园半球"


def test_gb_bytes_without_a_declaration_are_not_utf8() -> None:
    text = platform_catalog(items=[item_of(CAMERAS[3])]).replace(
        '<?xml version="1.0" encoding="GB2312"?>\n', "")
    with pytest.raises(FilingImportError) as exc:
        loads_xml(text.encode("gb2312"))
    first = exc.value.problems[0]
    assert "not valid utf-8, the default, as no encoding is declared" in first.reason
    assert "the line is valid GBK" in first.reason


def test_an_unknown_declared_encoding_is_refused() -> None:
    raw = platform_catalog().replace("GB2312", "X-NOPE").encode("gb2312")
    with pytest.raises(FilingImportError, match="unknown encoding 'X-NOPE'"):
        loads_xml(raw)


def test_a_plain_catalog_keeps_the_regulation_fields_in_force() -> None:
    imported = loads_xml(RAW)
    full, _, placeholder, _, _ = imported.records
    filed = {r.device_id: make_record(r.device_id, position=where)
             for r, where in ((full, GeoPosition(latitude=30.5876, longitude=114.2849,
                                                 elevation=21.0)),
                              (placeholder, GeoPosition(latitude=30.6, longitude=114.3)))}
    assert imported.keep_filed(filed) == 2
    kept, _, was_placeholder, _, _ = imported.records
    for record in (kept, was_placeholder):
        assert record.missing == ()
        assert (record.site_category, record.acceptance_date, record.move_filings) == (
            filed[record.device_id].site_category, filed[record.device_id].acceptance_date,
            filed[record.device_id].move_filings)
    assert kept.name == "大智路口东北角球机"  # the catalog's description wins
    assert kept.position is not None
    assert kept.position.elevation == 21.0  # the same point, with the filed elevation
    assert was_placeholder.position == GeoPosition(latitude=30.6, longitude=114.3)
    assert "2 keeping the regulation fields of their filing in force" in imported.summary()[1]
    # An item that carries camfleet's extension is a full record: it replaces, not merges.
    own = dump_xml([make_record(site_category="not-listed")], platform_id=PLATFORM)
    mine = loads_xml(own)
    assert mine.keep_filed({"42010000001320000001": make_record()}) == 0
    assert str(mine.records[0].site_category) == "not-listed"
