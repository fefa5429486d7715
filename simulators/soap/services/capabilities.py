"""What each service of a simulated camera can do, described once.

GetServiceCapabilities of every service, GetServices with IncludeCapability and the device's
GetCapabilities all read these descriptions, so the three answers can never disagree (ONVIF
tests DEVICE-1-1-19, DEVICE-1-1-30, PTZ-8-1-2 compare them field by field). The flags say what
the simulator really serves: no TLS, no IP filter, event pull points but no WS-BaseNotification
push subscriptions, Bye on reboot, UsernameToken and HTTP Digest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from lxml import etree

from camfleet.protocols.onvif_schema import onvif_schema
from simulators.events import MAX_PULL_POINTS
from simulators.soap.registry import Access, Context, Routes

__all__ = [
    "DEVICE_NETWORK",
    "DEVICE_SECURITY",
    "DEVICE_SYSTEM",
    "EVENTS",
    "MAX_PROFILES",
    "MEDIA_STREAMING",
    "RECORDING",
    "capabilities_element",
    "service_capabilities",
]

DEVICE_NETWORK = {"IPFilter": False, "ZeroConfiguration": False, "IPVersion6": False,
                  "DynDNS": False, "Dot11Configuration": False, "HostnameFromDHCP": False,
                  "NTP": 1}
DEVICE_SYSTEM = {"DiscoveryResolve": False, "DiscoveryBye": True, "RemoteDiscovery": False,
                 "SystemBackup": False, "SystemLogging": False, "FirmwareUpgrade": False,
                 "HttpFirmwareUpgrade": False, "HttpSystemBackup": False,
                 "HttpSystemLogging": False, "HttpSupportInformation": False}
DEVICE_SECURITY = {"TLS1.0": False, "TLS1.1": False, "TLS1.2": False,
                   "OnboardKeyGeneration": False, "AccessPolicyConfig": False,
                   "DefaultAccessPolicy": False, "Dot1X": False, "RemoteUserHandling": False,
                   "X.509Token": False, "SAMLToken": False, "KerberosToken": False,
                   "UsernameToken": True, "HttpDigest": True, "RELToken": False}
MEDIA_STREAMING = {"RTPMulticast": False, "RTP_TCP": True, "RTP_RTSP_TCP": True}
#: Media profiles the camera has (and can have: they are fixed).
MAX_PROFILES = 2
EVENTS = {"WSSubscriptionPolicySupport": False, "WSPullPointSupport": True,
          "WSPausableSubscriptionManagerInterfaceSupport": False}
RECORDING = {"DynamicRecordings": False, "DynamicTracks": False}


def _device(ctx: Context) -> dict[str, Any]:
    return {"Network": dict(DEVICE_NETWORK), "Security": dict(DEVICE_SECURITY),
            "System": dict(DEVICE_SYSTEM), "Misc": {}}


def _media(ctx: Context) -> dict[str, Any]:
    return {"SnapshotUri": True, "Rotation": False,
            "ProfileCapabilities": {"MaximumNumberOfProfiles": MAX_PROFILES},
            "StreamingCapabilities": dict(MEDIA_STREAMING)}


def _media2(ctx: Context) -> dict[str, Any]:
    return {"SnapshotUri": True, "Rotation": False, "VideoSourceMode": False, "OSD": False,
            "ProfileCapabilities": {"MaximumNumberOfProfiles": MAX_PROFILES,
                                    "ConfigurationsSupported": "VideoSource VideoEncoder"},
            "StreamingCapabilities": {"RTSPStreaming": True, "RTPMulticast": False,
                                      "RTP_RTSP_TCP": True, "NonAggregateControl": False}}


def _ptz(ctx: Context) -> dict[str, Any]:
    return {"EFlip": False, "Reverse": False, "GetCompatibleConfigurations": False}


def _imaging(ctx: Context) -> dict[str, Any]:
    return {"ImageStabilization": False}


def _recording(ctx: Context) -> dict[str, Any]:
    return {**RECORDING, "MaxRecordings": 1, "MaxRecordingJobs": 0}


def _events(ctx: Context) -> dict[str, Any]:
    return {**EVENTS, "MaxNotificationProducers": 0, "MaxPullPoints": MAX_PULL_POINTS,
            "PersistentNotificationStorage": False}


#: service name -> its GetServiceCapabilities Capabilities, as response fields.
CAPABILITIES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "device": _device, "media": _media, "media2": _media2, "ptz": _ptz, "imaging": _imaging,
    "recording": _recording, "events": _events,
}


def service_capabilities(ctx: Context, service: str) -> dict[str, Any]:
    return CAPABILITIES[service](ctx)


def capabilities_element(ctx: Context, service: str) -> etree._Element:
    """The service's Capabilities element, as GetServices carries it (xs:any content)."""
    return _element(service, _freeze(service_capabilities(ctx, service)))


Frozen = tuple[tuple[str, Any], ...]


def _freeze(fields: dict[str, Any]) -> Frozen:
    return tuple(sorted((key, _freeze(value) if isinstance(value, dict) else value)
                        for key, value in fields.items()))


def _thaw(frozen: Frozen) -> dict[str, Any]:
    return {key: _thaw(value) if isinstance(value, tuple) else value for key, value in frozen}


@functools.lru_cache(maxsize=64)
def _element(service: str, frozen: Frozen) -> etree._Element:
    # One element per distinct answer: the dispatcher's reply cache keys on the response
    # fields, and a fresh element each time would never hit it.
    envelope = onvif_schema().operation(service, "GetServiceCapabilities").serialize_response(
        {"Capabilities": _thaw(frozen)})
    found: etree._Element | None = envelope.find(
        ".//{*}GetServiceCapabilitiesResponse/{*}Capabilities")
    assert found is not None
    return found


def _handler(service: str) -> Callable[[Context, Any], dict[str, Any]]:
    def get_service_capabilities(ctx: Context, request: Any) -> dict[str, Any]:
        return {"Capabilities": service_capabilities(ctx, service)}

    return get_service_capabilities


def _routes(service: str) -> Routes:
    routes = Routes(service)
    access = Access.PRE_AUTH if service == "device" else Access.READ_SYSTEM
    routes.operation("GetServiceCapabilities", access)(_handler(service))
    return routes


#: GetServiceCapabilities of every service, one table per service.
ROUTES: tuple[Routes, ...] = tuple(_routes(service) for service in CAPABILITIES)
