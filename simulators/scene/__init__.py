"""The world a simulated camera looks at, and the renderer that turns a camera pose into a frame.

A :class:`Scene` is everything visible from one spot: a street corner in a city, seen from a
pole 10 m up. It covers the whole sphere of view a PTZ dome can reach (all 360° of azimuth,
elevation from straight down, -90°, to +45°) and is stored as an equirectangular panorama
(azimuth x elevation) generated procedurally from a seed. The same seed gives the same scene,
byte for byte, in every process.

:func:`render` is an ideal pinhole camera sampling that panorama, so the optics are honest:
panning by θ moves the content at the image centre by exactly ``f·tan(θ)`` pixels, zooming
scales it by the focal-length ratio, and a knocked mount (heading change) looks exactly like a
pan. :func:`snapshot_jpeg` renders what a live :class:`~simulators.state.CameraState` sees.

    >>> from simulators.scene import Scene, render
    >>> scene = Scene.for_seed(7)
    >>> frame = render(scene, azimuth_deg=90.0, elevation_deg=-5.0, roll_deg=0.0,
    ...                hfov_deg=60.0, width=640, height=360)
    >>> frame.shape, frame.dtype
    ((360, 640, 3), dtype('uint8'))

What the world looks like and how the camera sees it are apart:

* :mod:`~simulators.scene.world`: the generated street (layout, then painters), camera-free;
* :mod:`~simulators.scene.geometry`: the panorama's extent and resolution, shared by both;
* :mod:`~simulators.scene.panorama` and :mod:`~simulators.scene.cache`: ``Scene``, generated
  once per process or memory-mapped from the disk cache;
* :mod:`~simulators.scene.lens`: the pinhole projection (:func:`render`);
* :mod:`~simulators.scene.snapshot`: a live state's frame, and its JPEG.

Faults that spoil the picture (obstruction, blur, ...) are not part of the world: they are
``effects``, callables applied to the rendered frame (see :data:`ImageEffect`).
"""

from simulators.scene.cache import scene_cache_path
from simulators.scene.geometry import (
    CAMERA_HEIGHT_M,
    DEFAULT_PX_PER_DEG,
    EL_BOTTOM,
    EL_TOP,
    Image,
    ImageEffect,
)
from simulators.scene.lens import camera_axes, render
from simulators.scene.panorama import Scene
from simulators.scene.snapshot import render_state, snapshot_jpeg

__all__ = [
    "CAMERA_HEIGHT_M",
    "DEFAULT_PX_PER_DEG",
    "EL_BOTTOM",
    "EL_TOP",
    "Image",
    "ImageEffect",
    "Scene",
    "camera_axes",
    "render",
    "render_state",
    "scene_cache_path",
    "snapshot_jpeg",
]
