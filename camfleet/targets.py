"""Targets files: which cameras to talk to, and how to log in.

One format serves real sites and simulated fleets: a fleet's manifest *is* a targets file
(``python -m simulators fleet --manifest fleet.json`` writes one), so the manager and the
acceptance suite take either without knowing which they got.

Credentials may be given inline (simulated fleets, lab benches) or as references to
environment variables (real sites: ``password_env: CAM_GATE_PASSWORD``), so a targets file can
be committed without secrets. ``Target.onvif_password()`` resolves them and says which
variable is missing.

    >>> t = Target(id="gate-1", address="192.0.2.10")
    >>> t.device_url
    'http://192.0.2.10:80/onvif/device_service'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from camfleet.files import write_atomic
from camfleet.model import MacAddress, Model, format_validation_error
from camfleet.protocols import wsdiscovery as wsd


class TargetsError(ValueError):
    """A targets file could not be used; the message names the file, the entry and the fix."""


def resolve_secret(value: str | None, env: str | None, what: str) -> str | None:
    """An inline secret, or the one in environment variable ``env``; says which is unset."""
    if value is not None:
        return value
    if env is None:
        return None
    try:
        return os.environ[env]
    except KeyError:
        raise TargetsError(f"{what} comes from ${env}, which is not set") from None


class OnvifCredentials(Model):
    username: str = "admin"
    password: str | None = None
    password_env: str | None = None
    #: Answer a Basic-only challenge over plain HTTP (the password then crosses the network in
    #: cleartext). Off: such a camera gets nothing, and its error says so.
    allow_basic: bool = False


class SnmpV3Credentials(Model):
    user: str
    auth_protocol: Literal["none", "MD5", "SHA", "SHA256"] = "SHA"
    auth_key: str | None = None
    auth_key_env: str | None = None
    priv_protocol: Literal["none", "DES", "AES"] = "AES"
    priv_key: str | None = None
    priv_key_env: str | None = None


class SnmpCredentials(Model):
    port: int = Field(default=161, ge=1, le=65535)
    community: str | None = None
    community_env: str | None = None
    v3: SnmpV3Credentials | None = None


class Target(Model):
    """One camera to reach."""

    id: str = Field(min_length=1)
    address: str
    http_port: int = Field(default=80, ge=1, le=65535)
    #: ONVIF device service; defaults to ``http://address:http_port/onvif/device_service``.
    device_service: str | None = None
    snapshot_url: str | None = None
    onvif: OnvifCredentials = OnvifCredentials()
    snmp: SnmpCredentials | None = None
    #: What the unit should be, if known (a fleet knows; a site survey may).
    serial: str | None = None
    mac: MacAddress | None = None
    #: The GB/T 28181 device id of its filing, if filed.
    filing_id: str | None = None
    #: District or network segment: the collector queue that reaches it (``--distributed``).
    district: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

    @property
    def device_url(self) -> str:
        return self.device_service or f"http://{self.address}:{self.http_port}/onvif/device_service"

    def onvif_password(self) -> str | None:
        return resolve_secret(self.onvif.password, self.onvif.password_env,
                              f"target {self.id}: the ONVIF password")


class FleetCamera(Model):
    """What a simulated fleet says of one of its cameras, beside the target itself."""

    #: The faults in force when the manifest was written, for tests to compare with findings.
    faults: tuple[dict[str, Any], ...] = ()
    #: Network namespace the camera lives in (netns fleets), for clients that must enter it.
    netns: str | None = None
    #: Docker container the camera lives in (docker fleets): ``docker logs``, ``docker exec``.
    container: str | None = None
    #: Where it is plugged in now (fleets with switches): ``{"switch", "port", "vlan"}``;
    #: ground truth for tests, never read by the manager.
    attachment: dict[str, Any] | None = None


class FleetInfo(Model):
    """Present when the targets file is a simulated fleet's manifest.

    The manager reads only where discovery reaches the fleet (``manager_address``,
    ``discovery_port``); ``members`` is the simulator's own account of each camera.
    """

    backend: Literal["loopback", "netns", "docker"]
    control_url: str
    pid: int
    started_at: str
    #: Address the manager side uses to reach the cameras (netns: on the bridge).
    manager_address: str = "127.0.0.1"
    discovery_port: int = wsd.PORT
    #: Per target id; only cameras with faults, a namespace or a container are listed.
    members: dict[str, FleetCamera] = Field(default_factory=dict)


class SwitchTarget(Model):
    """An access switch the manager reads attachment evidence from: which MAC is on which
    port and VLAN, link, LLDP neighbours and PoE (and which may power-cycle a port)."""

    name: str = Field(min_length=1)
    address: str
    snmp: SnmpCredentials
    #: v2c community that may set pethPsePortAdminEnable (power control); None: read only.
    write_community: str | None = None
    write_community_env: str | None = None


class TargetsFile(Model):
    targets: tuple[Target, ...]
    fleet: FleetInfo | None = None
    #: Access switches the cameras hang off (evidence of moves and removals, Art. 10).
    switches: tuple[SwitchTarget, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> TargetsFile:
        seen: set[str] = set()
        for target in self.targets:
            if target.id in seen:
                raise ValueError(f"target id {target.id!r} appears twice")
            seen.add(target.id)
        return self

    def by_id(self) -> dict[str, Target]:
        return {t.id: t for t in self.targets}

    def save(self, path: str | Path) -> None:
        """Write atomically: a reader never sees half a file."""
        write_atomic(path, (self.model_dump_json(indent=2, exclude_none=True) + "\n").encode())


def load_targets(path: str | Path) -> TargetsFile:
    """Load a targets file (JSON, or YAML for hand-written ones); errors name file and entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetsError(f"{path}: cannot read targets file: {exc.strerror}") from exc
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        data = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise TargetsError(f"{path}: not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from exc
    if isinstance(data, list):
        data = {"targets": data}
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as exc:
        raise TargetsError(f"{path}: invalid targets file:\n"
                           f"{format_validation_error(exc)}") from exc
