"""The ONVIF WSDL set camfleet speaks, on both sides, loaded once per process.

The simulated cameras serialize responses from it; devmgr builds request envelopes from it.
Which set: the ONVIF 2.4.2 WSDLs that onvif-zeep-async installs (``onvif/wsdl``). They are the
files the named client parses, so the simulator and the client can never disagree about a
message, and nothing third-party is copied into this repository. That set predates
``GetGeoLocation`` (added to the device service in ONVIF 17.06); the simulator serves it from
``wsdl/geolocation.wsdl``, a small description of our own that declares the two messages with the
element names and types of the current ONVIF device service, so a client of the current set
gets the answer it expects; Media2 (``wsdl/media2.wsdl``) likewise.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zeep import Settings
from zeep.transports import Transport
from zeep.wsdl import Document

#: service name -> (WSDL file, binding local name, binding namespace)
SERVICES: dict[str, tuple[str, str, str]] = {
    "device": ("devicemgmt.wsdl", "DeviceBinding", "http://www.onvif.org/ver10/device/wsdl"),
    "media": ("media.wsdl", "MediaBinding", "http://www.onvif.org/ver10/media/wsdl"),
    "ptz": ("ptz.wsdl", "PTZBinding", "http://www.onvif.org/ver20/ptz/wsdl"),
    "imaging": ("imaging.wsdl", "ImagingBinding", "http://www.onvif.org/ver20/imaging/wsdl"),
    "recording": ("recording.wsdl", "RecordingBinding",
                  "http://www.onvif.org/ver10/recording/wsdl"),
    "events": ("events.wsdl", "EventBinding", "http://www.onvif.org/ver10/events/wsdl"),
}
#: Further bindings of a service's WSDL, served on addresses the service hands out (the event
#: service's pull points: PullMessages, SetSynchronizationPoint, Renew, Unsubscribe).
MORE_BINDINGS: dict[str, tuple[str, ...]] = {
    "events": ("PullPointSubscriptionBinding", "SubscriptionManagerBinding"),
}
#: Operations served from our own extension WSDL, on the device service's address.
EXTENSION_WSDL = Path(__file__).parent / "wsdl" / "geolocation.wsdl"
EXTENSION_BINDING = "{http://www.onvif.org/ver10/device/wsdl}GeoLocationBinding"
#: Services described by our own WSDLs (the 2.4.2 set has no Media2): service -> (WSDL,
#: binding QName).
OWN_SERVICES: dict[str, tuple[Path, str]] = {
    "device": (EXTENSION_WSDL, EXTENSION_BINDING),
    "media2": (Path(__file__).parent / "wsdl" / "media2.wsdl",
               "{http://www.onvif.org/ver20/media/wsdl}Media2Binding"),
}


def onvif_wsdl_dir() -> Path:
    """The directory of WSDLs installed with onvif-zeep-async, found without importing it
    (importing ``onvif`` configures logging as a side effect)."""
    found = importlib.util.find_spec("onvif")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("onvif-zeep-async is not installed; `pip install onvif-zeep-async`")
    return Path(next(iter(found.submodule_search_locations))) / "wsdl"


@dataclass(frozen=True, slots=True)
class Operation:
    service: str
    name: str
    binding_operation: Any  # zeep.wsdl.definitions.Operation (untyped)

    def deserialize(self, body: Any) -> Any:
        """The request as a zeep object with one attribute per parameter.

        zeep's public ``deserialize`` unwraps single-parameter requests into the bare value;
        handlers want one shape for every operation, so parse the Body without unwrapping.
        """
        return self.binding_operation.input._deserialize_body(body)["body"]

    def serialize_response(self, fields: dict[str, Any]) -> Any:
        """The response envelope (lxml element), built and checked by zeep from the schema."""
        return self.binding_operation.output.serialize(**fields).content

    def serialize_request(self, fields: dict[str, Any]) -> Any:
        """A request envelope (lxml element) for these parameters, built by zeep."""
        return self.binding_operation.input.serialize(**fields).content

    def deserialize_response(self, body: Any) -> Any:
        """The response Body as a zeep object (the long-tail path; costs ~1 ms)."""
        return self.binding_operation.output._deserialize_body(body)["body"]


class OnvifSchema:
    """Every served operation, keyed by the QName of its request body element."""

    def __init__(self, wsdl_dir: Path) -> None:
        transport = Transport(cache=None)  # type: ignore[no-untyped-call]
        settings = Settings(strict=False, xml_huge_tree=False, forbid_entities=True,
                            forbid_external=False)
        self.by_qname: dict[str, Operation] = {}
        self.by_name: dict[tuple[str, str], Operation] = {}
        for service, (filename, binding, namespace) in SERVICES.items():
            doc = Document(str(wsdl_dir / filename), transport,  # type: ignore[arg-type]
                           settings=settings)
            for name in (binding, *MORE_BINDINGS.get(service, ())):
                self._register(service, doc.bindings[f"{{{namespace}}}{name}"])
        for service, (path, binding) in OWN_SERVICES.items():
            own = Document(str(path), transport,  # type: ignore[arg-type]
                           settings=settings)
            self._register(service, own.bindings[binding])

    def _register(self, service: str, binding: Any) -> None:
        for name, op in binding._operations.items():
            operation = Operation(service, name, op)
            self.by_qname[str(op.input.body.qname)] = operation
            self.by_name[(service, name)] = operation

    def operation(self, service: str, name: str) -> Operation:
        return self.by_name[(service, name)]


@functools.cache
def onvif_schema() -> OnvifSchema:
    """The process-wide schema (parsing the WSDLs costs ~0.5 s, so it happens once)."""
    return OnvifSchema(onvif_wsdl_dir())
