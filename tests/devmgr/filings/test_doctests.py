"""The docstring examples are part of the documentation; keep them true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from devmgr.filings import io, model


@pytest.mark.parametrize("module", [model, io], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
