"""What every simulated fault has, and what a wire fault adds (ops, probability).

Apart from :mod:`simulators.faults` so that fault families in modules of their own
(:mod:`simulators.hostile`) share the base without importing the union back.
"""

from __future__ import annotations

import random

from pydantic import Field

from camfleet.model import Model

__all__ = ["FaultBase", "WireFault"]


class FaultBase(Model):
    """Fields every fault has."""

    #: Free text for reports ("knocked by a truck"); never interpreted.
    note: str = ""


class WireFault(FaultBase):
    #: ONVIF operation names this fault applies to; empty means every operation.
    ops: tuple[str, ...] = ()
    probability: float = Field(default=1.0, ge=0.0, le=1.0)

    def applies_to(self, operation: str | None) -> bool:
        return not self.ops or operation in self.ops

    def fires(self, operation: str | None, rng: random.Random) -> bool:
        if not self.applies_to(operation):
            return False
        return self.probability >= 1.0 or rng.random() < self.probability
