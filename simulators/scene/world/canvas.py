"""The panorama being painted, and what every painter needs alongside it."""

from __future__ import annotations

from dataclasses import dataclass

from simulators.scene.geometry import Arr, Image
from simulators.scene.world.layout import Layout


@dataclass(frozen=True)
class Canvas:
    """The panorama being painted and what every painter needs alongside it."""

    pano: Image
    ppd: int
    layout: Layout
    wall_noise: Arr  # (257, 257) float32 around 1: texture of wall materials

    @property
    def rows(self) -> int:
        return int(self.pano.shape[0])

    @property
    def cols(self) -> int:
        return int(self.pano.shape[1])
