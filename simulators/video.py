"""A simulated camera's video: its media profiles, their encoder settings and what they allow.

Each media profile has one video encoder configuration (``VideoEncoderConfig_1`` belongs to
``Profile_1``), kept in the camera state as the :class:`~simulators.rtsp.StreamConfig` its RTSP
stream is encoded with, so what GetVideoEncoderConfiguration says, what the snapshot URI
renders and what the stream sends are one record. SetVideoEncoderConfiguration checks a new
configuration against :func:`options` (the GetVideoEncoderConfigurationOptions answer) and
replaces the record; the stream follows at its next picture.

    >>> from simulators.spec import CameraSpec
    >>> main = default_encoders(CameraSpec.example())["Profile_1"]
    >>> main.codec, main.width, main.height, main.path
    ('H264', 1280, 720, '/Streaming/Channels/101')
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.rtsp.config import Codec, StreamConfig
from simulators.spec import CameraSpec

__all__ = [
    "PROFILES",
    "EncoderOptions",
    "Profile",
    "default_encoders",
    "encoder_token",
    "options",
    "profile_of_encoder",
]


@dataclass(frozen=True, slots=True)
class Profile:
    token: str
    name: str
    #: The RTSP path of its stream (the Hikvision layout most VMSs expect).
    path: str
    codec: Codec
    #: Width of the default encoding, at most the sensor's (the main stream takes the sensor's).
    width: int | None
    fps: float
    bitrate_kbps: int


#: The camera's media profiles: a main H.264 stream and a JPEG sub-stream (Profile S asks for
#: H.264 or JPEG; a JPEG sub-stream is what VMS thumbnails and older decoders use).
PROFILES: tuple[Profile, ...] = (
    Profile("Profile_1", "mainStream", "/Streaming/Channels/101", "H264", None, 25.0, 4096),
    Profile("Profile_2", "subStream", "/Streaming/Channels/102", "JPEG", 640, 10.0, 2048),
)
#: Common encoder sizes offered besides the sensor's own.
STANDARD_SIZES = ((1920, 1080), (1280, 720), (1280, 960), (704, 576), (640, 480), (640, 360),
                  (352, 288), (320, 240))
#: RTP/JPEG (RFC 2435) carries multiples of 8 up to 2040.
JPEG_MAX = 2040
FPS_RANGE = (1, 25)
BITRATE_RANGE_KBPS = (32, 16384)
GOV_RANGE = (1, 400)
#: ONVIF Quality, mapped linearly onto the JPEG quality (x 10).
QUALITY_RANGE = (1.0, 10.0)


@dataclass(frozen=True, slots=True)
class EncoderOptions:
    """What GetVideoEncoderConfigurationOptions offers for one configuration."""

    resolutions: dict[Codec, tuple[tuple[int, int], ...]]
    fps_range: tuple[int, int] = FPS_RANGE
    bitrate_range: tuple[int, int] = BITRATE_RANGE_KBPS
    gov_range: tuple[int, int] = GOV_RANGE
    quality_range: tuple[float, float] = QUALITY_RANGE

    def refusal(self, config: StreamConfig) -> str | None:
        """Why ``config`` is not one of the options, or None if it is."""
        if (config.width, config.height) not in self.resolutions[config.codec]:
            return (f"{config.codec} at {config.width}x{config.height} is not offered "
                    f"(offered: {list(self.resolutions[config.codec])})")
        if not self.fps_range[0] <= config.fps <= self.fps_range[1]:
            return f"frame rate {config.fps} is outside {self.fps_range}"
        if not self.bitrate_range[0] <= config.bitrate_kbps <= self.bitrate_range[1]:
            return f"bitrate {config.bitrate_kbps} kbit/s is outside {self.bitrate_range}"
        if not self.gov_range[0] <= config.gop_length <= self.gov_range[1]:
            return f"GovLength {config.gop_length} is outside {self.gov_range}"
        return None


def _sizes(spec: CameraSpec) -> tuple[tuple[int, int], ...]:
    width, height = spec.optics.width, spec.optics.height
    sensor = (width - width % 2, height - height % 2)
    found = [sensor] + [s for s in STANDARD_SIZES
                        if s[0] <= sensor[0] and s[1] <= sensor[1] and s != sensor]
    return tuple(found)


def options(spec: CameraSpec) -> EncoderOptions:
    sizes = _sizes(spec)
    jpeg = tuple(s for s in sizes if all(v % 8 == 0 and v <= JPEG_MAX for v in s))
    return EncoderOptions({"H264": sizes, "JPEG": jpeg})


def default_encoders(spec: CameraSpec) -> dict[str, StreamConfig]:
    """Each profile's encoder configuration as the camera leaves the factory."""
    offered = options(spec)
    result = {}
    for profile in PROFILES:
        sizes = offered.resolutions[profile.codec] or offered.resolutions["H264"]
        codec = profile.codec if offered.resolutions[profile.codec] else "H264"
        # The sensor's aspect ratio first, then the largest no wider than the profile's width.
        aspect = spec.optics.width / spec.optics.height
        fitting = [s for s in sizes if profile.width is None or s[0] <= profile.width]
        width, height = min(fitting or sizes[-1:],
                            key=lambda s: (round(abs(s[0] / s[1] - aspect), 2), -s[0]))
        result[profile.token] = StreamConfig(
            token=profile.token, path=profile.path, codec=codec, width=width, height=height,
            fps=profile.fps, bitrate_kbps=profile.bitrate_kbps, gop_length=50, jpeg_quality=50)
    return result


def encoder_token(profile_token: str) -> str:
    return "VideoEncoderConfig_" + profile_token.rsplit("_", 1)[1]


def profile_of_encoder(encoder: str) -> str | None:
    """The profile whose encoder configuration ``encoder`` is, or None if none is."""
    token = "Profile_" + encoder.rsplit("_", 1)[-1]
    if encoder_token(token) != encoder or all(p.token != token for p in PROFILES):
        return None
    return token
