"""Report images de-identified (Art. 19, 21): no face, body or number plate can be recognised
in a snapshot that leaves the registry.

Chosen: pixelation, every image cut into blocks ``block_size(width, hfov)`` pixels square
(48 across a view of 60° or wider, larger as the view zooms in: people and plates look
larger there) and each block replaced by its mean colour. It is irreversible, unlike a blur:
a Gaussian or box blur is a known convolution that deconvolution largely undoes, while a
block's mean keeps one number of its hundreds, and every arrangement of them with that mean
gives the same block. It needs no detector, so nothing is missed because a detector did not
fire (a person in IR, half hidden, at an odd angle): at 48 blocks across, a face of up to a
twelfth of the frame's width spans at most four blocks, and a plate's character is narrower
than one block unless the plate fills a sixth of the frame; a view zoomed to ``hfov`` gets
blocks ``sqrt(60 / hfov)`` times larger, and one whose field of view is unknown the blocks
of a 5° view (``bench/privacy.py`` measures all of it on the simulator's ground truth). What
the report needs stays: where things are, what turned or covers the view. The registry keeps
the snapshots as taken (Art. 15 evidence); an authorised investigation may write a report
with them (``--identifiable-images``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from devmgr.vision import decode_image

__all__ = ["BLOCKS_ACROSS", "UNKNOWN_HFOV_DEG", "WIDE_HFOV_DEG", "block_size", "deidentify"]

#: Blocks across the width of a de-identified view of WIDE_HFOV_DEG or wider.
BLOCKS_ACROSS = 48
WIDE_HFOV_DEG = 60.0
#: The field of view assumed for a view whose own is not known (a zoomed preset that was not
#: calibrated): a long zoom, so its blocks are as large as the closest people need.
UNKNOWN_HFOV_DEG = 5.0


def block_size(width: int, hfov_deg: float | None = WIDE_HFOV_DEG) -> int:
    """The side of a block, in pixels, for an image ``width`` pixels wide of a view
    ``hfov_deg`` wide (None: unknown)."""
    hfov = UNKNOWN_HFOV_DEG if hfov_deg is None or not hfov_deg > 0 else hfov_deg
    zoom = math.sqrt(max(1.0, WIDE_HFOV_DEG / hfov))
    return max(2, math.ceil(width / BLOCKS_ACROSS * zoom))


def deidentify(jpeg: bytes, hfov_deg: float | None = WIDE_HFOV_DEG) -> tuple[bytes, int]:
    """``jpeg`` of a view ``hfov_deg`` wide, pixelated (see the module): a PNG of the same
    size (lossless, so each block is exactly one colour; flat blocks compress well), and the
    block size in pixels. Raises ValueError for bytes that are not a decodable image of a
    sane size."""
    image = decode_image(jpeg, cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    b = block_size(width, hfov_deg)
    rows, cols = math.ceil(height / b), math.ceil(width / b)
    padded = cv2.copyMakeBorder(image, 0, rows * b - height, 0, cols * b - width,
                                cv2.BORDER_REPLICATE)
    means = padded.reshape(rows, b, cols, b, 3).mean(axis=(1, 3))
    blocks = np.repeat(np.repeat(np.rint(means).astype(np.uint8), b, axis=0), b, axis=1)
    ok, out = cv2.imencode(".png", np.ascontiguousarray(blocks[:height, :width]))
    if not ok:
        raise ValueError("the de-identified image could not be encoded")
    return bytes(out.tobytes()), b
