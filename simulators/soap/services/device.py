"""Device management service (ONVIF Core, tds)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from simulators.soap.envelope import SoapFault, sender_fault
from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services.capabilities import (
    DEVICE_NETWORK,
    DEVICE_SECURITY,
    DEVICE_SYSTEM,
    EVENTS,
    MAX_PROFILES,
    MEDIA_STREAMING,
    RECORDING,
    capabilities_element,
)
from simulators.state import CameraState

ROUTES = Routes("device")

DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
SERVICE_NAMESPACES = {
    "device": DEVICE_NS,
    "media": "http://www.onvif.org/ver10/media/wsdl",
    "media2": "http://www.onvif.org/ver20/media/wsdl",
    "ptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "imaging": "http://www.onvif.org/ver20/imaging/wsdl",
    "recording": "http://www.onvif.org/ver10/recording/wsdl",
    "events": "http://www.onvif.org/ver10/events/wsdl",
}
SERVICE_VERSIONS = {"device": (2, 40), "media": (2, 40), "media2": (17, 6), "ptz": (2, 40),
                    "imaging": (2, 40), "recording": (2, 40), "events": (2, 40)}


def served_services(state: CameraState) -> list[str]:
    """Every ONVIF device has an event service (ONVIF Core): pull-point subscriptions."""
    services = ["device", "media", "media2", "imaging", "recording", "events"]
    if state.spec.is_ptz:
        services.insert(2, "ptz")
    return services


def _date_time(moment: datetime) -> dict[str, Any]:
    return {
        "Date": {"Year": moment.year, "Month": moment.month, "Day": moment.day},
        "Time": {"Hour": moment.hour, "Minute": moment.minute, "Second": moment.second},
    }


def posix_tz_offset(tz: str) -> timedelta:
    """UTC offset of a POSIX TZ string's standard time (``CST-8`` is UTC+8)."""
    match = re.match(r"^[A-Za-z]{3,}([+-]?\d{1,2})(?::(\d{2}))?", tz)
    if not match:
        return timedelta(0)
    hours = int(match.group(1))
    minutes = int(match.group(2) or 0) * (1 if hours >= 0 else -1)
    return -timedelta(hours=hours, minutes=minutes)


@ROUTES.operation("GetSystemDateAndTime", Access.PRE_AUTH)
def get_system_date_and_time(ctx: Context, request: Any) -> dict[str, Any]:
    now = ctx.state.utc_now()
    tz = ctx.state.spec.network.timezone
    return {"SystemDateAndTime": {
        "DateTimeType": "NTP" if ctx.state.spec.network.ntp_servers else "Manual",
        "DaylightSavings": False,
        "TimeZone": {"TZ": tz},
        "UTCDateTime": _date_time(now),
        "LocalDateTime": _date_time(now + posix_tz_offset(tz)),
    }}


@ROUTES.operation("GetDeviceInformation", Access.READ_SYSTEM)
def get_device_information(ctx: Context, request: Any) -> dict[str, Any]:
    ident = ctx.state.spec.identity
    return {"Manufacturer": ident.manufacturer, "Model": ident.model,
            "FirmwareVersion": ident.firmware, "SerialNumber": ident.serial,
            "HardwareId": ident.hardware_id}


@ROUTES.operation("GetServices", Access.PRE_AUTH)
def get_services(ctx: Context, request: Any) -> dict[str, Any]:
    include = bool(getattr(request, "IncludeCapability", False))
    services = []
    for name in served_services(ctx.state):
        service: dict[str, Any] = {
            "Namespace": SERVICE_NAMESPACES[name], "XAddr": ctx.xaddr(name),
            "Version": {"Major": SERVICE_VERSIONS[name][0], "Minor": SERVICE_VERSIONS[name][1]}}
        if include:  # DEVICE-1-1-13..22: capabilities only when asked for
            service["Capabilities"] = {"_value_1": capabilities_element(ctx, name)}
        services.append(service)
    return {"Service": services}


