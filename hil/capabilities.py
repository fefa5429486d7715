"""What a camera can do, decided from what it reports over ONVIF, as ONVIF's own tool does.

The Device Test Tool discovers features first and skips what a device does not advertise; so
does ``@pytest.mark.hil_requires("ptz", "presets")``. Each capability is read from devmgr's
inventory of the camera (GetServices, else GetCapabilities; GetNodes; GetConfigurationOptions;
GetProfiles and GetSnapshotUri; GetGeoLocation; GetDiscoveryMode). SNMP is not advertised over
ONVIF at all, so ``snmp`` means "the targets file gives SNMP credentials".

What a camera *should* have is a different question: an expectations file (``--hil-expect``,
see :mod:`hil.settings`) lists it per target, and ``test_CAMFLEET_expected_capabilities`` fails
a camera that lacks one, instead of letting its tests skip quietly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camfleet.targets import Target
    from devmgr.inventory.model import Inventory

__all__ = ["CAPABILITIES", "advertised", "check_names"]

#: Every capability name a test may require, and where the answer comes from.
CAPABILITIES: dict[str, str] = {
    "media": "a Media service (GetServices / GetCapabilities)",
    "ptz_service": "a PTZ service (GetServices / GetCapabilities)",
    "ptz": "a PTZ service with a PTZ node (GetServices, GetNodes)",
    "presets": "a PTZ node with MaximumNumberOfPresets > 0 (GetNodes)",
    "home": "a PTZ node with HomeSupported (GetNodes)",
    "absolute_move": "an absolute pan/tilt position space (GetNodes)",
    "relative_move": "a relative pan/tilt translation space (GetNodes)",
    "continuous_move": "a continuous pan/tilt velocity space (GetNodes)",
    "degrees_space": "SphericalPositionSpaceDegrees (GetNodes, Profile T)",
    "snapshot": "a snapshot URI for a media profile (GetSnapshotUri)",
    "stream": "an RTSP stream URI for a media profile (GetStreamUri)",
    "media2": "a Media2 service (GetServices)",
    "events": "an Event service (GetServices)",
    "recording": "a Recording service (GetServices)",
    "imaging": "an Imaging service (GetServices)",
    "geolocation": "a position from GetGeoLocation",
    "discovery_mode": "an answer to GetDiscoveryMode",
    "snmp": "SNMP credentials in the targets file (not advertised over ONVIF)",
}


def check_names(names: tuple[str, ...]) -> list[str]:
    """The names that are not known capabilities (a typo must not skip a test silently)."""
    return [n for n in names if n not in CAPABILITIES]


def _space_kinds(inventory: Inventory) -> set[str]:
    kinds: set[str] = set()
    for space in inventory.ptz.spaces if inventory.ptz else ():
        if "/PanTiltSpaces/" not in space.uri:
            continue
        local = space.uri.rsplit("/", 1)[-1]
        if "Position" in local:
            kinds.add("absolute_move")
        if "Translation" in local:
            kinds.add("relative_move")
        if "Velocity" in local:
            kinds.add("continuous_move")
        if local == "SphericalPositionSpaceDegrees":
            kinds.add("degrees_space")
    return kinds


def advertised(inventory: Inventory, target: Target) -> frozenset[str]:
    """The capabilities this camera advertises (see :data:`CAPABILITIES`)."""
    from devmgr.onvif.soap import SERVICE_NAMESPACES  # noqa: PLC0415 (keep the plugin light)

    services = set(inventory.services)
    found: set[str] = set()
    for name in ("media", "media2", "recording", "imaging", "events"):
        if SERVICE_NAMESPACES[name] in services:
            found.add(name)
    ptz = inventory.ptz
    if SERVICE_NAMESPACES["ptz"] in services:
        found.add("ptz_service")
    if SERVICE_NAMESPACES["ptz"] in services and ptz is not None and ptz.node:
        found.add("ptz")
        if ptz.max_presets:
            found.add("presets")
        if ptz.home_supported:
            found.add("home")
        found |= _space_kinds(inventory)
    if any(p.snapshot_uri for p in inventory.profiles):
        found.add("snapshot")
    if any(p.stream_uri.startswith("rtsp://") for p in inventory.profiles if p.stream_uri):
        found.add("stream")
    if inventory.geolocation is not None:
        found.add("geolocation")
    if inventory.discovery_mode:
        found.add("discovery_mode")
    if target.snmp is not None:
        found.add("snmp")
    return frozenset(found)
