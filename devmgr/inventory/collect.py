"""Collect the inventory of cameras: what each one is, over ONVIF and SNMP, at fleet scale.

    async with OnvifPool(limit=256) as pool:
        inventories = await inventory_sweep(targets, pool=pool)

Per camera: the clock first (pre-auth GetSystemDateAndTime, so WS-Security is stamped in the
camera's time), then identity, then the service map, then everything else concurrently. A
camera that fails is an ``Inventory`` with classified ``errors``; nothing a camera does stops
the sweep. Optional operations a camera does not implement (``ActionNotSupported``) are not
errors: the field stays empty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import GeoPosition, normalize_mac
from camfleet.targets import Target
from devmgr.inventory.encoders import MAX_TEXT, EncoderError, parse_video_encoder
from devmgr.inventory.model import (
    DeviceInfo,
    Inventory,
    MediaProfile,
    PtzInventory,
    PtzSpace,
    SnmpIdentity,
)
from devmgr.onvif.errors import OnvifError, SoapFaultError
from devmgr.onvif.ptz import parse_presets
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool, OnvifSession, Timeouts
from devmgr.onvif.soap import SERVICE_NAMESPACES, prepare
from devmgr.onvif.xml import (
    BadValue,
    child_text,
    parse_bool,
    parse_onvif_datetime,
    parse_ptz_vector,
    parse_range,
    read_duration_s,
    read_float,
    read_int,
    shown,
)

T = TypeVar("T")
E = TypeVar("E")
#: Bounds of the values a camera may report; beyond them the value is garbage (a classified
#: error naming the field), not a fact. Generous: they keep out 1e309, not odd hardware.
MAX_PRESETS = 100_000
MAX_RETENTION_S = 1000 * 365 * 86400.0
MAX_PTZ_TIMEOUT_S = 365 * 86400.0
MAX_ELEVATION_M = 100_000.0
#: Longest message kept from a bad value's error.
MAX_MESSAGE_CHARS = 300
#: The most of each repeated element accepted from one reply: the first ones are kept, the
#: rest is a protocol error (60,000 profiles would be 60,000 GetStreamUri calls).
MAX_PROFILES = 64
MAX_PRESETS_LISTED = 1024
MAX_SCOPES = 256
MAX_LISTED = 64
Progress = Callable[[Inventory], None]
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
#: Every request an inventory makes, by parameter shape (string values are placeholders).
INVENTORY_REQUESTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("device", "GetSystemDateAndTime", {}), ("device", "GetDeviceInformation", {}),
    ("device", "GetServices", {"IncludeCapability": False}),
    ("device", "GetCapabilities", {"Category": "All"}),
    ("device", "GetScopes", {}), ("device", "GetNetworkInterfaces", {}),
    ("device", "GetHostname", {}), ("device", "GetNTP", {}), ("device", "GetDiscoveryMode", {}),
    ("device", "GetGeoLocation", {}), ("media", "GetProfiles", {}),
    ("media", "GetStreamUri", {"ProfileToken": "", "StreamSetup": STREAM_SETUP}),
    ("media", "GetSnapshotUri", {"ProfileToken": ""}), ("recording", "GetRecordings", {}),
    ("ptz", "GetNodes", {}), ("ptz", "GetConfigurations", {}),
    ("ptz", "GetConfigurationOptions", {"ConfigurationToken": ""}),
    ("ptz", "GetStatus", {"ProfileToken": ""}), ("ptz", "GetPresets", {"ProfileToken": ""}),
)


def prime_templates() -> None:
    """Build the inventory's request templates now (for ``export_templates``)."""
    for service, operation, params in INVENTORY_REQUESTS:
        prepare(service, operation, params)


def _spaces(element: etree._Element | None) -> list[PtzSpace]:
    spaces: list[PtzSpace] = []
    if element is None:
        return spaces
    for child in element:
        uri = child_text(child, "{*}URI")
        if uri:
            spaces.append(PtzSpace(uri=uri, x=parse_range(child.find("{*}XRange")),
                                   y=parse_range(child.find("{*}YRange"))))
    return spaces


