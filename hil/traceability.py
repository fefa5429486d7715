"""The traceability table: the official test cases of the features the suite can judge, the
suite test that implements each (or why none does), what it checks, and any deviation.

The implemented cases come from the suite's own declarations (:mod:`hil.spec`); the cases
that are not (yet) implemented, and the specifications whose features come with later work
(streaming, Media2, events), are listed here. The table is written to
``docs/onvif-traceability.md``; ``tests/hil/test_traceability.py`` fails when it is stale or
when a test carries an official ID without a declaration.

    python -m hil.traceability            # print the table
    python -m hil.traceability --write    # write docs/onvif-traceability.md
    python -m hil.traceability --check    # exit 1 if the file is not what the code says
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

from hil.spec import (
    BASE,
    CASES,
    DOCUMENTS,
    IMAGING,
    MEDIA,
    PTZ,
    RECORDING,
    Case,
    Document,
    source_url,
)

__all__ = ["DOC_PATH", "LATER", "NOT_IMPLEMENTED", "Coverage", "coverage", "load_suite",
           "render"]

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "onvif-traceability.md"


@dataclass(frozen=True)
class Missing:
    """A test case of a served feature that the suite does not implement, and why."""

    id: str
    document: Document
    title: str
    reason: str


#: Cases of features the simulator serves (and cameras commonly have) with no suite test yet.
NOT_IMPLEMENTED = (
    *(Missing(f"DISCOVERY-2-1-{n}", BASE, title,
              "not implemented yet: DISCOVERY-1-1-3's Probe with the namespace variants of "
              "Annex A.11 (hand-written envelopes)")
      for n, title in ((1, "NAMESPACES (DEFAULT NAMESPACES IN EACH TAG)"),
                       (2, "NAMESPACES (DEFAULT NAMESPACES IN PARENT TAG)"),
                       (3, "NAMESPACES (NOT STANDARD PREFIXES)"),
                       (4, "NAMESPACES (DIFFERENT PREFIXES FOR THE SAME NAMESPACE)"),
                       (5, "NAMESPACES (THE SAME PREFIX FOR DIFFERENT NAMESPACES)"))),
    Missing("DEVICE-1-1-31", BASE, "GET SERVICES - XADDR",
            "not implemented yet: the XAddr check of its helper annex was not read"),
)

#: Specifications of features that come with later work, so their cases slot in here.
LATER = (
    ("ONVIF Real Time Streaming Device Test Specification",
     "with the RTSP server (simulators/rtsp): RTSS cases, and MEDIA-7-1-1/7-1-3"),
    ("ONVIF Real Time Streaming using Media2 Device Test Specification", "with Media2"),
    ("ONVIF Media2 Configuration Device Test Specification", "with Media2 (Profile T)"),
    ("ONVIF Event Handling Device Test Specification",
     "with the event service (pull points); Base Device's EVENT cases too"),
)

#: Features of the specifications above that the simulator does not serve at all, so their
#: cases are outside the count (a real camera may serve them; the suite cannot judge them yet).
NOT_SERVED = (
    (BASE, "DISCOVERY-1-1-11 (AddScopes/RemoveScopes), every Set* of network, time, users and "
           "system (DEVICE-2-1-2/3, 2-1-5..10, 2-1-12..16, 2-1-18..21, 2-1-26..31, "
           "2-1-34/35, 3-1-4..7, 3-1-10..13, 4-1-3..9), GetServices of services it has not "
           "(DEVICE-1-1-20/21/23..29)"),
    (PTZ, "SetConfiguration (PTZ-2-1-9/10), configurable media profiles (PTZ-5-1-4), "
          "auxiliary commands (PTZ-6-x)"),
    (MEDIA, "video/audio source, encoder and metadata configurations (MEDIA-2-x, 3-x, 5-x), "
            "profile creation"),
    (IMAGING, "GetOptions, SetImagingSettings, focus, events (IMAGING-1-1-3 and later)"),
    (RECORDING, "recording creation, jobs and their configuration"),
)


def load_suite() -> dict[str, Case]:
    """Import every module of the suite (each declares its cases); the declarations."""
    import hil.suite  # noqa: PLC0415

    for module in pkgutil.iter_modules(hil.suite.__path__):
        importlib.import_module(f"hil.suite.{module.name}")
    return dict(CASES)


@dataclass(frozen=True)
class Coverage:
    served: int
    implemented: int
    to_specification: int
    deviations: int

    def describe(self) -> str:
        return (f"{self.implemented} of the {self.served} official test cases of the features "
                f"served are implemented: {self.to_specification} to the specification, "
                f"{self.deviations} with a documented deviation")


def coverage(cases: dict[str, Case]) -> Coverage:
    implemented = len(cases)
    deviations = sum(1 for c in cases.values() if not c.to_specification)
    return Coverage(implemented + len(NOT_IMPLEMENTED), implemented,
                    implemented - deviations, deviations)


def _key(case_id: str) -> tuple[str, tuple[int, ...]]:
    group, *numbers = case_id.split("-")
    return group, tuple(int(n) for n in numbers)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(cases: dict[str, Case]) -> str:
    counted = coverage(cases)
    lines = [
        "# ONVIF test cases: traceability", "",
        "Generated by `python -m hil.traceability --write` from the suite's declarations "
        "(`hil/spec.py`, the `@conformance` of each test); do not edit by hand.", "",
        f"**Coverage:** {counted.describe()}.", "",
        "A test named after an official ID runs that case's procedure and pass criteria as the "
        "specification states them; camfleet's own measurements and stricter checks are the "
        "`test_CAMFLEET_*` tests. The position checks follow the PTZ specification's \"PTZ "
        "accuracy is out of scope\": the head must end nearer the target than where it left.",
        "", "## Specifications followed", "",
        "| Document | Version | Source |", "|---|---|---|"]
    for document in DOCUMENTS:
        lines.append(f"| {document.title} | {document.version} ({document.date}) | "
                     f"[{document.path}]({source_url(document)}) |")
    lines += ["", "## Implemented", "",
              "| ID | Test case | Document | Suite test | Checks | Deviation |",
              "|---|---|---|---|---|---|"]
    for case in sorted(cases.values(), key=lambda c: _key(c.id)):
        module = case.module.rsplit(".", 1)[-1]
        short = case.document.title.replace("ONVIF ", "")
        lines.append(f"| {case.id} | {_cell(case.title)} | {short} {case.document.version} "
                     f"| `{module}.py::{case.test}` | {_cell(case.checks)} "
                     f"| {_cell(case.deviation) or 'none'} |")
    lines += ["", "## Served but not implemented", "", "| ID | Test case | Document | Why |",
              "|---|---|---|---|"]
    for missing in sorted(NOT_IMPLEMENTED, key=lambda m: _key(m.id)):
        lines.append(f"| {missing.id} | {_cell(missing.title)} | {missing.document.title} "
                     f"{missing.document.version} | {_cell(missing.reason)} |")
    lines += ["", "## Not served by the simulator (outside the count)", "",
              "| Document | Cases |", "|---|---|"]
    lines += [f"| {document.title} {document.version} | {_cell(what)} |"
              for document, what in NOT_SERVED]
    lines += ["", "## Later", "", "| Specification | Comes with |", "|---|---|"]
    lines += [f"| {title} | {_cell(work)} |" for title, work in LATER]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hil.traceability",
                                     description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {DOC_PATH.name}")
    action.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render(load_suite())
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text, encoding="utf-8")
        return 0
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m hil.traceability --write",
                  file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
