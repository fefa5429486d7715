"""Why a device gave no fair answer: the error kinds every layer classifies into.

A camera that times out, refuses the credentials or answers garbage is data, not an
exception that stops a sweep: collectors turn what went wrong into a :class:`DeviceError`
of one :class:`ErrorKind`, which the registry stores, the reports show and the acceptance
suite maps onto ERROR or FAIL.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import field_validator

from camfleet.model import Model

__all__ = ["MAX_MESSAGE_CHARS", "DeviceError", "ErrorKind"]


class ErrorKind(StrEnum):
    """Why no fair answer was obtained, in the order a field engineer checks them."""

    UNREACHABLE = "unreachable"  # nothing listens: refused, no route, host down
    TIMEOUT = "timeout"          # something listens, but did not answer in time
    #: it took the request, then dropped or reset the connection without a reply (a pooled
    #: keep-alive connection it had closed, a reboot, an overloaded stack): not an answer
    DISCONNECTED = "disconnected"
    AUTH = "auth"                # it answered: credentials refused
    #: it answered, and the answer is wrong: a SOAP fault, an HTTP error, an unparsable reply,
    #: a PTZ head that never settles
    PROTOCOL = "protocol"


#: The most of a message kept: whatever a device put in it (a fault reason, a value quoted),
#: the JSON, the registry and the reports hold no more than this, with the full size noted.
MAX_MESSAGE_CHARS = 2048


class DeviceError(Model):
    kind: ErrorKind
    #: The ONVIF operation or SNMP request that failed (``GetProfiles``, ``snmp-get``).
    operation: str
    message: str

    @field_validator("operation", "message")
    @classmethod
    def _bounded(cls, text: str) -> str:
        if len(text) <= MAX_MESSAGE_CHARS:
            return text
        return f"{text[:MAX_MESSAGE_CHARS]}... ({len(text)} characters in all)"
