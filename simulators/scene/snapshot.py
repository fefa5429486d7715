"""What a live camera serves: the frame its state sees now, and that frame as a JPEG."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from simulators.scene.geometry import Image, ImageEffect
from simulators.scene.lens import render
from simulators.scene.panorama import Scene
from simulators.state import CameraState


def render_state(state: CameraState, effects: Sequence[ImageEffect] = (),
                 size: tuple[int, int] | None = None) -> Image:
    """The frame the camera with this live state sees right now (pose, zoom, mount, scene).

    The horizontal FOV comes from the zoom (``Optics.hfov_at``); pixels are square, so an
    explicit ``Optics.vfov`` that disagrees with the aspect ratio is not honoured. ``size``
    (width, height) renders directly at a stream's size instead of the sensor's.
    """
    azimuth, elevation, zoom = state.view_direction()
    optics = state.spec.optics
    width, height = size or (optics.width, optics.height)
    return render(Scene.for_seed(state.spec.scene_seed), azimuth, elevation, state.mount.roll,
                  optics.hfov_at(zoom), width, height, effects=effects)


def snapshot_jpeg(state: CameraState, quality: int = 85,
                  effects: Sequence[ImageEffect] = (),
                  size: tuple[int, int] | None = None) -> bytes:
    """The camera's current view as JPEG bytes (what GetSnapshotUri serves).

    ``size`` (width, height) scales the sensor image down for a sub-stream, as encoders do.
    """
    frame = render_state(state, effects)
    if size is not None and (frame.shape[1], frame.shape[0]) != size:
        frame = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(buf.tobytes())
