"""Device management (ONVIF Core), as the Base Device Test Specification's DEVICE cases:
capabilities and services, network settings, clock, identity, users, reboot.

Each official case checks what its specification checks, no more: a device may, for example,
report only local time under a manual clock (DEVICE-3-1-1) or list no user (DEVICE-4-1-1).
camfleet's stricter checks of the same answers are the CAMFLEET tests of
test_camfleet_device.py.
"""

from __future__ import annotations

import re

import pytest
from lxml import etree

from devmgr.onvif.soap import SERVICE_NAMESPACES
from devmgr.onvif.xml import parse_onvif_datetime
from hil import reboots
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.spec import BASE, conformance
from hil.suite.helpers import attributes, capabilities, posix_utc_offset, services, text

#: POSIX TZ (IEEE 1003.1 8.3): std name, offset (west-positive), optional DST part.
BOOLEANS = ("true", "false", "1", "0")
NS_ANALYTICS = "http://www.onvif.org/ver20/analytics/wsdl"
NS_DEVICEIO = "http://www.onvif.org/ver10/deviceIO/wsdl"
NS_SEARCH = "http://www.onvif.org/ver10/search/wsdl"
NS_REPLAY = "http://www.onvif.org/ver10/replay/wsdl"
NS_RECEIVER = "http://www.onvif.org/ver10/receiver/wsdl"
#: GetCapabilities categories and where each sits in the answer.
CATEGORY_PATHS = {"Analytics": "{*}Analytics", "Device": "{*}Device", "Events": "{*}Events",
                  "Imaging": "{*}Imaging", "Media": "{*}Media", "PTZ": "{*}PTZ"}
#: The service a category needs (None: every device has it).
CATEGORY_SERVICE = {"Analytics": NS_ANALYTICS, "Device": None, "Events": None,
                    "Imaging": SERVICE_NAMESPACES["imaging"], "Media": SERVICE_NAMESPACES["media"],
                    "PTZ": SERVICE_NAMESPACES["ptz"]}


# -- capabilities ----------------------------------------------------------------------------------


