"""View-change check: has a camera turned, been obstructed or gone out of focus?

The regulation wants a "relatively fixed view" (Art. 7) and no obstruction by greenery, pipes
or billboards (Art. 12). :func:`compare_views` compares the camera's current snapshot with the
snapshot taken at commissioning from the same PTZ preset and says what changed:

* **turned**: ORB features on a ~640 px grey copy, matched and fitted with a RANSAC
  homography (a camera rotation is exactly a homography; a similarity fitted over the whole
  frame is biased by perspective by up to ~1.5 px at 10 deg), then refined to sub-pixel by
  ``phaseCorrelate`` on the central region after warping the current frame back. The motion of
  the image centre is turned into degrees with the original field of view:
  ``f_px = (W_work/2)/tan(HFOV/2)``, ``pan ~ atan(dx/f_px)`` (exactly inverted for a
  pan-then-tilt PTZ head, see ``_motion.pan_tilt``). If ORB finds too little, a phase
  correlation of the whole frame stands in (``method="phase"``).
* **obstructed**: the frame is cut into 8x6 tiles (after warping the baseline by the
  estimated motion). A tile with edges is obstructed when its sharp-edge density falls below
  0.3 of the baseline's or its coarse appearance (8x8 px per tile) no longer correlates with
  the baseline's (NCC < 0.5), *and* its gradient structure is gone, *and* the baseline's fine
  texture no longer shows through a change of light (the log ratio of the two pictures,
  less its median-filtered steps: what a moved shadow cannot explain), *and* it did not gain
  texture (a deep shadow or a passing car in the baseline, lifted today). Plain tiles (sky,
  asphalt, blank walls) whose coarse appearance changed count only next to such a tile or
  as a patch of four: alone, a shadow's edge looks like anything there. Edges work on
  histogram-equalized grey, appearance and texture on the raw grey's logarithm, so gamma,
  brightness, noise, JPEG and IR night mode leave them alone.
* **blurred**: the variance of the Laplacian, normalized by the image variance, drops below
  0.35 of the baseline's.
* **unusable**: too dark, too uniform or too few features to compare at all.

    >>> import numpy as np, cv2
    >>> rng = np.random.default_rng(0)
    >>> base = cv2.GaussianBlur(rng.integers(0, 255, (360, 640), dtype=np.uint8), (0, 0), 2)
    >>> r = compare_views(base, np.roll(base, -10, axis=1), hfov_deg=60.0)
    >>> round(r.pan_deg, 1), sorted(r.verdicts)
    (1.0, ['turned'])

``devmgr`` never imports ``simulators``: the tests and ``bench/view_change.py`` render frames
with the simulated scene.

A zoomed view's field of view is measured at commissioning by a small known pan
(:func:`field_of_view`); a baseline that can never be judged is named then
(:func:`baseline_problem`), and each view's scene is fingerprinted (:func:`scene_fingerprint`:
a few kilobytes of keypoints, no picture) so that an audit can tell a view of another place
from one it cannot judge, and from another of the camera's own views (:func:`scene_match`).

The modules: ``_limits`` (every threshold, with its reason), ``_motion``, ``_tiles``,
``_calibrate``, ``_compare`` and ``_fingerprint``.
"""

from devmgr.vision._calibrate import baseline_problem, field_of_view
from devmgr.vision._compare import (
    Verdict,
    ViewComparison,
    compare_views,
    decode_image,
    light_distance,
    light_field,
)
from devmgr.vision._fingerprint import (
    FINGERPRINT_FEATURES,
    scene_fingerprint,
    scene_match,
    scene_matches,
)
from devmgr.vision._limits import (
    BLUR_RATIO_MAX,
    GRID_COLS,
    GRID_ROWS,
    MIN_INLIERS,
    OBSTRUCTED_SHARE_MIN,
    SCALE_CHANGE_MIN,
    SCENE_ELSEWHERE_MAX,
    SCENE_SHOWN_MIN,
    TILE_EDGE_RATIO,
    TURNED_DEG,
)

__all__ = [
    "BLUR_RATIO_MAX",
    "FINGERPRINT_FEATURES",
    "GRID_COLS",
    "GRID_ROWS",
    "MIN_INLIERS",
    "OBSTRUCTED_SHARE_MIN",
    "SCALE_CHANGE_MIN",
    "SCENE_ELSEWHERE_MAX",
    "SCENE_SHOWN_MIN",
    "TILE_EDGE_RATIO",
    "TURNED_DEG",
    "Verdict",
    "ViewComparison",
    "baseline_problem",
    "compare_views",
    "decode_image",
    "field_of_view",
    "light_distance",
    "light_field",
    "scene_fingerprint",
    "scene_match",
    "scene_matches",
]
