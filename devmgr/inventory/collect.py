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
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from lxml import etree

from devmgr.inventory.model import (
    DeviceError,
    DeviceInfo,
    ErrorKind,
    Inventory,
    MediaProfile,
    PtzInventory,
    PtzPreset,
    PtzSpace,
    SnmpIdentity,
)
from devmgr.model import GeoPosition, PtzVector, Range, normalize_mac
from devmgr.onvif.session import (
    DEFAULT_TIMEOUTS,
    SERVICE_NAMESPACES,
    OnvifError,
    OnvifPool,
    OnvifSession,
    SoapFaultError,
    Timeouts,
    parse_onvif_datetime,
    prepare,
)
from devmgr.targets import Target

T = TypeVar("T")
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


def child_text(element: etree._Element | None, path: str) -> str:
    """Stripped text at ``path`` below ``element`` ("" if either is absent)."""
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def parse_float(text: str | None) -> float | None:
    """A number from device text; None for absent, empty or unparsable text."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _range(element: etree._Element | None) -> Range | None:
    low = parse_float(child_text(element, "{*}Min"))
    high = parse_float(child_text(element, "{*}Max"))
    if low is None or high is None or low > high:
        return None
    return Range(min=low, max=high)


def parse_duration_days(text: str) -> float | None:
    """xs:duration (``P90D``, ``PT2160H``, ``P1Y``) in days; years as 365 days."""
    import isodate  # noqa: PLC0415 (zeep's dependency; only needed here)

    if not text:
        return None
    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError):
        return None
    if isinstance(value, isodate.Duration):
        days = float(value.years) * 365 + float(value.months) * 30
        return days + float(value.tdelta.total_seconds()) / 86400
    return float(value.total_seconds()) / 86400


def parse_ptz_vector(element: etree._Element | None) -> PtzVector | None:
    """A tt:PTZVector (PanTilt x/y, Zoom x); absent axes read as 0."""
    if element is None:
        return None
    pan_tilt = element.find("{*}PanTilt")
    zoom = element.find("{*}Zoom")
    return PtzVector(
        pan=parse_float(pan_tilt.get("x")) or 0.0 if pan_tilt is not None else 0.0,
        tilt=parse_float(pan_tilt.get("y")) or 0.0 if pan_tilt is not None else 0.0,
        zoom=parse_float(zoom.get("x")) or 0.0 if zoom is not None else 0.0,
    )


def _spaces(element: etree._Element | None) -> list[PtzSpace]:
    spaces: list[PtzSpace] = []
    if element is None:
        return spaces
    for child in element:
        uri = child_text(child, "{*}URI")
        if uri:
            spaces.append(PtzSpace(uri=uri, x=_range(child.find("{*}XRange")),
                                   y=_range(child.find("{*}YRange"))))
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
        return None

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
        fields["scopes"] = tuple(child_text(s, "{*}ScopeItem")
                                 for s in scopes.iterfind("{*}Scopes"))
    hw = child_text(interfaces, ".//{*}Info/{*}HwAddress")
    if hw:
        try:
            fields["mac"] = normalize_mac(hw)
        except ValueError:
            c.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation="GetNetworkInterfaces",
                                        message=f"HwAddress {hw!r} is not a MAC address"))
    fields["hostname"] = child_text(hostname, ".//{*}Name")
    if ntp is not None:
        fields["ntp_servers"] = tuple(child_text(m, "{*}DNSname") or child_text(m, "{*}IPv4Address")
                                      for m in ntp.iterfind(".//{*}NTPManual"))
    fields["discovery_mode"] = child_text(mode, "{*}DiscoveryMode")
    location = geo.find(".//{*}GeoLocation") if geo is not None else None
    if location is not None:
        lat, lon = parse_float(location.get("lat")), parse_float(location.get("lon"))
        if lat is not None and lon is not None:
            fields["geolocation"] = GeoPosition(latitude=lat, longitude=lon,
                                                elevation=parse_float(location.get("elevation"))
                                                or 0.0)


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
        return MediaProfile(
            token=token, name=child_text(profile, "{*}Name"),
            encoding=child_text(encoder, "{*}Encoding"),
            width=int(parse_float(child_text(encoder, "{*}Resolution/{*}Width")) or 0) or None,
            height=int(parse_float(child_text(encoder, "{*}Resolution/{*}Height")) or 0) or None,
            stream_uri=child_text(stream, ".//{*}Uri"),
            snapshot_uri=child_text(snapshot, ".//{*}Uri"),
            ptz_configuration=ptz_config.get("token", "") if ptz_config is not None else "")

    return list(await asyncio.gather(*(one(p) for p in profiles.iterfind("{*}Profiles"))))


async def recording_retention(c: Collector) -> float | None:
    recordings = await c.call("recording", "GetRecordings", optional=True)
    return parse_duration_days(child_text(recordings, ".//{*}MaximumRetentionTime"))


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
    return PtzInventory(
        node=node.get("token", "") if node is not None else "",
        fixed_home=_bool(node.get("FixedHomePosition")) if node is not None else None,
        home_supported=_bool(child_text(node, "{*}HomeSupported")),
        max_presets=int(parse_float(child_text(node, "{*}MaximumNumberOfPresets")) or 0) or None,
        configuration=config_token,
        pan_limits=_range(pan_tilt_range.find("{*}XRange")) if pan_tilt_range is not None
        else None,
        tilt_limits=_range(pan_tilt_range.find("{*}YRange")) if pan_tilt_range is not None
        else None,
        zoom_limits=_range(zoom_range.find("{*}XRange")) if zoom_range is not None else None,
        limits_space=child_text(pan_tilt_range, "{*}URI"),
        spaces=tuple(spaces),
        default_timeout_s=(parse_duration_days(timeout) or 0) * 86400 if timeout else None,
        position=parse_ptz_vector(status.find(".//{*}Position")) if status is not None else None,
        move_status=child_text(status, ".//{*}MoveStatus/{*}PanTilt"),
        presets=tuple(PtzPreset(token=p.get("token", ""), name=child_text(p, "{*}Name"),
                                position=parse_ptz_vector(p.find("{*}PTZPosition")))
                      for p in (presets.iterfind("{*}Preset") if presets is not None else ())),
    )


async def _none() -> None:
    return None


def _bool(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    return text.strip().lower() in ("true", "1")


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
                               target.onvif_password())
    snmp_task = asyncio.ensure_future(snmp(target)) if snmp and target.snmp else None
    try:
        async with asyncio.timeout(pool.timeouts.camera):
            fields = await collect_onvif(session, target)
    except TimeoutError:
        fields = {"errors": (DeviceError(kind=ErrorKind.TIMEOUT, operation="inventory",
                                         message=f"collection exceeded "
                                                 f"{pool.timeouts.camera:g} s"),)}
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
    return Inventory(target_id=target.id, address=target.address, collected_at=collected_at,
                     errors=tuple(errors), elapsed_s=time.monotonic() - began, **fields)


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
