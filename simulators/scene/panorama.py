"""``Scene``: one world's panorama, generated once per process (or read from the disk cache).

The panorama is padded with copies of the opposite edge, so the lens samples across north
without a modulo per pixel; it is read-only, shared by every camera of a process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from simulators.scene.cache import load_cached, scene_cache_path, store_cached
from simulators.scene.geometry import DEFAULT_PX_PER_DEG, PAD_LEFT, PAD_RIGHT, Image
from simulators.scene.world.generate import generate


@dataclass(frozen=True, eq=False, repr=False)
class Scene:
    """A deterministic equirectangular world. Build with :meth:`for_seed` (cached per process).

    ``pano`` row 0 is elevation ``EL_TOP``; column ``PAD_LEFT`` is azimuth 0 (north), azimuth
    growing clockwise (east) to the right. It is read-only: many cameras share it.
    """

    seed: int
    px_per_deg: int
    pano: Image

    @classmethod
    def for_seed(cls, seed: int, px_per_deg: int = DEFAULT_PX_PER_DEG) -> Scene:
        """The scene for ``seed``; generated once per process (~1 s), then shared."""
        return _scene_for(int(seed), int(px_per_deg))

    @property
    def panorama(self) -> Image:
        """The panorama without its wrap-around padding: (rows, 360·px_per_deg, 3)."""
        return self.pano[:, PAD_LEFT:-PAD_RIGHT]

    @property
    def nbytes(self) -> int:
        return int(self.pano.nbytes)

    def __repr__(self) -> str:
        rows, cols = self.panorama.shape[:2]
        return (f"Scene(seed={self.seed}, {cols}x{rows} px, {self.px_per_deg} px/°, "
                f"{self.nbytes / 1e6:.1f} MB)")


@functools.lru_cache(maxsize=4)
def _scene_for(seed: int, px_per_deg: int) -> Scene:
    if not 4 <= px_per_deg <= 32:
        raise ValueError(f"px_per_deg must be 4..32, got {px_per_deg}")
    path = scene_cache_path(seed, px_per_deg)
    padded = load_cached(path, px_per_deg) if path is not None else None
    if padded is None:
        pano = generate(seed, px_per_deg)
        padded = np.concatenate(
            [pano[:, -PAD_LEFT:], pano, pano[:, :PAD_RIGHT]], axis=1)
        padded.flags.writeable = False
        if path is not None:
            store_cached(path, padded)
    return Scene(seed=seed, px_per_deg=px_per_deg, pano=padded)