def _device_capabilities(ctx: Context) -> dict[str, Any]:
    """tt:DeviceCapabilities: the flags of the device service's capabilities, in the older
    layout GetCapabilities uses (DEVICE-1-1-30 compares the two)."""
    net, system, sec = DEVICE_NETWORK, DEVICE_SYSTEM, DEVICE_SECURITY
    return {
        "XAddr": ctx.xaddr("device"),
        "Network": {"IPFilter": net["IPFilter"], "ZeroConfiguration": net["ZeroConfiguration"],
                    "IPVersion6": net["IPVersion6"], "DynDNS": net["DynDNS"],
                    "Extension": {"Dot11Configuration": net["Dot11Configuration"]}},
        "System": {**{key: system[key] for key in (
            "DiscoveryResolve", "DiscoveryBye", "RemoteDiscovery", "SystemBackup",
            "SystemLogging", "FirmwareUpgrade")},
            "SupportedVersions": [{"Major": 2, "Minor": 40}],
            "Extension": {key: system[key] for key in (
                "HttpFirmwareUpgrade", "HttpSystemBackup", "HttpSystemLogging",
                "HttpSupportInformation")}},
        "Security": {**{key: sec[key] for key in (
            "TLS1.1", "TLS1.2", "OnboardKeyGeneration", "AccessPolicyConfig", "X.509Token",
            "SAMLToken", "KerberosToken", "RELToken")},
            "Extension": {"TLS1.0": sec["TLS1.0"],
                          "Extension": {"Dot1X": sec["Dot1X"],
                                        "RemoteUserHandling": sec["RemoteUserHandling"]}}},
    }


@ROUTES.operation("GetCapabilities", Access.READ_SYSTEM)
def get_capabilities(ctx: Context, request: Any) -> dict[str, Any]:
    categories = set(getattr(request, "Category", None) or ["All"])

    def want(category: str) -> bool:
        return "All" in categories or category in categories

    caps: dict[str, Any] = {}
    if want("Device"):
        caps["Device"] = _device_capabilities(ctx)
    if want("Events"):
        caps["Events"] = {"XAddr": ctx.xaddr("events"), **EVENTS}
    if want("Imaging"):
        caps["Imaging"] = {"XAddr": ctx.xaddr("imaging")}
    if want("Media"):
        caps["Media"] = {"XAddr": ctx.xaddr("media"),
                         "StreamingCapabilities": dict(MEDIA_STREAMING),
                         "Extension": {"ProfileCapabilities": {
                             "MaximumNumberOfProfiles": MAX_PROFILES}}}
    if want("PTZ") and ctx.state.spec.is_ptz:
        caps["PTZ"] = {"XAddr": ctx.xaddr("ptz")}
    if "All" in categories:
        caps["Extension"] = {"Recording": {
            "XAddr": ctx.xaddr("recording"), "ReceiverSource": False,
            "MediaProfileSource": True, **RECORDING, "MaxStringLength": 64}}
    if not caps:
        # DEVICE-1-1-4/6/10/11: a category the device does not serve.
        raise SoapFault("Receiver", ("ter:ActionNotSupported", "ter:NoSuchService"),
                        f"the device has no {', '.join(sorted(categories))} service")
    return {"Capabilities": caps}


@ROUTES.operation("GetScopes", Access.READ_SYSTEM)
def get_scopes(ctx: Context, request: Any) -> dict[str, Any]:
    fixed = [{"ScopeDef": "Fixed", "ScopeItem": s} for s in ctx.state.fixed_scopes]
    configurable = [{"ScopeDef": "Configurable", "ScopeItem": s} for s in ctx.state.scopes]
    return {"Scopes": fixed + configurable}


@ROUTES.operation("SetScopes", Access.WRITE_SYSTEM)
def set_scopes(ctx: Context, request: Any) -> dict[str, Any]:
    scopes = [str(s).strip() for s in (request.Scopes or [])]
    for scope in scopes:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", scope):
            raise sender_fault(f"scope {scope!r} is not an absolute URI", "ter:InvalidArgVal",
                               "ter:InvalidArgs")
        if scope in ctx.state.fixed_scopes:
            raise sender_fault(f"scope {scope!r} is fixed", "ter:OperationProhibited",
                               "ter:ScopeOverwrite")
    ctx.state.set_scopes(scopes)
    return {}


@ROUTES.operation("GetNetworkInterfaces", Access.READ_SYSTEM)
def get_network_interfaces(ctx: Context, request: Any) -> dict[str, Any]:
    net = ctx.state.spec.network
    return {"NetworkInterfaces": [{
        "token": "eth0",
        "Enabled": True,
        "Info": {"Name": "eth0", "HwAddress": ctx.state.spec.identity.mac, "MTU": 1500},
        "IPv4": {"Enabled": True, "Config": {
            "Manual": [{"Address": net.address, "PrefixLength": net.prefix_length}],
            "DHCP": False}},
    }]}


