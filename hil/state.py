"""What the pytest plugin keeps between its hooks, fixtures and reporting, in pytest's stash.

One place for the keys so the plugin's modules (:mod:`hil.hooks`, :mod:`hil.fixtures`,
:mod:`hil.reporting`) share state without importing each other: the run (every process that
tests cameras), the recorder (only the process that owns the run), the number of xdist workers
asked for (controller), and per test its measurements and where its retries start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hil.measure import MeasurementLog
from hil.report import RunRecorder

if TYPE_CHECKING:
    from hil.run import HilRun

__all__ = ["MEASURE_KEY", "RECORDER_KEY", "RETRY_START_KEY", "RUN_KEY", "WORKERS_KEY",
           "run_of", "target_id_of"]

RUN_KEY = pytest.StashKey["HilRun"]()
RECORDER_KEY = pytest.StashKey[RunRecorder]()
#: How many xdist workers the run starts (from ``pytest_xdist_setupnodes``).
WORKERS_KEY = pytest.StashKey[int]()
MEASURE_KEY = pytest.StashKey[MeasurementLog]()
RETRY_START_KEY = pytest.StashKey[int]()


def run_of(config: pytest.Config) -> HilRun | None:
    """The run of this process; ``None`` when no cameras were given."""
    return config.stash.get(RUN_KEY, None)


def target_id_of(item: pytest.Item) -> str | None:
    """The camera a test item is parametrised with (``None``: not a camera test)."""
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("hil_target_id") if callspec is not None else None
    return str(value) if value is not None else None
