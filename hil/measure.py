"""Measurements with limits, OpenHTF-style: a number, its unit, its limits and the verdict.

A test records what it measured through the ``measure`` fixture; every measurement lands in the
JUnit, JSON and HTML reports whether it passed or not, so a rejected camera comes with the
numbers. When is the outcome decided? A measurement outside its limits does not stop the test:
the test runs to its end (so every measurement of it is recorded), and then fails, listing each
measurement that was out of limits. An exception of the test's own comes first, as usual.

    def test_clock(camera, measure):
        offset = camera.clock_offset()
        measure("clock_offset", offset, unit="s")          # limits from hil.limits
        measure("settle", 1.8, unit="s", high=2.0)         # limits given here

Limits come from ``--hil-limit`` first, then from the call, then from
:data:`hil.limits.DEFAULT_LIMITS` (see :func:`hil.limits.resolve_limit`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.limits import Limit, resolve_limit

__all__ = ["Measurement", "MeasurementLog"]


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured value and its verdict."""

    #: Name from hil.limits (``clock_offset``) or the test's own.
    name: str
    value: float
    #: Unit of ``value`` and of the limits (``s``, ``deg``, ``generic``).
    unit: str = ""
    #: The limits applied; ``None``: recorded for the record, never fails.
    limit: Limit | None = None
    #: The camera it was measured on, for messages that can be read out of context.
    camera: str = ""

    @property
    def passed(self) -> bool:
        return self.limit is None or self.limit.contains(self.value)

    def describe(self) -> str:
        """``clock_offset = 3600.2 s (limits -5..5 s): FAIL``"""
        value = "nan" if math.isnan(self.value) else f"{self.value:.6g}"
        unit = f" {self.unit}" if self.unit else ""
        limits = f" (limits {self.limit.describe()}{unit})" if self.limit else " (no limits)"
        return f"{self.name} = {value}{unit}{limits}: {'PASS' if self.passed else 'FAIL'}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": None if math.isnan(self.value) else self.value,
                "unit": self.unit,
                "low": self.limit.low if self.limit else None,
                "high": self.limit.high if self.limit else None,
                "outcome": "pass" if self.passed else "fail"}


@dataclass
class MeasurementLog:
    """The measurements of one test; what the ``measure`` fixture hands out (callable)."""

    camera: str = ""
    overrides: Mapping[str, Limit] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)

    def __call__(self, name: str, value: float, *, unit: str | None = None,
                 low: float | None = None, high: float | None = None) -> Measurement:
        """Record ``value``; returns the measurement (``.passed`` says how it went)."""
        limit = resolve_limit(name, self.overrides, low, high)
        if unit is None:
            unit = limit.unit if limit is not None else ""
        measurement = Measurement(name, float(value), unit, limit, self.camera)
        self.measurements.append(measurement)
        return measurement

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]

    def failure_message(self) -> str:
        where = f"{self.camera}: " if self.camera else ""
        lines = [f"{where}{m.describe()}" for m in self.failed]
        return "measurement out of limits:\n  " + "\n  ".join(lines)