@ROUTES.operation("GetHostname", Access.READ_SYSTEM)
def get_hostname(ctx: Context, request: Any) -> dict[str, Any]:
    return {"HostnameInformation": {"FromDHCP": False, "Name": ctx.state.spec.hostname}}


@ROUTES.operation("GetDNS", Access.READ_SYSTEM)
def get_dns(ctx: Context, request: Any) -> dict[str, Any]:
    # Manual, no server (Base Device Test Spec Annex A.10: an empty address may be omitted).
    return {"DNSInformation": {"FromDHCP": False}}


@ROUTES.operation("GetNetworkDefaultGateway", Access.READ_SYSTEM)
def get_network_default_gateway(ctx: Context, request: Any) -> dict[str, Any]:
    return {"NetworkGateway": {}}


@ROUTES.operation("GetNetworkProtocols", Access.READ_SYSTEM)
def get_network_protocols(ctx: Context, request: Any) -> dict[str, Any]:
    """HTTP where the services answer; RTSP where GetStreamUri points (DEVICE-2-1-33)."""
    http_port = urlsplit(ctx.base_url).port or 80
    return {"NetworkProtocols": [{"Name": "HTTP", "Enabled": True, "Port": [http_port]},
                                 {"Name": "RTSP", "Enabled": True,
                                  "Port": [ctx.state.rtsp_port]}]}


@ROUTES.operation("GetNTP", Access.READ_SYSTEM)
def get_ntp(ctx: Context, request: Any) -> dict[str, Any]:
    return {"NTPInformation": {
        "FromDHCP": False,
        "NTPManual": [{"Type": "DNS", "DNSname": name}
                      for name in ctx.state.spec.network.ntp_servers],
    }}


@ROUTES.operation("GetUsers", Access.READ_SYSTEM_SENSITIVE)
def get_users(ctx: Context, request: Any) -> dict[str, Any]:
    return {"User": [{"Username": u.username, "UserLevel": u.level}
                     for u in ctx.state.spec.users]}


@ROUTES.operation("GetDiscoveryMode", Access.READ_SYSTEM)
def get_discovery_mode(ctx: Context, request: Any) -> dict[str, Any]:
    return {"DiscoveryMode": "Discoverable" if ctx.state.discoverable else "NonDiscoverable"}


@ROUTES.operation("SetDiscoveryMode", Access.WRITE_SYSTEM)
def set_discovery_mode(ctx: Context, request: Any) -> dict[str, Any]:
    mode = request.DiscoveryMode
    if mode not in ("Discoverable", "NonDiscoverable"):
        raise sender_fault(f"unknown discovery mode {mode!r}", "ter:InvalidArgVal")
    # The camera, not the handler, flips the mode: going quiet says Bye, coming back says Hello.
    ctx.control.request_discovery_mode(mode == "Discoverable")
    return {}


@ROUTES.operation("SystemReboot", Access.UNRECOVERABLE)
def system_reboot(ctx: Context, request: Any) -> dict[str, Any]:
    ctx.control.request_reboot()
    return {"Message": "Rebooting"}


@ROUTES.operation("GetGeoLocation", Access.READ_SYSTEM)
def get_geo_location(ctx: Context, request: Any) -> dict[str, Any]:
    spec = ctx.state.spec
    where = spec.location.position
    # The orientation a camera reports is what the installer configured, not a measurement:
    # a knocked camera keeps reporting its filed heading, which is why the audit needs images.
    # A GNSS fix is obtained internally (AutoGeo) and is no fixed, typed-in entity.
    gnss = spec.location.gnss
    return {"Location": [{
        "Entity": "VideoSource", "Token": "VideoSource_1", "Fixed": not gnss,
        **({"AutoGeo": True} if gnss else {}),
        "GeoLocation": {"lon": where.longitude, "lat": where.latitude,
                        "elevation": where.elevation},
        "GeoOrientation": {"yaw": spec.mount.heading, "pitch": spec.mount.tilt,
                           "roll": spec.mount.roll},
    }]}