class Collector:
    """One camera's collection; records failures instead of raising them."""

    def __init__(self, session: OnvifSession) -> None:
        self.session = session
        self.errors: list[DeviceError] = []

    async def attempt(self, operation: str, work: Awaitable[T], *,
                      optional: bool = False) -> T | None:
        try:
            return await work
        except SoapFaultError as exc:
            if not (optional and exc.not_supported):
                self.errors.append(exc.as_device_error(operation))
        except OnvifError as exc:
            self.errors.append(exc.as_device_error(operation))
        except BadValue as exc:
            self.bad_value(operation, exc)
        return None

    def read(self, operation: str, reader: Callable[..., T], *args: Any) -> T | None:
        """``reader(*args)`` over a reply's values; a value it refuses (``BadValue``, or a
        model that does not validate) is a ``protocol`` error of this camera naming the field,
        and reads as None: the other fields are kept."""
        try:
            return reader(*args)
        except (ValueError, ArithmeticError) as exc:  # BadValue, pydantic's ValidationError
            self.bad_value(operation, exc)
            return None

    def capped(self, operation: str, what: str, items: Iterable[E], limit: int) -> list[E]:
        """The first ``limit`` items; more is a protocol error naming how many came."""
        kept: list[E] = []
        extra = 0
        for item in items:
            if len(kept) < limit:
                kept.append(item)
            else:
                extra += 1
        if extra:
            self.errors.append(DeviceError(
                kind=ErrorKind.PROTOCOL, operation=operation,
                message=f"{limit + extra} {what}, more than the {limit} accepted (the first "
                        f"{limit} kept)"))
        return kept

    def bad_value(self, operation: str, exc: Exception) -> None:
        self.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation=operation,
                                       message=value_message(exc)))

    def call(self, service: str, operation: str, params: dict[str, Any] | None = None,
             *, optional: bool = False) -> Awaitable[etree._Element | None]:
        return self.attempt(operation, self.session.call(service, operation, params),
                            optional=optional)

    @property
    def fatal(self) -> bool:
        """Nothing more will come: the camera is gone, or will not let us in."""
        return any(e.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.AUTH)
                   for e in self.errors)


async def collect_onvif(session: OnvifSession, target: Target) -> dict[str, Any]:
    """The ONVIF part of an inventory as ``Inventory`` fields (``errors`` included)."""
    c = Collector(session)
    fields: dict[str, Any] = {}
    clock = await c.attempt("GetSystemDateAndTime", session.sync_clock())
    if clock is None:
        fields["reachable"] = not c.fatal
        fields["errors"] = tuple(c.errors)
        return fields
    fields["clock_offset_s"] = session.clock_offset.total_seconds()
    fields["camera_time"] = parse_onvif_datetime(clock.find(".//{*}UTCDateTime"))
    fields["timezone"] = child_text(clock, ".//{*}TimeZone/{*}TZ")

    info = await c.call("device", "GetDeviceInformation")
    if info is not None:
        fields["device"] = DeviceInfo(
            manufacturer=child_text(info, "{*}Manufacturer"),
            model=child_text(info, "{*}Model"),
            firmware=child_text(info, "{*}FirmwareVersion"),
            serial=child_text(info, "{*}SerialNumber"),
            hardware_id=child_text(info, "{*}HardwareId"))
    if c.fatal:
        fields["errors"] = tuple(c.errors)
        return fields

    fields["services"] = await service_map(c)
    has = {name for name, ns in SERVICE_NAMESPACES.items() if ns in fields["services"]}
    _, profiles, retention = await asyncio.gather(
        device_facts(c, fields), media_facts(c) if "media" in has else _empty(),
        recording_retention(c) if "recording" in has else _none())
    fields["profiles"] = tuple(profiles)
    fields["recording_retention_days"] = retention
    if "ptz" in has:
        fields["ptz"] = await ptz_facts(c, profiles)
    fields["errors"] = tuple(c.errors)
    return fields


