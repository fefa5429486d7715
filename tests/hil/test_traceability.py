"""Every suite test that carries an official ONVIF test ID declares the case it implements, and
the traceability table in the docs is what those declarations say."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import hil.suite
from hil.spec import BASE, ID_NAME, conformance, official_id
from hil.traceability import DOC_PATH, NOT_IMPLEMENTED, coverage, load_suite, render


def suite_tests() -> dict[str, str]:
    """Test function name -> module name, for every test of the suite."""
    found = {}
    for info in pkgutil.iter_modules(hil.suite.__path__):
        module = importlib.import_module(f"hil.suite.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_") and function.__module__ == module.__name__:
                found[name] = module.__name__
    return found


def test_every_test_named_after_an_official_id_declares_its_case() -> None:
    cases = load_suite()
    named = {name: module for name, module in suite_tests().items() if ID_NAME.match(name)}
    assert named, "the suite has no test named after an official ID"
    undeclared = sorted(name for name in named if official_id(name) not in cases)
    assert not undeclared, f"tests named after an official ID without @conformance: {undeclared}"
    for name, module in named.items():
        case = cases[official_id(name) or ""]
        assert (case.test, case.module) == (name, module), f"{case.id} is declared by " \
                                                           f"{case.module}.{case.test}"
        assert case.checks, f"{case.id}: says nothing about what it checks"


def test_a_test_is_an_official_case_or_camfleets_own() -> None:
    """No third kind: a check without an ID is camfleet's (test_CAMFLEET_*), never a name that
    reads like an official one (the old test_MEDIA_stream_uri_for_each_profile)."""
    others = sorted(name for name in suite_tests()
                    if not ID_NAME.match(name) and not name.startswith("test_CAMFLEET_"))
    assert not others, f"neither an official ID nor CAMFLEET: {others}"


def test_the_table_in_the_docs_is_current() -> None:
    cases = load_suite()
    assert DOC_PATH.read_text(encoding="utf-8") == render(cases), (
        "docs/onvif-traceability.md is stale: python -m hil.traceability --write")
    for case in cases.values():
        assert f"| {case.id} |" in render(cases)


def test_coverage_counts_implemented_against_served() -> None:
    cases = load_suite()
    counted = coverage(cases)
    assert not {m.id for m in NOT_IMPLEMENTED} & set(cases), "implemented and listed missing"
    assert counted.served == len(cases) + len(NOT_IMPLEMENTED)
    assert counted.to_specification + counted.deviations == counted.implemented
    assert counted.deviations == sum(1 for c in cases.values() if c.deviation)


def test_a_declaration_must_match_the_test_name_and_be_unique() -> None:
    with pytest.raises(ValueError, match="name it test_DEVICE_9_9_9"):
        @conformance("DEVICE-9-9-9", BASE, "NO SUCH CASE", checks="nothing")
        def test_DEVICE_9_9_8_wrong() -> None: ...

    load_suite()
    with pytest.raises(ValueError, match="implemented twice"):
        @conformance("DEVICE-3-1-9", BASE, "SYSTEM COMMAND DEVICE INFORMATION", checks="x")
        def test_DEVICE_3_1_9_again() -> None: ...
