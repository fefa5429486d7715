"""Generated panoramas kept on disk and memory-mapped, so a fleet's processes share one copy.

A fleet's worker processes share one copy in the page cache instead of generating ~37 MB each
(~1 s of CPU per scene). The file name carries a digest of the generator's source and of the
numpy and OpenCV versions that drew it, so a changed generator never reads an old world.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
from pathlib import Path

import cv2
import numpy as np

from camfleet.files import write_atomic
from simulators.scene import world
from simulators.scene.geometry import PAD_LEFT, PAD_RIGHT, Image


@functools.cache
def generator_digest() -> str:
    """16 hex digits naming the generator: the world package's source, the panorama geometry
    and padding, and the numpy and OpenCV versions."""
    digest = hashlib.sha256()
    sources = sorted(Path(world.__file__).parent.glob("*.py"))
    sources += [Path(__file__).with_name(name) for name in ("geometry.py", "panorama.py")]
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    digest.update(np.__version__.encode() + cv2.__version__.encode())
    return digest.hexdigest()[:16]


def scene_cache_path(seed: int, px_per_deg: int) -> Path | None:
    """Where scene ``seed`` is kept: ``$CAMFLEET_SCENE_CACHE`` (``off``: nowhere), else
    ``$XDG_CACHE_HOME/camfleet/scenes`` (default ``~/.cache``)."""
    setting = os.environ.get("CAMFLEET_SCENE_CACHE", "")
    if setting == "off":
        return None
    root = Path(setting) if setting else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "camfleet" / "scenes")
    return root / f"scene-{seed}-{px_per_deg}-{generator_digest()}.npy"


def load_cached(path: Path, px_per_deg: int) -> Image | None:
    """The padded panorama kept at ``path``, memory-mapped read-only; None if absent or not
    a panorama of this resolution."""
    try:
        pano: Image = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent, or unreadable: generate (and replace it)
    cols = 360 * px_per_deg + PAD_LEFT + PAD_RIGHT
    if pano.dtype != np.uint8 or pano.ndim != 3 or pano.shape[1:] != (cols, 3):
        return None
    return pano


def store_cached(path: Path, pano: Image) -> None:
    """Write atomically (another process may be reading or writing the same scene); a
    read-only or full disk only costs the next process the generation."""
    buffer = io.BytesIO()
    np.save(buffer, pano, allow_pickle=False)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())