async def service_map(c: Collector) -> dict[str, str]:
    """Namespace -> XAddr from GetServices, else GetCapabilities; the session learns them."""
    services = await c.call("device", "GetServices", {"IncludeCapability": False},
                            optional=True)
    found: dict[str, str] = {}
    if services is not None:
        for entry in services.iterfind("{*}Service"):
            namespace, xaddr = child_text(entry, "{*}Namespace"), child_text(entry, "{*}XAddr")
            if namespace and xaddr:
                found[namespace] = xaddr
    if not found:
        caps = await c.call("device", "GetCapabilities", {"Category": "All"})
        for name, tag in (("media", "Media"), ("ptz", "PTZ"), ("imaging", "Imaging"),
                          ("recording", "Recording")):
            xaddr = child_text(caps, f".//{{*}}{tag}/{{*}}XAddr") if caps is not None else ""
            if xaddr:
                found[SERVICE_NAMESPACES[name]] = xaddr
    by_namespace = {ns: name for name, ns in SERVICE_NAMESPACES.items()}
    for namespace, xaddr in found.items():
        if namespace in by_namespace:
            c.session.set_xaddr(by_namespace[namespace], xaddr)
    return found


async def device_facts(c: Collector, fields: dict[str, Any]) -> None:
    scopes, interfaces, hostname, ntp, mode, geo = await asyncio.gather(
        c.call("device", "GetScopes"),
        c.call("device", "GetNetworkInterfaces"),
        c.call("device", "GetHostname", optional=True),
        c.call("device", "GetNTP", optional=True),
        c.call("device", "GetDiscoveryMode", optional=True),
        c.call("device", "GetGeoLocation", optional=True))
    if scopes is not None:
        fields["scopes"] = tuple(child_text(s, "{*}ScopeItem") for s in c.capped(
            "GetScopes", "scopes", scopes.iterfind("{*}Scopes"), MAX_SCOPES))
    hw = child_text(interfaces, ".//{*}Info/{*}HwAddress")
    if hw:
        try:
            fields["mac"] = normalize_mac(hw)
        except ValueError:
            c.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation="GetNetworkInterfaces",
                                        message=f"HwAddress {shown(hw)} is not a MAC address"))
    fields["hostname"] = child_text(hostname, ".//{*}Name")
    if ntp is not None:
        fields["ntp_servers"] = tuple(
            child_text(m, "{*}DNSname") or child_text(m, "{*}IPv4Address")
            for m in c.capped("GetNTP", "NTP servers", ntp.iterfind(".//{*}NTPManual"),
                              MAX_LISTED))
    fields["discovery_mode"] = child_text(mode, "{*}DiscoveryMode")
    location = geo.find(".//{*}GeoLocation") if geo is not None else None
    if location is not None:
        op = "GetGeoLocation"
        lat = c.read(op, read_float, location.get("lat"), "GeoLocation lat", -90.0, 90.0)
        lon = c.read(op, read_float, location.get("lon"), "GeoLocation lon", -180.0, 180.0)
        elevation = c.read(op, read_float, location.get("elevation"), "GeoLocation elevation",
                           -MAX_ELEVATION_M, MAX_ELEVATION_M)
        if lat is not None and lon is not None:
            fields["geolocation"] = GeoPosition(latitude=lat, longitude=lon,
                                                elevation=elevation or 0.0)
            entity = location.getparent()
            auto = (entity.get("AutoGeo") or "").strip().lower() if entity is not None else ""
            source = entity.get("GeoSource") if entity is not None else None
            fields["geolocation_source"] = "gnss" if auto in ("true", "1") or source \
                else "configured"


