"""Fleets as data: generated from a seed, or described by a fleet file.

``generate_fleet(count, seed)`` makes a deterministic, varied fleet: several vendors'
identities (real OUIs and enterprise numbers, plausible models and serials), fixed bullets
and PTZ domes with different limits, optics and presets, positions scattered around a city
centre, and per-camera credentials. The same (count, seed) gives the same fleet everywhere.

A fleet file (YAML) lists cameras; an entry may be a full camera, a partial one that inherits
from ``defaults`` and a named ``template``, or a ``count`` of generated cameras with overrides::

    defaults:
      recording: {retention_days: 90}
    templates:
      dome: {ptz: {type: dome}}
    cameras:
      - count: 20            # 20 generated cameras...
        seed: 7
        template: dome       # ...each with the dome template on top
      - id: gate-1           # one described camera (generated first, then overridden)
        location: {address: "North gate"}
        faults: [{kind: mount_shifted, pan_deg: 4}]
        attachment: {switch: sw-north, port: 3}   # plugged into a simulated switch

A top-level ``switches`` list adds simulated access switches (:mod:`simulators.switch`,
loaded by :func:`load_fleet_switches`); a ``count`` entry's attachment takes consecutive
ports from the one given, and cameras without one are placed on free ports by the fleet.

Network addresses and ports are not the file's business: the backend assigns them.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from camfleet.model import (
    DeviceIdentity,
    GeoPosition,
    Mount,
    Preset,
    PtzLimits,
    PtzType,
    PtzVector,
    Range,
    format_validation_error,
)
from simulators.faults import Fault, parse_fault
from simulators.moves import offset_position
from simulators.spec import (
    CameraSpec,
    Location,
    NetworkSpec,
    Optics,
    PtzSpec,
    RecordingSpec,
    SnmpSpec,
    SnmpV3User,
    SpecError,
    User,
)
from simulators.switch.model import Attachment, SwitchSpec

#: Wuhan, Jianghan district: the default city centre.
CITY_CENTRE = GeoPosition(latitude=30.5928, longitude=114.3055, elevation=25.0)
#: How many different worlds a generated fleet looks at (each costs ~37 MB once rendered).
SCENE_SEEDS = 4


@dataclass(frozen=True)
class Vendor:
    manufacturer: str
    ouis: tuple[str, ...]
    domes: tuple[str, ...]
    bullets: tuple[str, ...]
    firmware: tuple[str, ...]
    serial_format: str


VENDORS = (
    Vendor("Hikvision", ("44:19:b6", "bc:ad:28", "c0:56:e3"),
           ("DS-2DE4425IW-DE", "DS-2DE7A432IW-AEB", "DS-2DF8425IX-AELW"),
           ("DS-2CD2043G2-I", "DS-2CD2T87G2-L", "DS-2CD2647G2-LZS"),
           ("V5.7.3 build 220112", "V5.7.11 build 230615", "V5.8.0 build 240220"),
           "{model}{year}{month:02d}{day:02d}AAWR{n:09d}"),
    Vendor("Dahua", ("3c:ef:8c", "e0:50:8b", "9c:14:63"),
           ("SD49425XB-HNR", "SD6AL445XA-HNR"), ("IPC-HFW2431S-S-S2", "IPC-HDBW3441E-AS"),
           ("V2.820.0000000.18.R", "V2.840.15OG000.0.R"), "{n_hex:0>15}"),
    Vendor("Axis", ("00:40:8c", "ac:cc:8e", "b8:a4:4f"), ("Q6135-LE", "M5525-E"),
           ("P1455-LE", "M2036-LE"), ("10.12.182", "11.5.64"), "ACCC8E{n_hex6}"),
    Vendor("Uniview", ("48:ea:63", "6c:f1:7e"), ("IPC6622SR-X33-VF",), ("IPC2124LB-SF28KM-G",),
           ("IPC_Q1207-B0006P37D1907",), "210235C{n:010d}"),
    Vendor("Hanwha", ("00:09:18",), ("XNP-6400RW",), ("XNO-6080R", "QNO-8080R"),
           ("2.21.02_20230512_R",), "ZX7G{n:07d}"),
)
DISTRICTS = ("jianghan", "jiangan", "qiaokou", "hanyang", "wuchang", "qingshan", "hongshan")
STREETS = ("Zhongshan Avenue", "Jiefang Avenue", "Hankou Road", "Youyi Avenue", "Minzhu Road",
           "Luoyu Road", "Heping Avenue", "Jianshe Avenue")


def _serial(vendor: Vendor, model: str, rng: random.Random) -> str:
    n = rng.randrange(10**9)
    return vendor.serial_format.format(
        model=model, year=rng.randrange(2019, 2026), month=rng.randrange(1, 13),
        day=rng.randrange(1, 29), n=n, n_hex=f"{n:X}", n_hex6=f"{n:06X}"[-6:])


def generate_camera(index: int, seed: int, centre: GeoPosition = CITY_CENTRE,
                    radius_m: float = 5000.0) -> CameraSpec:
    """Camera ``index`` of the fleet with this seed: deterministic, independent of the others."""
    rng = random.Random(zlib.crc32(f"camfleet/{seed}/{index}".encode()))
    vendor = rng.choice(VENDORS)
    ptz = rng.random() < 0.6
    model = rng.choice(vendor.domes if ptz else vendor.bullets)
    serial = _serial(vendor, model, rng)
    mac_tail = rng.randrange(2**24)
    mac = f"{rng.choice(vendor.ouis)}:{mac_tail >> 16:02x}:{(mac_tail >> 8) & 255:02x}:" \
          f"{mac_tail & 255:02x}"
    distance = radius_m * math.sqrt(rng.random())
    bearing = rng.uniform(0, 360)
    position = offset_position(centre, distance, bearing)
    position = position.model_copy(update={"elevation": round(centre.elevation
                                                              + rng.uniform(3, 12), 1)})
    district = rng.choice(DISTRICTS)
    street = rng.choice(STREETS)
    cam_id = f"cam-{index:04d}"
    if ptz:
        pan_lo = -rng.choice((180.0, 175.0, 170.0, 160.0))
        tilt_lo = -rng.choice((90.0, 85.0, 80.0))
        limits = PtzLimits(pan=Range(min=pan_lo, max=-pan_lo),
                           tilt=Range(min=tilt_lo, max=rng.choice((0.0, 5.0, 10.0))))
        presets = tuple(
            Preset(token=str(k + 1), name=f"preset-{k + 1}",
                   position=PtzVector(pan=round(rng.uniform(-120, 120), 1),
                                      tilt=round(rng.uniform(-40, -5), 1),
                                      zoom=round(rng.uniform(0, 0.3), 2)))
            for k in range(rng.randrange(1, 5)))
        ptz_spec = PtzSpec(type=PtzType.DOME, limits=limits, presets=presets,
                           home=PtzVector(pan=0.0, tilt=round(rng.uniform(-20, -5), 1)),
                           home_fixed=rng.random() < 0.2,
                           pan_speed=rng.choice((80.0, 120.0, 240.0)),
                           tilt_speed=rng.choice((40.0, 60.0, 120.0)))
        optics = Optics(width=1280, height=720, hfov=rng.choice((58.0, 60.0, 63.0)),
                        zoom_max=rng.choice((20.0, 25.0, 32.0)))
    else:
        ptz_spec = PtzSpec(type=PtzType.FIXED, degrees_space=False)
        optics = Optics(width=rng.choice((1280, 1920)), height=720, hfov=rng.uniform(50, 105),
                        zoom_max=1.0)
        optics = optics.model_copy(update={"height": optics.width * 9 // 16})
    return CameraSpec(
        id=cam_id,
        identity=DeviceIdentity(manufacturer=vendor.manufacturer, model=model,
                                firmware=rng.choice(vendor.firmware), serial=serial,
                                hardware_id=f"{rng.randrange(16, 256):X}", mac=mac),
        location=Location(position=position,
                          address=f"{rng.randrange(1, 400)} {street}, {district.title()}, Wuhan",
                          scope=f"country/china/city/wuhan/district/{district}",
                          name=f"{street.split()[0]}-{index}"),
        optics=optics,
        ptz=ptz_spec,
        mount=Mount(heading=round(rng.uniform(0, 360), 1),
                    tilt=round(rng.uniform(-25, -5), 1) if not ptz else 0.0),
        users=(User(username="admin", password=f"Adm!{rng.randrange(16**8):08x}"),
               User(username="viewer", password=f"View{rng.randrange(16**6):06x}",
                    level="User")),
        snmp=SnmpSpec(community=rng.choice(("cf-ro-2024", "public-ro")),
                      v3_users=(SnmpV3User(name="camfleet",
                                           auth_key=f"auth{rng.randrange(16**8):08x}",
                                           priv_key=f"priv{rng.randrange(16**8):08x}"),),
                      contact="noc@wuhan-video.example"),
        recording=RecordingSpec(retention_days=rng.choice((30.0, 90.0, 90.0, 180.0, 730.0))),
        network=NetworkSpec(hostname=cam_id),
        scene_seed=index % SCENE_SEEDS,
    )


def generate_fleet(count: int, seed: int = 0, **options: Any) -> list[CameraSpec]:
    if count < 0:
        raise ValueError(f"a fleet cannot have {count} cameras")
    return [generate_camera(i, seed, **options) for i in range(count)]


# -- fleet files ----------------------------------------------------------------------------------

@dataclass
class FleetMember:
    spec: CameraSpec
    faults: list[Fault] = field(default_factory=list)
    #: Switch and port it is plugged into (None: the fleet places it, if it has switches).
    attachment: Attachment | None = None


def load_fleet_switches(path: str | Path) -> list[SwitchSpec]:
    """The ``switches`` of a fleet file (none: ``[]``); a bad entry fails with its field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read fleet file: {exc}") from exc
    raw = data.get("switches") if isinstance(data, dict) else None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SpecError(f"{path}: 'switches' is a list of switches")
    switches = []
    for number, entry in enumerate(raw, start=1):
        try:
            switches.append(SwitchSpec.model_validate(entry))
        except ValidationError as exc:
            raise SpecError(f"{path}: switches[{number}]: invalid switch:\n"
                            f"{format_validation_error(exc)}") from exc
    return switches


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _attachment(where: str, raw: Any) -> Attachment | None:
    try:
        return None if raw is None else Attachment.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{where}: invalid attachment:\n"
                        f"{format_validation_error(exc)}") from exc


