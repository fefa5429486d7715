"""A platform's catalog as GB/T 28181 platforms send it, written from the standard's tables.

The Catalog response of GB/T 28181-2016 (A.2.6) with the 2022 ``<Info>`` additions: the
platform's own DeviceID, the administrative divisions of Wuhan's Jiang'an district (2, 4, 6
and 8 digits), a business group (215) with two nested virtual organisations (216), five
cameras without any of the regulation's fields, and an NVR. The cameras show what platforms
do: the 2016 item elements (Owner, SafetyWay, CertNum ... Password), a PTZType at item level
instead of in Info, the 0/0 placeholder position, no position at all, a position in another
province than the CivilCode, and elements camfleet has no field for (Resolution,
DownloadSpeed, StreamNumberList, a vendor extension).
"""

from __future__ import annotations

PLATFORM_ID = "42010000002000000001"
BUSINESS_GROUP = "42010000002150000001"
BRANCH = "42010000002160000001"
STATION = "42010000002160000002"
CAMERAS = (
    "42010200001320000001",  # every catalog element
    "42010200001310000002",  # PTZType at item level, certificate fields, a password
    "42010200001320000003",  # the 0/0 placeholder position
    "42010200001320000004",  # no position, offline
    "42010200001320000005",  # Beijing's coordinates under a Hubei CivilCode
)
NVR = "42010200001180000001"

_DIVISIONS = [("42", "湖北省"), ("4201", "武汉市"), ("420102", "江岸区"), ("42010200", "大智街道")]

