"""hil: pytest plugin and acceptance suite for ONVIF cameras, real or simulated.

The same suite runs before a camera goes live (Art. 8 acceptance) and in CI against simulated
fleets; only the command line differs::

    pytest --pyargs hil.suite --hil-targets site.yaml --hil-report out/
    pytest --pyargs hil.suite --hil-fleet sim:20 -n 2

Writing a test of one's own: ask for ``camera`` (one per target), ``measure`` and ``ptz``::

    @pytest.mark.hil_requires("ptz", "presets")
    def test_preset_one_is_the_gate(camera, ptz, measure):
        _settle, here = ptz.goto_preset("1")
        ...

The plugin is :mod:`hil.plugin` (entry point ``pytest11: hil``); the library underneath works
without pytest: :class:`~hil.run.HilRun` (targets, fleet, cameras), :class:`~hil.camera.Camera`,
:class:`~hil.ptz.PtzDriver`, :mod:`hil.measure`, :mod:`hil.report`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hil.camera import Camera
    from hil.errors import (
        CameraUnreachable,
        CredentialsRefused,
        DeviceFault,
        FleetNotStarted,
        HilError,
        InfrastructureError,
    )
    from hil.limits import DEFAULT_LIMITS, Limit
    from hil.measure import Measurement, MeasurementLog
    from hil.ptz import PtzDriver
    from hil.run import HilRun
    from hil.settings import HilSettings

#: Where each export lives. Loaded on first use: pytest imports ``hil.plugin`` in every run of
#: this environment, and that must not cost the import of devmgr's client (~0.3 s).
_EXPORTS = {
    "Camera": "hil.camera", "CameraUnreachable": "hil.errors",
    "CredentialsRefused": "hil.errors", "DeviceFault": "hil.errors",
    "FleetNotStarted": "hil.errors", "HilError": "hil.errors",
    "InfrastructureError": "hil.errors", "DEFAULT_LIMITS": "hil.limits", "Limit": "hil.limits",
    "Measurement": "hil.measure", "MeasurementLog": "hil.measure",
    "PtzDriver": "hil.ptz", "HilRun": "hil.run", "HilSettings": "hil.settings",
}

__all__ = [
    "DEFAULT_LIMITS",
    "Camera",
    "CameraUnreachable",
    "CredentialsRefused",
    "DeviceFault",
    "FleetNotStarted",
    "HilError",
    "HilRun",
    "HilSettings",
    "InfrastructureError",
    "Limit",
    "Measurement",
    "MeasurementLog",
    "PtzDriver",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hil' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
