"""Who is at fault: the camera (a test FAIL) or everything between us and it (an ERROR).

An acceptance verdict is only as good as this split. A camera that answers wrongly is rejected;
a camera we could not talk to fairly (network down, fleet not started, credentials refused,
no answer in time) is *not testable*, never rejected. devmgr's client classifies each failed
call (``OnvifError.kind``); :func:`translate` maps that classification here, at one boundary::

    HilError                  base for everything the harness raises on purpose
     +-- DeviceFault          the camera answered, and the answer is wrong        -> FAIL
     +-- InfrastructureError  no trustworthy answer was obtained                  -> ERROR
          +-- CameraUnreachable   refused, no route, no answer in time
          +-- CredentialsRefused  the targets file's credentials do not work
          +-- FleetNotStarted     the simulated fleet the run asked for is not there
"""

from __future__ import annotations

from camfleet.errors import ErrorKind
from devmgr.onvif.errors import OnvifError

__all__ = [
    "CameraUnreachable",
    "CredentialsRefused",
    "DeviceFault",
    "FleetNotStarted",
    "HilError",
    "InfrastructureError",
    "translate",
]


class HilError(Exception):
    """Base for everything the harness raises on purpose."""


class DeviceFault(HilError):
    """The camera answered, and the answer is wrong (a SOAP fault, garbage, a bad value)."""


class InfrastructureError(HilError):
    """No trustworthy answer was obtained; the camera can be neither accepted nor rejected."""


class CameraUnreachable(InfrastructureError):
    """Nothing answered: connection refused, no route, or no reply within the time limit."""


class CredentialsRefused(InfrastructureError):
    """The camera refused the credentials of the targets file (or they could not be read)."""


class FleetNotStarted(InfrastructureError):
    """The simulated fleet requested with ``--hil-fleet`` could not be started."""


def translate(camera_id: str, exc: OnvifError) -> HilError:
    """devmgr's classified client error as a harness error naming the camera.

    SOAP faults keep their code and subcodes in the message: that is the evidence a tester
    needs to file a defect without re-running.
    """
    text = f"{camera_id}: {exc}"
    if exc.kind is ErrorKind.AUTH:
        return CredentialsRefused(text)
    if exc.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT):
        return CameraUnreachable(text)
    # A SOAP fault, an HTTP error, garbage, a head that never settles: devmgr's message says.
    # A dropped connection (DISCONNECTED) too, once a read has been tried again: whether the
    # camera is gone instead is for Camera's liveness check to decide.
    return DeviceFault(text)