_ITEMS = [
    *(f"<Item><DeviceID>{code}</DeviceID><Name>{name}</Name></Item>" for code, name in _DIVISIONS),
    f"""<Item>
<DeviceID>{BUSINESS_GROUP}</DeviceID>
<Name>武汉市公安视频专网</Name>
</Item>""",
    f"""<Item>
<DeviceID>{BRANCH}</DeviceID>
<Name>江岸分局</Name>
<ParentID>{BUSINESS_GROUP}</ParentID>
<BusinessGroupID>{BUSINESS_GROUP}</BusinessGroupID>
</Item>""",
    f"""<Item>
<DeviceID>{STATION}</DeviceID>
<Name>大智派出所</Name>
<ParentID>{BUSINESS_GROUP}/{BRANCH}</ParentID>
<Info><BusinessGroupID>{BUSINESS_GROUP}</BusinessGroupID></Info>
</Item>""",
    f"""<Item>
<DeviceID>{CAMERAS[0]}</DeviceID>
<Name>大智路口东北角球机</Name>
<Manufacturer>海康威视</Manufacturer>
<Model>DS-2DE4425IW-DE</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Block>大智警区</Block>
<Address>湖北省武汉市江岸区中山大道与大智路交叉口</Address>
<Parental>0</Parental>
<ParentID>{STATION}</ParentID>
<SafetyWay>0</SafetyWay>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<IPAddress>10.42.1.21</IPAddress>
<Port>5060</Port>
<Status>ON</Status>
<Longitude>114.2849</Longitude>
<Latitude>30.5876</Latitude>
<StreamNumberList>0/1</StreamNumberList>
<Info>
<PTZType>1</PTZType>
<PositionType>9</PositionType>
<RoomType>1</RoomType>
<UseType>1</UseType>
<SupplyLightType>2</SupplyLightType>
<DirectionType>6</DirectionType>
<Resolution>6/4/2</Resolution>
<BusinessGroupID>{BUSINESS_GROUP}</BusinessGroupID>
<DownloadSpeed>1/2/4</DownloadSpeed>
<SVCSpaceSupportMode>0</SVCSpaceSupportMode>
<SVCTimeSupportMode>0</SVCTimeSupportMode>
<HorizontalFieldAngle>58.5</HorizontalFieldAngle>
<VerticalFieldAngle>33.2</VerticalFieldAngle>
<MaxViewDistance>150.0</MaxViewDistance>
<GrassrootsCode>420102002</GrassrootsCode>
<PointType>1</PointType>
<MAC>44-19-B6-0A-01-21</MAC>
<FunctionType>01/03</FunctionType>
<InstallTime>2023-05-01T08:30:00</InstallTime>
<ManagementUnit>江岸分局科技信息化科</ManagementUnit>
<ContactInfo>027-8281 0000</ContactInfo>
<RecordSaveDays>90</RecordSaveDays>
</Info>
<hk:Extension xmlns:hk="urn:example:vendor"><hk:Lens focal="4.8-120">变焦</hk:Lens></hk:Extension>
</Item>""",
    f"""<Item>
<DeviceID>{CAMERAS[1]}</DeviceID>
<Name>黄浦路枪机</Name>
<Manufacturer>大华</Manufacturer>
<Model>DH-IPC-HFW4433</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Address>黄浦路 12 号</Address>
<Parental>0</Parental>
<ParentID>{STATION}</ParentID>
<SafetyWay>3</SafetyWay>
<RegisterWay>3</RegisterWay>
<CertNum>SM2-0001</CertNum>
<Certifiable>0</Certifiable>
<ErrCode>400</ErrCode>
<EndTime>2026-06-30T23:59:59</EndTime>
<Secrecy>1</Secrecy>
<Password>hik12345</Password>
<Status>ON</Status>
<Longitude>114.3003</Longitude>
<Latitude>30.6102</Latitude>
<PTZType>3</PTZType>
<Info><DirectionType>2</DirectionType></Info>
</Item>""",
    f"""<Item>
<DeviceID>{CAMERAS[2]}</DeviceID>
<Name>三阳路半球</Name>
<Manufacturer>宇视</Manufacturer>
<Model>IPC322</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Address>三阳路</Address>
<Parental>0</Parental>
<ParentID>{BRANCH}</ParentID>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>ON</Status>
<Longitude>0.0</Longitude>
<Latitude>0.0</Latitude>
<Info><PTZType>2</PTZType></Info>
</Item>""",
    f"""<Item>
<DeviceID>{CAMERAS[3]}</DeviceID>
<Name>一元路枪机</Name>
<Manufacturer>海康威视</Manufacturer>
<Model>DS-2CD3T47</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Address>一元路</Address>
<Parental>0</Parental>
<ParentID>{BRANCH}</ParentID>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>OFF</Status>
</Item>""",
    f"""<Item>
<DeviceID>{CAMERAS[4]}</DeviceID>
<Name>台北路枪机</Name>
<Manufacturer>海康威视</Manufacturer>
<Model>DS-2CD3T47</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Address>台北路</Address>
<Parental>0</Parental>
<ParentID>{BRANCH}</ParentID>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>ON</Status>
<Longitude>116.4074</Longitude>
<Latitude>39.9042</Latitude>
</Item>""",
    f"""<Item>
<DeviceID>{NVR}</DeviceID>
<Name>大智派出所 NVR</Name>
<Manufacturer>海康威视</Manufacturer>
<Model>DS-9664N</Model>
<Owner>江岸分局</Owner>
<CivilCode>420102</CivilCode>
<Address>大智派出所机房</Address>
<Parental>1</Parental>
<ParentID>{STATION}</ParentID>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>ON</Status>
</Item>""",
]


def platform_catalog(*, items: list[str] | None = None, sn: int = 17) -> str:
    """The catalog as text, declared GB2312: encode it with ``.encode("gb2312")``."""
    chosen = _ITEMS if items is None else items
    body = "\n".join(chosen)
    return f"""<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>{sn}</SN>
<DeviceID>{PLATFORM_ID}</DeviceID>
<SumNum>{len(chosen)}</SumNum>
<DeviceList Num="{len(chosen)}">
{body}
</DeviceList>
</Response>
"""


def summary_head(source: str) -> list[str]:
    """The counts an import of :func:`platform_catalog` from ``source`` prints first."""
    return [
        f"{source}: 13 items from {PLATFORM_ID}",
        "  5 cameras, 5 of them incomplete filings (no site_category 5, no acceptance_date 5, "
        "no position 2)",
        "  7 directory nodes: 4 administrative divisions, 1 business group, "
        "2 virtual organisations",
        "  1 skipped (neither camera nor directory node)",
        "  2 positions flagged"]


def item_of(device_id: str) -> str:
    """One item of the catalog, for tests that build smaller ones."""
    return next(i for i in _ITEMS if f"<DeviceID>{device_id}</DeviceID>" in i)
