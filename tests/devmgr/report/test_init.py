"""The package surface: write_reports, its formats, and the exports."""

from __future__ import annotations

import doctest
from pathlib import Path
from types import ModuleType

import pytest

import devmgr.report
from devmgr.report import FILENAMES, write_reports

from .factory import Sample


def test_writes_every_format_by_default(written: dict[str, Path]) -> None:
    assert {name: path.name for name, path in written.items()} == FILENAMES
    assert all(path.stat().st_size > 0 for path in written.values())


def test_writes_only_what_is_asked_into_a_new_directory(sample: Sample, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "2025-03"
    written = write_reports(sample.report, out, formats="csv")
    assert list(written) == ["csv"]
    assert [p.name for p in out.iterdir()] == ["audit.csv"]


def test_unknown_format_names_the_valid_ones_and_writes_nothing(sample: Sample,
                                                                 tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'pdf'.*json, junit, csv, html"):
        write_reports(sample.report, tmp_path, formats=("json", "pdf"))
    assert list(tmp_path.iterdir()) == []


def test_exports_exist() -> None:
    for name in devmgr.report.__all__:
        assert hasattr(devmgr.report, name), name


@pytest.mark.parametrize("module", [devmgr.report, devmgr.report._dom],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
