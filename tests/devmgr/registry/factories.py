"""Inventories as a real PTZ dome yields them (~7 KB of JSON each), built without a network."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import GeoPosition, PtzVector, Range
from devmgr.inventory.model import (
    DeviceInfo,
    DiscoveredDevice,
    Inventory,
    MediaProfile,
    PtzInventory,
    PtzPreset,
    PtzSpace,
    Route,
    SnmpIdentity,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ONVIF = "onvif://www.onvif.org"
GENERIC_PT = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
GENERIC_ZOOM = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"
DEGREES = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"


def serial_of(i: int) -> str:
    return f"DS-2DE4425IW-DE2023{i:08d}"


def mac_of(i: int) -> str:
    return f"44:19:b6:{(i >> 16) & 0xff:02x}:{(i >> 8) & 0xff:02x}:{i & 0xff:02x}"


def make_inventory(i: int = 0, *, sweep: int = 0, **changes: Any) -> Inventory:
    """Camera ``i`` as inventoried in sweep number ``sweep``; ``changes`` replace fields."""
    address = f"10.20.{i // 250}.{i % 250 + 2}"
    xaddr = f"http://{address}/onvif"
    profiles = tuple(
        MediaProfile(token=f"Profile_{n}", name=f"mainStream{n}", encoding="H264",
                     width=1920 // (n + 1), height=1080 // (n + 1),
                     stream_uri=f"rtsp://{address}:554/Streaming/Channels/{n + 1}01",
                     snapshot_uri=f"http://{address}/ISAPI/Streaming/channels/{n + 1}01/picture",
                     ptz_configuration="PTZToken" if n == 0 else "")
        for n in range(3))
    ptz = PtzInventory(
        node="PTZNODETOKEN", fixed_home=False, home_supported=True, max_presets=300,
        configuration="PTZToken", pan_limits=Range(min=-1.0, max=1.0),
        tilt_limits=Range(min=-1.0, max=1.0), zoom_limits=Range(min=0.0, max=1.0),
        limits_space=GENERIC_PT,
        spaces=(PtzSpace(uri=GENERIC_PT, x=Range(min=-1.0, max=1.0), y=Range(min=-1.0, max=1.0)),
                PtzSpace(uri=GENERIC_ZOOM, x=Range(min=0.0, max=1.0)),
                # Profile T degrees space with unlimited pan: +-INF must survive storage.
                PtzSpace(uri=DEGREES, x=Range(min=-math.inf, max=math.inf),
                         y=Range(min=-90.0, max=10.0))),
        default_timeout_s=5.0, position=PtzVector(pan=0.1, tilt=-0.2, zoom=0.0),
        move_status="IDLE",
        presets=tuple(PtzPreset(token=str(n), name=f"Preset {n}",
                                position=PtzVector(pan=n / 20, tilt=-n / 40, zoom=n / 30))
                      for n in range(1, 17)))
    inv = Inventory(
        target_id=f"cam-{i:04d}", address=address,
        collected_at=T0 + timedelta(days=sweep, seconds=i),
        device=DeviceInfo(manufacturer="HIKVISION", model="DS-2DE4425IW-DE",
                          firmware="V5.5.800 build 210628", serial=serial_of(i),
                          hardware_id="88"),
        mac=mac_of(i), hostname=f"cam-{i:04d}",
        scopes=(f"{ONVIF}/type/video_encoder", f"{ONVIF}/Profile/Streaming",
                f"{ONVIF}/Profile/T", f"{ONVIF}/location/city/wuhan",
                f"{ONVIF}/name/Gate%20{i}", f"{ONVIF}/hardware/DS-2DE4425IW-DE",
                f"{ONVIF}/MacAddress/{mac_of(i).replace(':', '')}",
                f"{ONVIF}/SerialNumber/{serial_of(i)}"),
        clock_offset_s=0.25 * (i % 7), camera_time=T0 + timedelta(days=sweep, seconds=i + 1),
        timezone="CST-8", ntp_servers=("ntp.wuhan.example",),
        services={f"http://www.onvif.org/ver10/{svc}/wsdl": f"{xaddr}/{svc}_service"
                  for svc in ("device", "media", "events", "imaging", "recording", "search",
                              "replay", "deviceIO", "analytics")}
        | {"http://www.onvif.org/ver20/ptz/wsdl": f"{xaddr}/PTZ"},
        geolocation=GeoPosition(latitude=30.5928 + i * 1e-4, longitude=114.3055, elevation=25.0),
        profiles=profiles, ptz=ptz, recording_retention_days=90.0, discovery_mode="Discoverable",
        users=("admin", "operator"),
        snmp=SnmpIdentity(address=address, access="v3:camfleet",
                          sys_descr="Hikvision DS-2DE4425IW-DE network camera",
                          sys_object_id="1.3.6.1.4.1.39165.1.1", sys_name=f"cam-{i:04d}",
                          sys_location=f"Wuhan, Jianghan Rd gate {i}", sys_contact="noc@example",
                          uptime_s=86400.0 * (sweep + 1), mac=mac_of(i), serial=serial_of(i),
                          model="DS-2DE4425IW-DE", engine_id=f"80009ba30300{i:012x}",
                          engine_boots=3, vendor="Hikvision"),
        elapsed_s=1.2)
    return inv.model_copy(update=changes) if changes else inv


def unreachable(i: int = 0, *, sweep: int = 0) -> Inventory:
    return Inventory(target_id=f"cam-{i:04d}", address=f"10.20.{i // 250}.{i % 250 + 2}",
                     collected_at=T0 + timedelta(days=sweep, seconds=i), reachable=False,
                     errors=(DeviceError(kind=ErrorKind.UNREACHABLE,
                                         operation="GetSystemDateAndTime",
                                         message="connection refused"),))


def make_discovery(i: int = 0, *, serial: bool = True) -> DiscoveredDevice:
    address = f"10.20.{i // 250}.{i % 250 + 2}"
    return DiscoveredDevice(key=f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                            addresses=(address,), routes=(Route.WSD_MULTICAST,),
                            serial=serial_of(i) if serial else "", mac=mac_of(i),
                            endpoint=f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                            xaddrs=(f"http://{address}/onvif/device_service",),
                            vendor="HIKVISION", model="DS-2DE4425IW-DE")