def load_fleet_file(path: str | Path) -> list[FleetMember]:
    """Load a fleet file; a bad entry fails with the file, the entry and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read fleet file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), list):
        raise SpecError(f"{path}: a fleet file is a mapping with a 'cameras' list")
    defaults = data.get("defaults") or {}
    templates = data.get("templates") or {}
    members: list[FleetMember] = []
    for number, raw in enumerate(data["cameras"], start=1):
        where = f"{path}: cameras[{number}]"
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: each camera is a mapping")
        entry = dict(raw)
        count = int(entry.pop("count", 1))
        seed = int(entry.pop("seed", 0))
        template_name = entry.pop("template", None)
        attachment_raw = entry.pop("attachment", None)
        if template_name is not None and template_name not in templates:
            raise SpecError(f"{where}: unknown template {template_name!r} "
                            f"(defined: {', '.join(templates) or 'none'})")
        layers = [dict(defaults), dict(templates.get(template_name) or {}), entry]
        try:
            # Faults add up across defaults, template and entry rather than replace each other.
            faults = [parse_fault(f) for layer in layers for f in layer.pop("faults", None) or []]
        except ValidationError as exc:
            raise SpecError(f"{where}: invalid fault:\n{format_validation_error(exc)}") from exc
        attachment = _attachment(where, attachment_raw)
        overrides = deep_merge(deep_merge(layers[0], layers[1]), entry)
        for k in range(count):
            index = len(members)
            generated = generate_camera(index, seed + k if count > 1 else seed)
            camera = deep_merge(generated.model_dump(mode="json"), overrides)
            if count > 1 or "id" not in entry:
                camera["id"] = f"{entry.get('id', 'cam')}-{index:04d}" if "id" in entry \
                    else generated.id
            try:
                spec = CameraSpec.model_validate(camera)
            except ValidationError as exc:
                raise SpecError(f"{where}: invalid camera:\n"
                                f"{format_validation_error(exc)}") from exc
            placed = None if attachment is None else _attachment(
                f"{where} (camera {k + 1} of {count})",
                {**attachment.model_dump(), "port": attachment.port + k})
            members.append(FleetMember(spec, list(faults), placed))
    ids = [m.spec.id for m in members]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SpecError(f"{path}: camera ids must be unique; repeated: {', '.join(duplicates)}")
    return members