async def media_facts(c: Collector) -> list[MediaProfile]:
    profiles = await c.call("media", "GetProfiles")
    if profiles is None:
        return []

    async def one(profile: etree._Element) -> MediaProfile:
        token = profile.get("token") or ""
        encoder = profile.find("{*}VideoEncoderConfiguration")
        stream, snapshot = await asyncio.gather(
            c.call("media", "GetStreamUri", {"ProfileToken": token, "StreamSetup": STREAM_SETUP}),
            c.call("media", "GetSnapshotUri", {"ProfileToken": token}, optional=True))
        ptz_config = profile.find("{*}PTZConfiguration")
        try:
            video = parse_video_encoder(encoder)
        except EncoderError as exc:
            video = None
            c.errors.append(DeviceError(
                kind=ErrorKind.PROTOCOL, operation="GetProfiles",
                message=f"profile {token[:MAX_TEXT]!r} video encoder configuration: {exc}"))
        return MediaProfile(
            token=token, name=child_text(profile, "{*}Name"),
            encoding=video.encoding if video else "",
            width=video.width if video else None, height=video.height if video else None,
            video_encoder=video,
            stream_uri=child_text(stream, ".//{*}Uri"),
            snapshot_uri=child_text(snapshot, ".//{*}Uri"),
            ptz_configuration=ptz_config.get("token", "") if ptz_config is not None else "")

    listed = c.capped("GetProfiles", "profiles", profiles.iterfind("{*}Profiles"), MAX_PROFILES)
    return list(await asyncio.gather(*(one(p) for p in listed)))


async def recording_retention(c: Collector) -> float | None:
    recordings = await c.call("recording", "GetRecordings", optional=True)
    seconds = c.read("GetRecordings", read_duration_s,
                     child_text(recordings, ".//{*}MaximumRetentionTime"),
                     "MaximumRetentionTime", MAX_RETENTION_S)
    return seconds / 86400 if seconds is not None else None


async def _empty() -> list[MediaProfile]:
    return []


async def ptz_facts(c: Collector, profiles: Sequence[MediaProfile]) -> PtzInventory | None:
    profile = next((p.token for p in profiles if p.ptz_configuration), None)
    nodes, configs = await asyncio.gather(c.call("ptz", "GetNodes"),
                                          c.call("ptz", "GetConfigurations"))
    node = nodes.find("{*}PTZNode") if nodes is not None else None
    config = configs.find("{*}PTZConfiguration") if configs is not None else None
    if node is None and config is None:
        return None
    config_token = config.get("token", "") if config is not None else ""
    options, status, presets = await asyncio.gather(
        c.call("ptz", "GetConfigurationOptions", {"ConfigurationToken": config_token})
        if config_token else _none(),
        c.call("ptz", "GetStatus", {"ProfileToken": profile}) if profile else _none(),
        c.call("ptz", "GetPresets", {"ProfileToken": profile}) if profile else _none())
    pan_tilt_range = config.find("{*}PanTiltLimits/{*}Range") if config is not None else None
    zoom_range = config.find("{*}ZoomLimits/{*}Range") if config is not None else None
    spaces = _spaces(node.find("{*}SupportedPTZSpaces") if node is not None else None)
    if options is not None:
        spaces += [s for s in _spaces(options.find(".//{*}Spaces")) if s not in spaces]
    timeout = child_text(config, "{*}DefaultPTZTimeout")
    if presets is not None:  # only to record that there were too many
        c.capped("GetPresets", "presets", presets.iterfind("{*}Preset"), MAX_PRESETS_LISTED)
    return PtzInventory(
        node=node.get("token", "") if node is not None else "",
        fixed_home=parse_bool(node.get("FixedHomePosition")) if node is not None else None,
        home_supported=parse_bool(child_text(node, "{*}HomeSupported")),
        max_presets=c.read("GetNodes", read_int, child_text(node, "{*}MaximumNumberOfPresets"),
                           "MaximumNumberOfPresets", 0, MAX_PRESETS) or None,
        configuration=config_token,
        pan_limits=parse_range(pan_tilt_range.find("{*}XRange")) if pan_tilt_range is not None
        else None,
        tilt_limits=parse_range(pan_tilt_range.find("{*}YRange")) if pan_tilt_range is not None
        else None,
        zoom_limits=parse_range(zoom_range.find("{*}XRange")) if zoom_range is not None else None,
        limits_space=child_text(pan_tilt_range, "{*}URI"),
        spaces=tuple(spaces),
        default_timeout_s=c.read("GetConfigurations", read_duration_s, timeout,
                                 "DefaultPTZTimeout", MAX_PTZ_TIMEOUT_S),
        position=parse_ptz_vector(status.find(".//{*}Position")) if status is not None else None,
        move_status=child_text(status, ".//{*}MoveStatus/{*}PanTilt"),
        presets=parse_presets(presets, limit=MAX_PRESETS_LISTED),
    )


