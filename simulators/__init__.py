"""Simulated ONVIF + SNMP cameras for testing camfleet without hardware.

    >>> from simulators import CameraSpec
    >>> spec = CameraSpec.example().with_network(address="127.0.0.1", http_port=0)

``SimulatedCamera(spec)`` serves it (async); ``CameraHost`` runs cameras on a background event
loop and hands out synchronous handles for scripts and tests.
"""

from simulators.spec import CameraSpec, SpecError, load_spec

__all__ = ["CameraSpec", "SpecError", "load_spec"]
