"""A view's scene in a few kilobytes: the fingerprint commissioning records (Art. 10).

A moved camera seldom says so; what it sees does. Commissioning keeps, for each view, the
strongest ORB keypoints of the histogram-equalized working picture: where each is (pixels at
``WORK_WIDTH``) and its 256-bit descriptor, :data:`FINGERPRINT_FEATURES` of them at most,
about 7 KB as text (``orb1:<base64>``). No picture can be rebuilt from it.

:func:`scene_match` tells how much of a fingerprinted scene is in a picture: the share of the
fingerprint's keypoints that find a distinctive match (Lowe's ratio test) *and* agree on one
homography (RANSAC). Descriptors alone match by chance a few percent of the time anywhere;
points that also agree on where they are do not. The scene in place, under other light,
weather, IR or a small turn, finds tens of percent; another street finds almost nothing
(``bench/art10.py`` prints both). The audit uses it twice: a view called "another place"
must also find (almost) none of its fingerprint, and one that finds another of the
camera's own views' fingerprints instead shows that view (re-aimed or presets swapped), not
another place.

    >>> import numpy as np, cv2
    >>> rng = np.random.default_rng(0)
    >>> scene = cv2.GaussianBlur(rng.integers(0, 255, (360, 640), dtype=np.uint8), (0, 0), 2)
    >>> other = cv2.GaussianBlur(rng.integers(0, 255, (360, 640), dtype=np.uint8), (0, 0), 2)
    >>> print_ = scene_fingerprint(scene)
    >>> scene_match(print_, np.roll(scene, 12, axis=1)) > 0.5, scene_match(print_, other) < 0.05
    (True, True)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import cv2
import numpy as np

from devmgr.vision._compare import _work_grey
from devmgr.vision._limits import Arr
from devmgr.vision._motion import orb

__all__ = ["FINGERPRINT_FEATURES", "FINGERPRINT_MIN", "scene_fingerprint", "scene_match",
           "scene_matches"]

#: Keypoints kept per view: enough that a tenth of them is a sure match, few enough for a
#: registry row (36 bytes each).
FINGERPRINT_FEATURES = 200
#: Fewer keypoints than this: the view has too little texture to fingerprint ("" recorded).
FINGERPRINT_MIN = 16
#: Matches that agree on one homography within this many working pixels.
_RANSAC_PX = 4.0
#: Lowe's ratio: the best match must be clearly better than the second best.
_RATIO = 0.8
_PREFIX = "orb1:"
_RECORD = np.dtype([("x", "<u2"), ("y", "<u2"), ("descriptor", "u1", (32,))])


def _features(image: Arr | bytes, count: int) -> tuple[Arr, Arr | None]:
    """Points (N x 2, float32) and ORB descriptors of the equalized working picture."""
    grey = cv2.equalizeHist(_work_grey(image))
    keypoints, descriptors = orb(count).detectAndCompute(grey, None)
    points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    return points, descriptors


def scene_fingerprint(image: Arr | bytes) -> str:
    """The view's fingerprint as text, or "" if it has too little texture for one.

    Raises ``ValueError`` for an undecodable picture.
    """
    points, descriptors = _features(image, FINGERPRINT_FEATURES)
    if descriptors is None or len(points) < FINGERPRINT_MIN:
        return ""
    records = np.zeros(len(points), _RECORD)
    records["x"] = np.clip(np.round(points[:, 0]), 0, 65535)
    records["y"] = np.clip(np.round(points[:, 1]), 0, 65535)
    records["descriptor"] = descriptors
    return _PREFIX + base64.b64encode(records.tobytes()).decode("ascii")


def _decode(fingerprint: str) -> tuple[Arr, Arr] | None:
    """Points and descriptors of a recorded fingerprint; None if it is empty or not one of
    ours (a registry edited by hand is not trusted to be well formed)."""
    if not fingerprint.startswith(_PREFIX):
        return None
    try:
        raw = base64.b64decode(fingerprint[len(_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) % _RECORD.itemsize or \
            len(raw) // _RECORD.itemsize > 4 * FINGERPRINT_FEATURES:
        return None
    records = np.frombuffer(raw, _RECORD)
    points = np.stack([records["x"], records["y"]], axis=1).astype(np.float32)
    return points, np.ascontiguousarray(records["descriptor"])


def scene_match(fingerprint: str, image: Arr | bytes) -> float | None:
    """Share (0..1) of the fingerprint's keypoints found in ``image`` in one consistent
    geometry; None if there is no usable fingerprint. Raises ``ValueError`` for an
    undecodable picture."""
    return scene_matches([fingerprint], image)[0]


def scene_matches(fingerprints: Sequence[str], image: Arr | bytes) -> list[float | None]:
    """:func:`scene_match` of each fingerprint, the picture's own keypoints found once."""
    recorded = [_decode(fingerprint) for fingerprint in fingerprints]
    if all(r is None for r in recorded):
        return [None] * len(recorded)
    p1, d1 = _features(image, 2 * FINGERPRINT_FEATURES)
    return [None if r is None else _found(*r, p1, d1) for r in recorded]


def _found(p0: Arr, d0: Arr, p1: Arr, d1: Arr | None) -> float:
    """Share of the recorded keypoints (``p0``, ``d0``) that the picture's (``p1``, ``d1``)
    match in one geometry."""
    if d1 is None or len(p1) < 2:
        return 0.0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d0, d1, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < _RATIO * m[1].distance]
    if len(good) < 8:
        return 0.0
    src = np.array([p0[m.queryIdx] for m in good], np.float32)
    dst = np.array([p1[m.trainIdx] for m in good], np.float32)
    _hom, mask = cv2.findHomography(src, dst, cv2.RANSAC, _RANSAC_PX, maxIters=2000,
                                    confidence=0.995)
    inliers = int(mask.sum()) if mask is not None else 0
    return inliers / len(p0) if inliers >= 8 else 0.0