async def _none() -> None:
    return None


def value_message(exc: Exception) -> str:
    """One bounded line for a refused value: the field, the value quoted, the reason."""
    if isinstance(exc, ValidationError):
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or e['type']}: {e['msg']} "
                         f"({shown(str(e.get('input')))})" for e in exc.errors())
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else f"{text[:MAX_MESSAGE_CHARS]}..."


SnmpLookup = Callable[[Target], Awaitable["SnmpIdentity | DeviceError | None"]]


async def collect_inventory(pool: OnvifPool, target: Target, *,
                            snmp: SnmpLookup | None = None,
                            session: OnvifSession | None = None) -> Inventory:
    """One camera's inventory, within the pool's per-camera time limit (``session``: one
    already open on the camera, e.g. the acceptance suite's, instead of a new one)."""
    began = time.monotonic()
    collected_at = datetime.now(UTC)
    if session is None:
        session = OnvifSession(pool, target.device_url, target.onvif.username,
                               target.onvif_password(), allow_basic=target.onvif.allow_basic)
    snmp_task = asyncio.ensure_future(snmp(target)) if snmp and target.snmp else None
    try:
        async with asyncio.timeout(pool.timeouts.camera):
            fields = await collect_onvif(session, target)
    except TimeoutError:
        fields = {"errors": (DeviceError(kind=ErrorKind.TIMEOUT, operation="inventory",
                                         message=f"collection exceeded "
                                                 f"{pool.timeouts.camera:g} s"),)}
    except (ValueError, ArithmeticError) as exc:
        # A value no reader anticipated: still this camera's protocol error, never the sweep's.
        fields = {"errors": (DeviceError(kind=ErrorKind.PROTOCOL, operation="inventory",
                                         message=value_message(exc)),)}
    errors = list(fields.pop("errors", ()))
    if snmp_task is not None:
        found = await snmp_task
        if isinstance(found, SnmpIdentity):
            fields["snmp"] = found
        elif isinstance(found, DeviceError):
            errors.append(found)
    if not fields.get("device"):
        fields.setdefault("reachable", not any(
            e.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT) for e in errors))
    try:
        return Inventory(target_id=target.id, address=target.address,
                         collected_at=collected_at, errors=tuple(errors),
                         elapsed_s=time.monotonic() - began, **fields)
    except ValidationError as exc:  # a field the readers let through, the model refused
        errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation="inventory",
                                  message=value_message(exc)))
        return Inventory(target_id=target.id, address=target.address,
                         collected_at=collected_at, errors=tuple(errors),
                         elapsed_s=time.monotonic() - began)


async def inventory_sweep(targets: Sequence[Target], *, pool: OnvifPool | None = None,
                          concurrency: int = 256, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                          snmp: SnmpLookup | None = None,
                          progress: Progress | None = None) -> list[Inventory]:
    """Inventories of all targets, in order; ``timeouts.sweep`` bounds the whole sweep (the
    cameras not done by then are recorded as timed out)."""
    if pool is None:
        async with OnvifPool(limit=concurrency, timeouts=timeouts) as own:
            return await inventory_sweep(targets, pool=own, concurrency=concurrency,
                                         timeouts=timeouts, snmp=snmp, progress=progress)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> Inventory:
        async with semaphore:
            inventory = await collect_inventory(pool, target, snmp=snmp)
        if progress is not None:
            progress(inventory)
        return inventory

    tasks = [asyncio.ensure_future(one(t)) for t in targets]
    if timeouts.sweep is not None:
        await asyncio.wait(tasks, timeout=timeouts.sweep)
    else:
        await asyncio.gather(*tasks)
    results = []
    for target, task in zip(targets, tasks, strict=True):
        if task.done() and not task.cancelled():
            results.append(task.result())
            continue
        task.cancel()
        results.append(Inventory(
            target_id=target.id, address=target.address, collected_at=datetime.now(UTC),
            reachable=False,
            errors=(DeviceError(kind=ErrorKind.TIMEOUT, operation="inventory",
                                message=f"sweep time limit {timeouts.sweep:g} s reached"),)))
    return results