def _valid_uri(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+", value))


@conformance("DEVICE-1-1-2", BASE, "GET ALL CAPABILITIES", checks="""
    GetCapabilities with Category All and without Category: each answer has Device and Events,
    and Media, PTZ, Imaging, Analytics and DeviceIO wherever GetServices lists the service""")
def test_DEVICE_1_1_2_all_capabilities(camera: Camera) -> None:
    listed = set(services(camera, capabilities=False))
    for category in ("All", None):
        caps = capabilities(camera, category)
        wanted = ["Device", "Events"] + [name for name in ("Media", "PTZ", "Imaging",
                                                            "Analytics")
                                          if CATEGORY_SERVICE[name] in listed]
        missing = [name for name in wanted if caps.find(CATEGORY_PATHS[name]) is None]
        if NS_DEVICEIO in listed and caps.find("{*}Extension/{*}DeviceIO") is None:
            missing.append("DeviceIO")
        assert not missing, (f"{camera}: GetCapabilities({category or 'no Category'}) lacks "
                             f"{', '.join(missing)} (DEVICE-1-1-2)")


def _category_case(camera: Camera, category: str, case_id: str) -> None:
    """DEVICE-1-1-3/4/5/6/10/11: one category, and nothing else; an unsupported service's
    category is refused with env:Receiver/ter:ActionNotSupported/ter:NoSuchService."""
    service = CATEGORY_SERVICE[category]
    if service is not None and service not in services(camera, capabilities=False):
        fault = camera.expect_fault("device", "GetCapabilities", {"Category": category})
        said = (fault.code.rsplit(":", 1)[-1],
                *[s.rsplit(":", 1)[-1] for s in fault.subcodes[:2]])
        assert said == ("Receiver", "ActionNotSupported", "NoSuchService"), (
            f"{camera}: GetCapabilities({category}) for a service it does not list: fault "
            f"{fault.code} {fault.subcodes}, expected env:Receiver/ter:ActionNotSupported/"
            f"ter:NoSuchService ({case_id})")
        return
    caps = capabilities(camera, category)
    found = caps.find(CATEGORY_PATHS[category])
    assert found is not None, f"{camera}: GetCapabilities({category}) lacks {category} " \
                              f"({case_id})"
    xaddr = text(found, "{*}XAddr")
    assert _valid_uri(xaddr), f"{camera}: {category} XAddr {xaddr!r} is not a URI ({case_id})"
    others = [name for name, path in CATEGORY_PATHS.items()
              if name != category and caps.find(path) is not None]
    assert not others, (f"{camera}: GetCapabilities({category}) also answers "
                        f"{', '.join(others)} ({case_id})")


def _category_checks(category: str) -> str:
    return (f"GetCapabilities with Category {category}: {category} with a valid XAddr URI and "
            "no other of Analytics, Device, Events, Imaging, Media, PTZ; where GetServices does "
            "not list the service, the SOAP fault env:Receiver/ter:ActionNotSupported/"
            "ter:NoSuchService")


@conformance("DEVICE-1-1-3", BASE, "DEVICE CAPABILITIES", checks=_category_checks("Device"))
def test_DEVICE_1_1_3_device_capabilities(camera: Camera) -> None:
    _category_case(camera, "Device", "DEVICE-1-1-3")


@conformance("DEVICE-1-1-4", BASE, "MEDIA CAPABILITIES", checks=_category_checks("Media"))
def test_DEVICE_1_1_4_media_capabilities(camera: Camera) -> None:
    _category_case(camera, "Media", "DEVICE-1-1-4")


@conformance("DEVICE-1-1-5", BASE, "EVENT CAPABILITIES", checks=_category_checks("Events"))
def test_DEVICE_1_1_5_event_capabilities(camera: Camera) -> None:
    _category_case(camera, "Events", "DEVICE-1-1-5")


@conformance("DEVICE-1-1-6", BASE, "PTZ CAPABILITIES", checks=_category_checks("PTZ"))
def test_DEVICE_1_1_6_ptz_capabilities(camera: Camera) -> None:
    _category_case(camera, "PTZ", "DEVICE-1-1-6")


@conformance("DEVICE-1-1-10", BASE, "IMAGING CAPABILITIES", checks=_category_checks("Imaging"))
def test_DEVICE_1_1_10_imaging_capabilities(camera: Camera) -> None:
    _category_case(camera, "Imaging", "DEVICE-1-1-10")


@conformance("DEVICE-1-1-11", BASE, "ANALYTICS CAPABILITIES",
             checks=_category_checks("Analytics"))
def test_DEVICE_1_1_11_analytics_capabilities(camera: Camera) -> None:
    _category_case(camera, "Analytics", "DEVICE-1-1-11")


@conformance("DEVICE-1-1-9", BASE, "SOAP FAULT MESSAGE", checks="""
    GetCapabilities with an invalid Category is refused with a SOAP 1.2 fault""")
def test_DEVICE_1_1_9_invalid_category(camera: Camera) -> None:
    try:
        camera.expect_fault("device", "GetCapabilities", {"Category": "InvalidCategory"})
    except DeviceFault as exc:
        raise AssertionError(f"{exc} (DEVICE-1-1-9: GetCapabilities, invalid Category)") \
            from None


def _services_case(camera: Camera, namespace: str, case_id: str) -> None:
    """DEVICE-1-1-13..22: the service is listed; with IncludeCapability=false without
    Capabilities, with true with a Capabilities element of the service's namespace."""
    plain = services(camera, capabilities=False)
    assert namespace in plain, f"{camera}: GetServices does not list {namespace} ({case_id})"
    assert plain[namespace].find("{*}Capabilities") is None, (
        f"{camera}: GetServices(IncludeCapability=false) gives {namespace} Capabilities "
        f"({case_id})")
    full = services(camera, capabilities=True)
    assert namespace in full, f"{camera}: GetServices(IncludeCapability=true) does not list " \
                              f"{namespace} ({case_id})"
    inner = full[namespace].find("{*}Capabilities")
    assert inner is not None, (f"{camera}: GetServices(IncludeCapability=true) gives {namespace} "
                               f"no Capabilities ({case_id})")
    assert any(c.tag == f"{{{namespace}}}Capabilities" for c in inner), (
        f"{camera}: GetServices(IncludeCapability=true): the {namespace} Capabilities hold no "
        f"{{{namespace}}}Capabilities element but {[c.tag for c in inner]} ({case_id})")


def _services_checks(name: str) -> str:
    return (f"GetServices lists the {name} service: with IncludeCapability=false without "
            "Capabilities, with IncludeCapability=true with a Capabilities element of the "
            "service's namespace")


@conformance("DEVICE-1-1-13", BASE, "GET SERVICES - DEVICE SERVICE",
             checks=_services_checks("device"))
def test_DEVICE_1_1_13_services_device(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["device"], "DEVICE-1-1-13")


@pytest.mark.hil_requires("media")
@conformance("DEVICE-1-1-14", BASE, "GET SERVICES - MEDIA SERVICE",
             checks=_services_checks("media"))
def test_DEVICE_1_1_14_services_media(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["media"], "DEVICE-1-1-14")


@pytest.mark.hil_requires("ptz")
@conformance("DEVICE-1-1-15", BASE, "GET SERVICES - PTZ SERVICE", checks=_services_checks("PTZ"))
def test_DEVICE_1_1_15_services_ptz(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["ptz"], "DEVICE-1-1-15")


@conformance("DEVICE-1-1-16", BASE, "GET SERVICES - EVENT SERVICE",
             checks=_services_checks("event"))
def test_DEVICE_1_1_16_services_events(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["events"], "DEVICE-1-1-16")


@pytest.mark.hil_requires("imaging")
@conformance("DEVICE-1-1-17", BASE, "GET SERVICES - IMAGING SERVICE",
             checks=_services_checks("imaging"))
def test_DEVICE_1_1_17_services_imaging(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["imaging"], "DEVICE-1-1-17")


@pytest.mark.hil_requires("recording")
@conformance("DEVICE-1-1-22", BASE, "GET SERVICES - RECORDING CONTROL SERVICE",
             checks=_services_checks("recording control"))
def test_DEVICE_1_1_22_services_recording(camera: Camera) -> None:
    _services_case(camera, SERVICE_NAMESPACES["recording"], "DEVICE-1-1-22")


def _attributes(caps: etree._Element) -> dict[str, dict[str, str]]:
    """A service Capabilities element's children (Network, Security, System, Misc, ...)
    with their attributes."""
    return {etree.QName(child).localname: attributes(child) for child in caps
            if isinstance(child.tag, str)}


def _service_capabilities(camera: Camera, service: str) -> etree._Element:
    body = camera.must_call(service, "GetServiceCapabilities")
    caps = body.find("{*}Capabilities")
    if caps is None:
        raise DeviceFault(f"{camera}: {service} GetServiceCapabilities has no Capabilities")
    return caps


@conformance("DEVICE-1-1-18", BASE, "DEVICE SERVICE CAPABILITIES", checks="""
    the device GetServiceCapabilities answers with Network, Security and System capabilities;
    a device that says System DiscoveryNotSupported cannot say DiscoveryBye""")
def test_DEVICE_1_1_18_device_service_capabilities(camera: Camera) -> None:
    found = _attributes(_service_capabilities(camera, "device"))
    missing = [name for name in ("Network", "Security", "System") if name not in found]
    assert not missing, f"{camera}: GetServiceCapabilities lacks {', '.join(missing)} " \
                        "(DEVICE-1-1-18)"
    system = found["System"]
    assert not (system.get("DiscoveryNotSupported", "") in ("true", "1")
                and system.get("DiscoveryBye", "") in ("true", "1")), (
        f"{camera}: System says DiscoveryNotSupported and DiscoveryBye (DEVICE-1-1-18)")


@conformance("DEVICE-1-1-19", BASE, "GET SERVICES AND GET DEVICE SERVICE CAPABILITIES "
             "CONSISTENCY", checks="""
    the device Capabilities in GetServices(IncludeCapability=true) equal GetServiceCapabilities,
    attribute by attribute of Network, Security, System and Misc""")
def test_DEVICE_1_1_19_services_and_capabilities_agree(camera: Camera) -> None:
    namespace = SERVICE_NAMESPACES["device"]
    entry = services(camera, capabilities=True).get(namespace)
    inner = entry.find("{*}Capabilities/{*}Capabilities") if entry is not None else None
    assert inner is not None, f"{camera}: GetServices(IncludeCapability=true) gives no device " \
                              "Capabilities (DEVICE-1-1-19)"
    listed, answered = _attributes(inner), _attributes(_service_capabilities(camera, "device"))
    differ = {name: (listed.get(name), answered.get(name))
              for name in ("Network", "Security", "System", "Misc")
              if listed.get(name, {}) != answered.get(name, {})}
    assert not differ, f"{camera}: GetServices vs GetServiceCapabilities: {differ} " \
                       "(DEVICE-1-1-19)"


def _flag(element: etree._Element | None, path: str) -> str:
    """A GetCapabilities flag as text ('' when absent)."""
    return text(element, path).strip().lower() if element is not None else ""


#: DEVICE-1-1-30: (GetCapabilities path under Device, service capabilities group, attribute).
DEVICE_FLAGS = [(f"{{*}}Network/{{*}}{n}", "Network", n)
                for n in ("IPFilter", "ZeroConfiguration", "IPVersion6", "DynDNS")] + [
    ("{*}Network/{*}Extension/{*}Dot11Configuration", "Network", "Dot11Configuration")] + [
    (f"{{*}}System/{{*}}{n}", "System", n) for n in (
        "DiscoveryResolve", "DiscoveryBye", "RemoteDiscovery", "SystemBackup", "SystemLogging",
        "FirmwareUpgrade")] + [
    (f"{{*}}System/{{*}}Extension/{{*}}{n}", "System", n) for n in (
        "HttpFirmwareUpgrade", "HttpSystemBackup", "HttpSystemLogging",
        "HttpSupportInformation")] + [
    (f"{{*}}Security/{{*}}{n}", "Security", n) for n in (
        "TLS1.1", "TLS1.2", "OnboardKeyGeneration", "AccessPolicyConfig", "X.509Token",
        "SAMLToken", "KerberosToken", "RELToken")] + [
    ("{*}Security/{*}Extension/{*}TLS1.0", "Security", "TLS1.0"),
    ("{*}Security/{*}Extension/{*}Extension/{*}Dot1X", "Security", "Dot1X"),
    ("{*}Security/{*}Extension/{*}Extension/{*}RemoteUserHandling", "Security",
     "RemoteUserHandling")]
EVENT_FLAGS = ("WSSubscriptionPolicySupport", "WSPullPointSupport",
               "WSPausableSubscriptionManagerInterfaceSupport")


def _same_flag(caps_value: str, service_value: str) -> bool:
    """GetCapabilities true: the service capability is true too; false or absent: not true."""
    service_true = service_value.lower() in ("true", "1")
    return service_true if caps_value in ("true", "1") else not service_true


@conformance("DEVICE-1-1-30", BASE, "GET SERVICES AND GET CAPABILITIES CONSISTENCY", checks="""
    GetServices(IncludeCapability=true) and GetCapabilities(All) agree flag by flag: device
    Network, System and Security flags (with their extensions), Events subscription flags,
    Media streaming flags and MaximumNumberOfProfiles, Recording DynamicRecordings and
    DynamicTracks, Search MetadataSearch; every service GetCapabilities names (Analytics,
    Imaging, Media, PTZ, DeviceIO, Recording, Search, Replay, Receiver) is in GetServices, with
    Analytics RuleSupport/AnalyticsModuleSupport and the DeviceIO counts equal""")
def test_DEVICE_1_1_30_services_and_capabilities_consistent(camera: Camera) -> None:
    listed = services(camera, capabilities=True)
    caps = capabilities(camera, "All")
    wrong: list[str] = []

    def inner(namespace: str) -> dict[str, dict[str, str]]:
        entry = listed.get(namespace)
        found = entry.find("{*}Capabilities/{*}Capabilities") if entry is not None else None
        return {"": attributes(found), **_attributes(found)} if found is not None else {}

    device = inner(SERVICE_NAMESPACES["device"])
    for path, group, name in DEVICE_FLAGS:
        value = _flag(caps.find("{*}Device"), path)
        if not _same_flag(value, device.get(group, {}).get(name, "")):
            wrong.append(f"Device {group} {name}: GetCapabilities {value or 'absent'}, "
                         f"GetServices {device.get(group, {}).get(name, 'absent')}")
    events = inner(SERVICE_NAMESPACES["events"])
    for name in EVENT_FLAGS:
        value = _flag(caps, f"{{*}}Events/{{*}}{name}")
        if not _same_flag(value, events.get("", {}).get(name, "")):
            wrong.append(f"Events {name}: GetCapabilities {value or 'absent'}, GetServices "
                         f"{events.get('', {}).get(name, 'absent')}")
    present = {"Analytics": (caps.find("{*}Analytics"), NS_ANALYTICS),
               "Imaging": (caps.find("{*}Imaging"), SERVICE_NAMESPACES["imaging"]),
               "Media": (caps.find("{*}Media"), SERVICE_NAMESPACES["media"]),
               "PTZ": (caps.find("{*}PTZ"), SERVICE_NAMESPACES["ptz"]),
               "DeviceIO": (caps.find("{*}Extension/{*}DeviceIO"), NS_DEVICEIO),
               "Recording": (caps.find("{*}Extension/{*}Recording"),
                             SERVICE_NAMESPACES["recording"]),
               "Search": (caps.find("{*}Extension/{*}Search"), NS_SEARCH),
               "Replay": (caps.find("{*}Extension/{*}Replay"), NS_REPLAY),
               "Receiver": (caps.find("{*}Extension/{*}Receiver"), NS_RECEIVER)}
    for name, (element, namespace) in present.items():
        if element is not None and namespace not in listed:
            wrong.append(f"GetCapabilities has {name}, GetServices does not list {namespace}")
    pairs: list[tuple[str, str, str]] = []  # (what, GetCapabilities value, GetServices value)
    media, media_caps = inner(SERVICE_NAMESPACES["media"]), present["Media"][0]
    if media_caps is not None and media:
        for name in ("RTPMulticast", "RTP_TCP", "RTP_RTSP_TCP"):
            value = _flag(media_caps, f"{{*}}StreamingCapabilities/{{*}}{name}")
            if not _same_flag(value, media.get("StreamingCapabilities", {}).get(name, "")):
                wrong.append(f"Media {name}: GetCapabilities {value or 'absent'}, GetServices "
                             f"{media.get('StreamingCapabilities', {}).get(name, 'absent')}")
        pairs.append(("Media MaximumNumberOfProfiles", _flag(
            media_caps, "{*}Extension/{*}ProfileCapabilities/{*}MaximumNumberOfProfiles"),
            media.get("ProfileCapabilities", {}).get("MaximumNumberOfProfiles", "")))
    recording, recording_caps = inner(SERVICE_NAMESPACES["recording"]), present["Recording"][0]
    if recording_caps is not None and recording:
        for name in ("DynamicRecordings", "DynamicTracks"):
            value = _flag(recording_caps, f"{{*}}{name}")
            if not _same_flag(value, recording[""].get(name, "")):
                wrong.append(f"Recording {name}: GetCapabilities {value or 'absent'}, "
                             f"GetServices {recording[''].get(name, 'absent')}")
    search, search_caps = inner(NS_SEARCH), present["Search"][0]
    if search_caps is not None and search:
        value = _flag(search_caps, "{*}MetadataSearch")
        if not _same_flag(value, search[""].get("MetadataSearch", "")):
            wrong.append(f"Search MetadataSearch: GetCapabilities {value or 'absent'}")
    analytics, analytics_caps = inner(NS_ANALYTICS), present["Analytics"][0]
    if analytics_caps is not None and analytics:
        for name in ("RuleSupport", "AnalyticsModuleSupport"):
            value = _flag(analytics_caps, f"{{*}}{name}")
            if not _same_flag(value, analytics[""].get(name, "")):
                wrong.append(f"Analytics {name}: GetCapabilities {value or 'absent'}")
    deviceio, deviceio_caps = inner(NS_DEVICEIO), present["DeviceIO"][0]
    if deviceio_caps is not None and deviceio:
        pairs += [(f"DeviceIO {name}", _flag(deviceio_caps, f"{{*}}{name}") or "0",
                   deviceio[""].get(name, "0"))
                  for name in ("VideoSources", "VideoOutputs", "AudioSources", "AudioOutputs",
                               "RelayOutputs")]
    wrong += [f"{what}: GetCapabilities {a or 'absent'}, GetServices {b or 'absent'}"
              for what, a, b in pairs if a != b]
    assert not wrong, f"{camera}: GetServices and GetCapabilities disagree: " \
                      f"{'; '.join(wrong)} (DEVICE-1-1-30)"


# -- network ---------------------------------------------------------------------------------------
@conformance("DEVICE-2-1-1", BASE, "NETWORK COMMAND HOSTNAME CONFIGURATION", checks="""
    GetHostname answers with HostnameInformation (FromDHCP)""")
def test_DEVICE_2_1_1_hostname(camera: Camera) -> None:
    info = camera.must_call("device", "GetHostname").find("{*}HostnameInformation")
    from_dhcp = text(info, "{*}FromDHCP") if info is not None else ""
    assert from_dhcp in BOOLEANS, (
        f"{camera}: GetHostname has no HostnameInformation with FromDHCP (DEVICE-2-1-1)")


@conformance("DEVICE-2-1-4", BASE, "NETWORK COMMAND GETDNS", checks="""
    GetDNS answers with DNSInformation (FromDHCP)""")
def test_DEVICE_2_1_4_dns(camera: Camera) -> None:
    info = camera.must_call("device", "GetDNS").find("{*}DNSInformation")
    from_dhcp = text(info, "{*}FromDHCP") if info is not None else ""
    assert from_dhcp in BOOLEANS, (
        f"{camera}: GetDNS has no DNSInformation with FromDHCP (DEVICE-2-1-4)")


@conformance("DEVICE-2-1-11", BASE, "NETWORK COMMAND GETNTP", checks="""
    where the device service capabilities say NTP (the pre-requisite): GetNTP answers with
    NTPInformation (FromDHCP)""")
def test_DEVICE_2_1_11_ntp(camera: Camera) -> None:
    network = _service_capabilities(camera, "device").find("{*}Network")
    if network is None or network.get("NTP", "0") in ("", "0"):
        pytest.skip(f"{camera.id} does not say NTP (GetServiceCapabilities Network NTP)")
    info = camera.must_call("device", "GetNTP").find("{*}NTPInformation")
    from_dhcp = text(info, "{*}FromDHCP") if info is not None else ""
    assert from_dhcp in BOOLEANS, (
        f"{camera}: GetNTP has no NTPInformation with FromDHCP (DEVICE-2-1-11)")


@conformance("DEVICE-2-1-17", BASE, "GET NETWORK INTERFACE CONFIGURATION", checks="""
    GetNetworkInterfaces answers with at least one network interface with a token""")
def test_DEVICE_2_1_17_network_interfaces(camera: Camera) -> None:
    interfaces = list(camera.must_call("device", "GetNetworkInterfaces")
                      .iterfind("{*}NetworkInterfaces"))
    assert interfaces, f"{camera}: GetNetworkInterfaces lists no interface (DEVICE-2-1-17)"
    assert all(i.get("token") for i in interfaces), (
        f"{camera}: a network interface has no token (DEVICE-2-1-17)")


@conformance("DEVICE-2-1-25", BASE, "NETWORK COMMAND GETNETWORKDEFAULTGATEWAY", checks="""
    GetNetworkDefaultGateway answers with NetworkGateway""")
def test_DEVICE_2_1_25_default_gateway(camera: Camera) -> None:
    body = camera.must_call("device", "GetNetworkDefaultGateway")
    assert body.find("{*}NetworkGateway") is not None, (
        f"{camera}: GetNetworkDefaultGateway has no NetworkGateway (DEVICE-2-1-25)")


@conformance("DEVICE-2-1-33", BASE, "GET NETWORK PROTOCOLS CONFIGURATION", checks="""
    GetNetworkProtocols lists HTTP, and RTSP where the device streams (GetStreamUri)""")
def test_DEVICE_2_1_33_network_protocols(camera: Camera) -> None:
    body = camera.must_call("device", "GetNetworkProtocols")
    names = {text(p, "{*}Name") for p in body.iterfind("{*}NetworkProtocols")}
    wanted = ["HTTP"] + (["RTSP"] if "media" in camera.capabilities else [])
    missing = [name for name in wanted if name not in names]
    assert not missing, (f"{camera}: GetNetworkProtocols lists {sorted(names)}, not "
                         f"{', '.join(missing)} (DEVICE-2-1-33)")


@conformance("DEVICE-3-1-1", BASE, "SYSTEM COMMAND GETSYSTEMDATEANDTIME", checks="""
    GetSystemDateAndTime answers with DateTimeType (Manual or NTP) and DaylightSavings (a
    boolean), a POSIX 1003.1 TimeZone where one is given, and a valid UTCDateTime or
    LocalDateTime""")
def test_DEVICE_3_1_1_system_date_and_time(camera: Camera) -> None:
    body = camera.must_call("device", "GetSystemDateAndTime")
    info = body.find("{*}SystemDateAndTime")
    assert info is not None, f"{camera}: GetSystemDateAndTime has no SystemDateAndTime"
    kind, dst = text(info, "{*}DateTimeType"), text(info, "{*}DaylightSavings")
    assert kind in ("Manual", "NTP"), f"{camera}: DateTimeType {kind!r} is neither Manual " \
                                      "nor NTP (DEVICE-3-1-1)"
    assert dst in BOOLEANS, f"{camera}: DaylightSavings {dst!r} is not a boolean (DEVICE-3-1-1)"
    tz = text(info, "{*}TimeZone/{*}TZ")
    assert not tz or posix_utc_offset(tz) is not None, (
        f"{camera}: TimeZone {tz!r} is not a POSIX 1003.1 TZ string (DEVICE-3-1-1)")
    times = [parse_onvif_datetime(info.find(f"{{*}}{name}"))
             for name in ("UTCDateTime", "LocalDateTime")]
    assert any(t is not None for t in times), (
        f"{camera}: neither a valid UTCDateTime nor a valid LocalDateTime (DEVICE-3-1-1)")


@pytest.mark.hil_reboots
@pytest.mark.hil_discovery
@conformance("DEVICE-3-1-8", BASE, "SYSTEM COMMAND REBOOT", checks="""
    SystemReboot is answered; a Discoverable device sends Hello once back up and answers a
    unicast Probe with a ProbeMatch""")
def test_DEVICE_3_1_8_reboot(camera: Camera) -> None:
    if camera.multicast_interface is None:
        pytest.skip(f"{camera.id}: no local interface on its segment to hear Hello "
                    "(--hil-interface)")
    seen = reboots.shared_reboot(camera)
    assert seen.came_back, (f"{camera}: not back within {camera.settings.reboot_timeout_s:g} s "
                            "of SystemReboot (DEVICE-3-1-8)")
    discoverable = camera.facts is None or camera.facts.discovery_mode != "NonDiscoverable"
    if discoverable:
        assert seen.announcements.hello, f"{camera}: no Hello after SystemReboot (DEVICE-3-1-8)"
        matches = seen.probe.matches if seen.probe is not None else []
        assert matches, (
            f"{camera}: no ProbeMatch to a unicast Probe after the reboot (DEVICE-3-1-8)")


@conformance("DEVICE-3-1-9", BASE, "SYSTEM COMMAND DEVICE INFORMATION", checks="""
    GetDeviceInformation gives Manufacturer, Model, FirmwareVersion, SerialNumber and
    HardwareId""")
def test_DEVICE_3_1_9_device_information(camera: Camera) -> None:
    body = camera.must_call("device", "GetDeviceInformation")
    empty = [name for name in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber",
                               "HardwareId") if not text(body, f"{{*}}{name}")]
    assert not empty, f"{camera}: GetDeviceInformation leaves {', '.join(empty)} empty " \
                      "(DEVICE-3-1-9)"


@conformance("DEVICE-4-1-1", BASE, "SECURITY COMMAND GETUSERS", checks="""
    GetUsers answers (with none or more users)""")
def test_DEVICE_4_1_1_users(camera: Camera) -> None:
    body = camera.must_call("device", "GetUsers")
    assert etree.QName(body).localname == "GetUsersResponse", (
        f"{camera}: GetUsers answered {body.tag} (DEVICE-4-1-1)")
