"""The docstring examples are part of the documentation; keep them true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from devmgr.filings import catalog, codes, io, model, nodes, places


@pytest.mark.parametrize("module", [model, io, catalog, codes, nodes, places],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
