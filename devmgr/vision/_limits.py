"""What counts as turned, obstructed, blurred or unusable, each limit with its reason."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

Arr = npt.NDArray[Any]

#: Pan, tilt or roll of at least this many degrees counts as "turned".
TURNED_DEG = 0.5
#: A zoom ratio this far from 1 (relative) also counts as "turned" (the view is not fixed).
SCALE_CHANGE_MIN = 0.02
#: Share of the frame (in tiles) that must be obstructed for "obstructed": 4 of the 48 tiles.
#: Three tiles (6 %) were what moved shadows and continuous traffic left on healthy views in
#: a living world (``bench/audit_world.py``); an obstruction of 10 % covers ~5 tiles.
OBSTRUCTED_SHARE_MIN = 0.08
#: A tile is obstructed when its edge density is below this fraction of the baseline's.
#: DESIGN.md says half; 0.3 because a large dark obstruction shifts the global histogram
#: equalization and costs unobstructed tiles up to ~half their edges (measured).
TILE_EDGE_RATIO = 0.3
#: Sobel (3x3, |gx| + |gy|, saturated at 255) level of an edge on the equalized image.
EDGE_THRESHOLD = 160
#: Tiles whose baseline edge density is below this are not judged (sky, blank walls): losing
#: edges there is not measurable.
TILE_MIN_BASELINE_DENSITY = 0.03
#: A median tile edge ratio below this is a global loss (defocus): tiles are then judged
#: against the median tile instead of the baseline.
GLOBAL_LOSS_RATIO = 0.7
#: Tiles too plain to judge by edges are judged by coarse appearance: obstructed when their
#: normalized cross-correlation with the baseline falls below this...
TILE_NCC_MIN = 0.5
#: ...or one of the two is flat (std of the coarse equalized tile below this) and the other
#: is not.
TILE_FLAT_STD = 6.0
#: "blurred" when (normalized Laplacian variance) current/baseline falls below this.
BLUR_RATIO_MAX = 0.35
#: Fewer RANSAC inliers than this: ORB is not trusted, phase correlation decides.
MIN_INLIERS = 25
#: Phase-correlation response below this is no match at all.
MIN_PHASE_RESPONSE = 0.05
#: A frame darker than this mean grey level, or flatter than this standard deviation, is
#: unusable (lens cap, dead sensor, night without IR).
DARK_MEAN_MAX = 12.0
UNIFORM_STD_MAX = 4.0
#: Obstruction grid (columns x rows).
GRID_COLS, GRID_ROWS = 8, 6
#: Working width for features and edges, pixels.
WORK_WIDTH = 640

#: Scene fingerprints (``_fingerprint``): a picture of another place finds at most this share
#: of a view's fingerprint (chance agreement; 0-5 % against 40 other scenes and directions);
#: more, where the pictures cannot be aligned, is part of the scene seen from another point
#: (a move 30 m along the street: 14-30 %)...
SCENE_ELSEWHERE_MAX = 0.08
#: ...and a view that finds at least this share of one of the camera's own views shows that
#: view (the scene in place, under day, dusk, night IR, rain, fog or snow and traffic: 22-99 %;
#: a 10 deg turn: 47-54 %).
SCENE_SHOWN_MIN = 0.15

#: ORB settings: 300 features on 3 levels; matching is quadratic in the count, and the
#: phase-correlation refinement, not the feature count, sets the accuracy.
ORB_FEATURES = 300

#: A tile that lost its edges is obstructed only if its structure (gradient magnitude pooled
#: in STRUCTURE_CELLS x STRUCTURE_CELLS cells per tile) also no longer correlates with the
#: baseline's: below this. Shadows, dusk and IR lower contrast in place; an obstruction
#: replaces what was there (``bench/audit_world.py``).
STRUCTURE_NCC_MIN = 0.5
STRUCTURE_CELLS = 10
#: Plain tiles are compared on the picture without its smooth lighting: log grey minus its
#: Gaussian blur of this sigma (working pixels), times REFLECTANCE_SCALE grey levels per unit.
REFLECTANCE_SIGMA = 20.0
REFLECTANCE_SCALE = 60.0
#: A current frame with less than this share of the baseline's grey-level spread (fog,
#: glare) cannot be judged now: "unusable", which the audit reports as not judged.
CONTRAST_RATIO_MIN = 0.3
#: A tile whose fine texture (log-grey energy) is more than this times the baseline's gained
#: detail: the baseline's was hidden (deep shadow, a passing car), not today's.
TILE_GAIN_RATIO = 1.5
#: The light-change test (``_tiles._texture_change``): median window (working pixels) that
#: keeps a shadow's step, the log-ratio energy left after it as a share of the baseline's
#: fine texture from which a tile's texture counts as replaced, and the texture floor (log
#: units: 3 % contrast) below which a tile is taken as plain.
TEXTURE_MEDIAN_PX = 7
TEXTURE_MISMATCH_MIN = 0.25
TEXTURE_FLOOR = 0.03
#: A tile whose fine texture still correlates with the baseline's this well is the same
#: surface under other light, whatever its edges did. Measured on the 124 views of
#: ``bench/audit_world.py``'s fleet at 9 moments of a still day (first looks against an
#: 11:30 baseline, each view also with a panel or foliage over 12-30 % of it): the tiles a
#: moved shadow took edges from had a median of 0.6, those inside an obstruction 0.0 (95 %
#: below 0.22). At 0.4, 33 of the 1116 healthy looks read as obstructed became 4, and every
#: camera's obstruction was still found at every moment. Tiles only partly covered keep
#: some of their texture: they count once an obstruction is found without them.
TEXTURE_KEPT_NCC = 0.4
#: Changed plain tiles not touching a judged obstructed tile count as an obstruction only as
#: a connected patch of at least this many: a shadow's edge or noise scatter.
PLAIN_PATCH_MIN = 4
#: A current frame nothing of the baseline is found in is "elsewhere" (another place) only
#: if it has at least this share of the baseline's contrast: fog or haze that still pass
#: CONTRAST_RATIO_MIN also defeat the matching, and are not judged now instead
#: (``bench/audit_world.py``: fog at 0.9 made 13 of 50 views "elsewhere" without it). Another
#: street's contrast is 0.5-3.6 of the baseline's, fog's below 0.4; sharpness tells nothing
#: (another street's is 0.1-4.6 of the baseline's).
ELSEWHERE_CONTRAST_RATIO = 0.6
