"""Fixtures for the report tests: one hand-built audit, and its reports written once."""

from __future__ import annotations

from pathlib import Path

import pytest

from devmgr.report import write_reports

from .factory import Sample, make_sample


@pytest.fixture(scope="module")
def sample() -> Sample:
    return make_sample()


@pytest.fixture(scope="module")
def written(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_reports(sample.report, tmp_path_factory.mktemp("reports"),
                         images=sample.images.get)
