"""Why one ONVIF call gave no fair answer, classified by whose side the problem is likely on.

    OnvifError            kind: an ErrorKind (camfleet.errors); operation; message
     +-- SoapFaultError   the camera answered with a SOAP fault (AUTH for NotAuthorized,
     |                    else PROTOCOL); ``not_supported`` for an optional operation
     +-- PtzNotSettled    the head never came to rest (PROTOCOL: the camera's fault)

Where a call could not even complete (refused, silent, dropped), the transport says so with a
:class:`camfleet.http.TransportError` of the same kinds, and the session turns it into an
``OnvifError`` naming the operation (:meth:`OnvifError.from_transport`). ``DISCONNECTED``
stands apart: it is the one failure after which a read (``Get*``) is sent once more.
"""

from __future__ import annotations

from camfleet.errors import DeviceError, ErrorKind
from camfleet.http import TransportError

__all__ = ["MAX_MESSAGE_CHARS", "OnvifError", "PtzNotSettled", "SoapFaultError", "bounded"]


#: The most of a message (a SOAP fault's reason, above all) kept from a device: a 3.9 MB
#: reason would otherwise be stored whole in the JSON and the registry.
MAX_MESSAGE_CHARS = 1024


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text``, cut at ``limit`` characters with the full size noted."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters in all)"


class OnvifError(Exception):
    """No fair answer to one ONVIF call; ``kind`` says whose side the problem is likely on.
    The message is bounded (:func:`bounded`)."""

    def __init__(self, kind: ErrorKind, operation: str, message: str) -> None:
        message = bounded(message, 2 * MAX_MESSAGE_CHARS)  # room for a bounded reason and code
        super().__init__(f"{operation}: {message}")
        self.kind = kind
        self.operation = operation
        self.message = message

    @classmethod
    def from_transport(cls, operation: str, exc: TransportError) -> OnvifError:
        """The failed exchange as the error of ``operation`` (raise it ``from exc``)."""
        return cls(exc.kind, operation, exc.message)

    def as_device_error(self, operation: str | None = None, context: str = "") -> DeviceError:
        """The error as an inventory records it (``context`` prefixes the message)."""
        message = f"{context}: {self.message}" if context else self.message
        return DeviceError(kind=self.kind, operation=operation or self.operation,
                           message=message)


class SoapFaultError(OnvifError):
    """The camera answered with a SOAP fault."""

    def __init__(self, operation: str, code: str, subcodes: tuple[str, ...],
                 reason: str) -> None:
        auth = any(s.endswith("NotAuthorized") for s in subcodes)
        reason = bounded(reason)
        shown_code = " ".join(part for part in (code, "/".join(subcodes)) if part)
        super().__init__(ErrorKind.AUTH if auth else ErrorKind.PROTOCOL, operation,
                         f"SOAP fault {shown_code}: {reason}".strip())
        self.code = bounded(code, 200)
        self.subcodes = tuple(bounded(s, 200) for s in subcodes[:8])
        self.reason = reason

    @property
    def not_supported(self) -> bool:
        """An optional operation the device does not implement (not the device's fault)."""
        return any(s.endswith(("ActionNotSupported", "NoSuchService")) for s in self.subcodes)


class PtzNotSettled(OnvifError):
    """The PTZ head answered every GetStatus, but never reported itself at rest in time: the
    camera's fault (a classified device error; a FAIL in the acceptance suite)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.PROTOCOL, "GetStatus", message)
