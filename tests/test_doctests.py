"""The examples in the docstrings of camfleet, devmgr and simulators run, and say what happens.

Every example runs offline: those that need a real camera or network are marked
``# doctest: +SKIP`` where they stand, and everything else talks at most to 127.0.0.0/8.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("camfleet", "devmgr", "simulators")


def _module_names() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")
                  if not info.name.endswith(".__main__")]  # importing it runs the program
    return names


def _doctests(name: str) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(importlib.import_module(name)) if test.examples]


WITH_EXAMPLES = [name for name in _module_names() if _doctests(name)]


def test_examples_are_found() -> None:
    # A broken walk (a package renamed, an import failing) would make every test below vanish.
    assert {"camfleet.protocols.wsdiscovery", "devmgr.registry", "simulators.scene",
            "simulators.fleet.fleet"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in _doctests(name):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
