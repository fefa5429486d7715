"""The ONVIF device test specifications the suite follows, and which test implements which case.

A test of the suite named after an official test ID claims to be that test: an acceptance
tester who reads ``DEVICE_1_1_30 passed`` believes the camera passed DEVICE-1-1-30. So each
such test declares, with :func:`conformance`, the specification document and version it
follows, the test case, what it checks, and any deviation from the procedure with its reason::

    @conformance("DEVICE-3-1-9", BASE, "SYSTEM COMMAND DEVICE INFORMATION",
                 checks="GetDeviceInformation carries Manufacturer, Model, FirmwareVersion, "
                        "SerialNumber and HardwareId")
    def test_DEVICE_3_1_9_device_information(camera): ...

The records are the source of the traceability table (``python -m hil.traceability``), and
``tests/hil/test_traceability.py`` fails when a test carries an ID without a record, or the
table is stale. The specifications are the DocBook sources of the public ``onvif/testspecs``
repository (the ONVIF Device Test Tool's test cases), at the commits named below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "BASE",
    "CASES",
    "DOCUMENTS",
    "IMAGING",
    "MEDIA",
    "PTZ",
    "RECORDING",
    "Case",
    "Document",
    "case_of",
    "conformance",
    "official_id",
    "source_url",
]

F = TypeVar("F", bound=Callable[..., object])

#: A test function named after an official test ID: ``test_DEVICE_1_1_30_...``.
ID_NAME = re.compile(r"^test_([A-Z][A-Z0-9]*)_(\d+)_(\d+)_(\d+)(?:_|$)")


@dataclass(frozen=True)
class Document:
    """One ONVIF device test specification, as stored in ``onvif/testspecs``."""

    title: str
    version: str
    date: str
    path: str
    commit: str

    @property
    def cite(self) -> str:
        return f"{self.title} {self.version} ({self.date})"


_REPO = "onvif/testspecs"
BASE = Document("ONVIF Base Device Test Specification", "21.12", "December 2021",
                "device/ONVIF_Base_Device_Test_Specification.xml",
                "15e2e0b01f89628c812e81a8be0962329bdd98f4")
PTZ = Document("ONVIF PTZ Device Test Specification", "20.06", "June 2020",
               "device/ONVIF_PTZ_Device_Test_Specification.xml",
               "15e2e0b01f89628c812e81a8be0962329bdd98f4")
MEDIA = Document("ONVIF Media Configuration Device Test Specification", "20.12",
                 "December 2020", "device/ONVIF_Media_Configuration_Device_Test_Specification.xml",
                 "15e2e0b01f89628c812e81a8be0962329bdd98f4")
IMAGING = Document("ONVIF Imaging Device Test Specification", "20.06", "June 2020",
                   "device/ONVIF_Imaging_Device_Test_Specification.xml",
                   "add0f67a927542606bea8127e097c75d63935782")
RECORDING = Document("ONVIF Recording Control Device Test Specification", "21.06", "June 2021",
                     "device/ONVIF_Recording_Control_Device_Test_Specification.xml",
                     "15e2e0b01f89628c812e81a8be0962329bdd98f4")
DOCUMENTS = (BASE, MEDIA, PTZ, IMAGING, RECORDING)


@dataclass(frozen=True)
class Case:
    """An official test case and the suite test that implements it."""

    id: str
    document: Document
    title: str
    #: What the test checks, in the specification's terms.
    checks: str
    #: Where and why the test departs from the procedure ("" when it does not).
    deviation: str = ""
    #: The implementing test function and its module.
    test: str = ""
    module: str = ""

    @property
    def to_specification(self) -> bool:
        return not self.deviation


#: Official test ID -> the case the suite implements.
CASES: dict[str, Case] = {}


def official_id(function_name: str) -> str | None:
    """``test_DEVICE_1_1_30_services`` -> ``DEVICE-1-1-30``; None for other names."""
    found = ID_NAME.match(function_name)
    if found is None:
        return None
    group, *numbers = found.groups()
    return "-".join((group, *numbers))


def conformance(case_id: str, document: Document, title: str, *, checks: str,
                deviation: str = "") -> Callable[[F], F]:
    """Declare that the decorated test implements official test ``case_id`` (see above)."""
    def register(function: F) -> F:
        name = getattr(function, "__name__", "")
        if official_id(name) != case_id:
            raise ValueError(f"{name} implements {case_id}: name it test_"
                             f"{case_id.replace('-', '_')}_...")
        if case_id in CASES and CASES[case_id].test != name:
            raise ValueError(f"{case_id} is implemented twice: {CASES[case_id].test}, {name}")
        CASES[case_id] = Case(case_id, document, title, " ".join(checks.split()),
                              " ".join(deviation.split()), name,
                              getattr(function, "__module__", ""))
        return function

    return register


def case_of(function_name: str) -> Case | None:
    found = official_id(function_name)
    return CASES.get(found) if found else None


def source_url(document: Document) -> str:
    return f"https://github.com/{_REPO}/blob/{document.commit}/{document.path}"
