"""Measurements with limits: which limit applies, and when a value fails."""

from __future__ import annotations

import math

import pytest

from hil.limits import DEFAULT_LIMITS, Limit, parse_limit_override, resolve_limit
from hil.measure import MeasurementLog


def test_a_value_outside_its_default_limits_fails_and_says_so() -> None:
    log = MeasurementLog(camera="gate-1")
    inside = log("clock_offset", 0.4)
    outside = log("clock_offset", -3600.0)
    assert inside.passed
    assert inside.unit == "s"  # the unit comes with the declared limit
    assert not outside.passed
    assert log.failed == [outside]
    assert "gate-1: clock_offset = -3600 s (limits -5..5 s): FAIL" in log.failure_message()


def test_command_line_limits_beat_the_test_and_the_defaults() -> None:
    name, override = parse_limit_override("clock_offset=-2:")
    log = MeasurementLog(overrides={name: override})
    assert not log("clock_offset", -3.0, low=-10.0, high=10.0).passed
    assert log("clock_offset", 1e6).passed  # the override left the upper end open


def test_explicit_limits_beat_the_defaults_and_unknown_names_only_record() -> None:
    assert resolve_limit("snapshot_latency", {}, None, 1.0) == Limit(None, 1.0)
    assert resolve_limit("snapshot_latency", {}, None, None) == DEFAULT_LIMITS["snapshot_latency"]
    assert resolve_limit("recording_retention", {}, None, None) is None
    assert MeasurementLog()("recording_retention", 30.0, unit="d").passed


def test_nan_never_passes_a_limit() -> None:
    measurement = MeasurementLog()("ptz_position_error", math.nan)
    assert not measurement.passed
    assert measurement.as_dict()["value"] is None  # JSON has no NaN


@pytest.mark.parametrize("text", ["clock_offset", "clock_offset=1", "=1:2", "x=a:b", "x=3:1"])
def test_bad_limit_overrides_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--hil-limit"):
        parse_limit_override(text)
