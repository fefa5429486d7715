"""What a panorama's pixels mean: its angular extent, resolution and the camera's height.

Shared by the world that paints the panorama and the lens that samples it, so the two agree
on where azimuth 0 and the horizon are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

#: A BGR frame, ``uint8`` of shape (height, width, 3).
Image = npt.NDArray[np.uint8]
#: Post-processing applied to a rendered frame, in order (fault injection hooks in here). An
#: effect receives a frame it may modify in place and returns the frame to pass on.
ImageEffect = Callable[[Image], Image]
Arr = npt.NDArray[Any]

#: Elevation range stored in the panorama, degrees. Below the horizon the ground is modelled
#: down to the nadir, so a dome looking straight down still sees pavement; above +45° the top
#: row (plain sky) is repeated.
EL_TOP = 45.0
EL_BOTTOM = -90.0
#: Panorama resolution. 16 px/° keeps a 1280x720 / 60° camera (21 px/°) close to native
#: sharpness at zoom 1x while the scene stays at 37 MB.
DEFAULT_PX_PER_DEG = 16
#: Height of the camera above the street, metres (a dome on a corner pole).
CAMERA_HEIGHT_M = 10.0

# One extra column on the left and two on the right, copies of the opposite edge, so bilinear
# sampling wraps around north without a modulo per pixel (azimuth 360° maps to column W + 0.5).
PAD_LEFT, PAD_RIGHT = 1, 2
