"""The live, mutable state of one simulated camera.

The spec says what the camera was built as; the state is what it is now: where the motors
are, which presets have been stored, what scopes were set, how often it has booted. Every
protocol front-end (SOAP, WS-Discovery, SNMP, snapshots) reads the same state, so they can
never disagree about the camera.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from camfleet.model import Mount, Preset, PtzVector
from simulators.events import LAST_REBOOT, EventBroker
from simulators.ptz import PtzMechanism
from simulators.rtsp.config import StreamConfig
from simulators.spec import CameraSpec
from simulators.video import default_encoders

ONVIF_SCOPE = "onvif://www.onvif.org/"


def fixed_scopes(spec: CameraSpec) -> list[str]:
    """Scopes the device sets itself and a client cannot remove (ONVIF Core 7.3.2.4)."""
    scopes = [
        f"{ONVIF_SCOPE}type/video_encoder",
        f"{ONVIF_SCOPE}type/NetworkVideoTransmitter",
        f"{ONVIF_SCOPE}Profile/Streaming",
        f"{ONVIF_SCOPE}Profile/T",
        f"{ONVIF_SCOPE}hardware/{spec.identity.model}",
        f"{ONVIF_SCOPE}MacAddress/{spec.identity.mac.replace(':', '')}",
        f"{ONVIF_SCOPE}SerialNumber/{spec.identity.serial}",
    ]
    if spec.is_ptz:
        scopes.append(f"{ONVIF_SCOPE}type/ptz")
    return scopes


def configurable_scopes(spec: CameraSpec) -> list[str]:
    scopes = []
    if spec.location.scope:
        scopes.append(f"{ONVIF_SCOPE}location/{spec.location.scope}")
    if spec.location.name:
        scopes.append(f"{ONVIF_SCOPE}name/{spec.location.name}")
    return scopes


class CameraState:
    """What the camera is right now. Not thread-safe: owned by the camera's event loop."""

    def __init__(self, spec: CameraSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.spec = spec
        self.mount: Mount = spec.mount
        self.ptz = PtzMechanism(spec.ptz, clock=clock)
        self.presets: dict[str, Preset] = {p.token: p for p in spec.ptz.presets}
        self.home: PtzVector = spec.ptz.home
        self.fixed_scopes = fixed_scopes(spec)
        self.scopes = configurable_scopes(spec)
        self.discoverable = spec.network.discoverable
        #: The camera's clock runs this many seconds ahead of true UTC (clock-skew faults).
        self.clock_offset_s = 0.0
        #: snmpEngineBoots; starts at 1 as RFC 3414 prescribes for a fresh agent.
        self.boots = 1
        self.booted_at = clock()
        #: WS-Discovery endpoint reference, stable across reboots (urn:uuid form).
        self.endpoint_uuid = str(uuid.uuid5(uuid.NAMESPACE_OID, spec.identity.serial))
        #: WS-Discovery MetadataVersion; bumped when scopes or XAddrs change.
        self.metadata_version = 1
        #: Event properties and pull-point subscriptions (lost on reboot, as on a real unit).
        self.events = EventBroker(self.utc_now)
        self.events.set_property(LAST_REBOOT, self.utc_now(), source=None)
        #: Each media profile's video encoder configuration (what its stream sends).
        self.encoders: dict[str, StreamConfig] = default_encoders(spec)
        #: Where the RTSP server listens (its real port once bound; GetStreamUri says it).
        self.rtsp_port = spec.network.effective_rtsp_port
        self._next_preset = 1 + max((int(t) for t in self.presets if t.isdigit()), default=0)

    def apply_spec(self, spec: CameraSpec) -> None:
        """Become another spec in place (a fault moved, replaced or reconfigured the unit).

        Runtime state survives (motor position, stored presets, boots); what the spec decides
        is re-derived: identity scopes, location scopes (if the location changed), PTZ limits,
        the discovery endpoint (it follows the serial: a replacement is another endpoint).
        """
        old, self.spec = self.spec, spec
        self.ptz.set_spec(spec.ptz)
        self.fixed_scopes = fixed_scopes(spec)
        if spec.location != old.location:
            self.scopes = configurable_scopes(spec)
        self.endpoint_uuid = str(uuid.uuid5(uuid.NAMESPACE_OID, spec.identity.serial))
        self.metadata_version += 1

    # -- time ----------------------------------------------------------------------------------
    def utc_now(self) -> datetime:
        """The camera's idea of UTC, skewed by ``clock_offset_s``."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)

    def uptime_s(self) -> float:
        return self._clock() - self.booted_at

    def uptime_ticks(self) -> int:
        """sysUpTime in hundredths of a second (TimeTicks)."""
        return int(self.uptime_s() * 100) % (2**32)

    def reboot(self) -> None:
        """What a reboot leaves behind: uptime reset, engine boots + 1, motors at home."""
        self.boots += 1
        self.booted_at = self._clock()
        self.ptz.jump_to(self.home)
        self.events.clear()
        self.events.set_property(LAST_REBOOT, self.utc_now(), source=None)

    # -- scopes --------------------------------------------------------------------------------
    def all_scopes(self) -> list[str]:
        return self.fixed_scopes + self.scopes

    def set_scopes(self, scopes: list[str]) -> None:
        self.scopes = list(scopes)
        self.metadata_version += 1

    # -- presets -------------------------------------------------------------------------------
    def store_preset(self, name: str | None, token: str | None) -> str:
        position = self.ptz.position()
        if token is None:
            token = str(self._next_preset)
            self._next_preset += 1
        self.presets[token] = Preset(token=token, name=name or f"Preset {token}",
                                     position=position)
        return token

    # -- view ----------------------------------------------------------------------------------
    def view_direction(self) -> tuple[float, float, float]:
        """Where the optical axis points in the world: (azimuth deg, elevation deg, zoom)."""
        pos = self.ptz.position()
        azimuth = (self.mount.heading + pos.pan) % 360.0
        elevation = self.mount.tilt + pos.tilt
        return azimuth, elevation, pos.zoom
