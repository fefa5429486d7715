"""Each camera's streams, played once per run, in the background while its other tests run.

A camera's stream tests (``hil/suite/test_streams.py``) judge one sample of every profile,
all profiles played at once as a recorder pulls main and sub streams. Playing takes seconds of
waiting (``PLAY_S``), and the stream is another connection: the camera serves its other tests
meanwhile, as it serves a recorder and an operator at once. So the sample starts with the
camera's first test after the Discoverable ones (``hil/suite/conftest.py``) and the stream
tests take it; a reboot of the camera (:func:`hil.reboots.reboot`) first waits for it, so no
sample is cut by the suite itself.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from lxml import etree

from devmgr.inventory.collect import STREAM_SETUP
from devmgr.inventory.encoders import EncoderError, parse_video_encoder
from devmgr.inventory.model import VideoEncoder
from devmgr.media.stream import StreamError, StreamSample, sample_stream
from devmgr.onvif.xml import shown
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.suite.helpers import profiles, text

__all__ = ["PLAY_S", "STREAM_SETUP", "Played", "played", "settle", "start"]

#: How long each profile is played: two changes of a burnt-in clock, 20+ pictures at 10 fps.
PLAY_S = 2.0


@dataclass(frozen=True)
class Played:
    """One profile's stream as configured, and what playing it gave."""

    token: str
    uri: str
    encoding: str
    width: int
    height: int
    fps: float
    bitrate_kbps: float
    sample: StreamSample | None
    error: str = ""


_LOCK = threading.Lock()
#: camera id -> its profiles' plays, in profile order.
_PLAYS: dict[str, list[Future[Played]]] = {}
_PLAYERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hil-stream")


def start(camera: Camera) -> None:
    """Ask for every profile's stream URI and start playing them all (once per camera)."""
    with _LOCK:
        if camera.id in _PLAYS:
            return
        _PLAYS[camera.id] = []
    try:
        wanted = [_unplayed(camera, profile) for profile in profiles(camera)]
    except BaseException:
        with _LOCK:  # not started: the stream tests ask again and report what they meet
            del _PLAYS[camera.id]
        raise
    user, password = camera.target.onvif.username, camera.target.onvif_password() or ""
    futures = [_PLAYERS.submit(_play, p, user, password) for p in wanted]
    with _LOCK:
        _PLAYS[camera.id] = futures


def played(camera: Camera) -> list[Played]:
    """Every profile's stream as played (started now if it was not)."""
    start(camera)
    with _LOCK:
        futures = list(_PLAYS[camera.id])
    return [future.result() for future in futures]


def settle(camera: Camera) -> None:
    """Wait for the camera's plays under way, if any (before rebooting it)."""
    with _LOCK:
        futures = list(_PLAYS.get(camera.id, ()))
    for future in futures:
        future.exception()  # waits; what it raised is the stream tests' to report


def _unplayed(camera: Camera, profile: etree._Element) -> Played:
    """A profile's stream URI and encoder configuration, before playing it. The configuration
    is read as devmgr's inventory reads it: a value no camera can have is the camera's fault."""
    token = profile.get("token", "")
    try:
        encoder = parse_video_encoder(profile.find("{*}VideoEncoderConfiguration"))
    except EncoderError as exc:
        raise DeviceFault(f"{camera}: profile {shown(token)}: video encoder configuration: "
                          f"{exc}") from None
    body = camera.must_call("media", "GetStreamUri", {"ProfileToken": token,
                                                      "StreamSetup": STREAM_SETUP})
    if encoder is None:
        encoder = VideoEncoder()
    return Played(token, text(body, "{*}MediaUri/{*}Uri"), encoder.encoding,
                  encoder.width or 0, encoder.height or 0, encoder.frame_rate or 0.0,
                  float(encoder.bitrate_kbps or 0), None)


def _play(unplayed: Played, user: str, password: str) -> Played:
    try:
        sample = sample_stream(unplayed.uri, user, password, seconds=PLAY_S)
    except StreamError as exc:
        return dataclasses.replace(unplayed, error=str(exc))
    return dataclasses.replace(unplayed, sample=sample)
