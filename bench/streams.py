"""RTSP streaming cost: CPU per playing stream and per idle camera, saturation, first frame.

    python bench/streams.py           # everything (~5 minutes)
    python bench/streams.py --quick   # shorter steps, fewer runs

Content: a 2400-pixel-wide render of a street scene (``simulators.scene``), which each stream
pans across by 4 px per picture at its own size: a PTZ move, the expensive case for H.264 (a
still camera costs less). Profiles are the simulator's: main 1920x1080 H.264 4 Mbit/s, sub
640x360 H.264 512 kbit/s, both 25 fps; and 640x360 JPEG at 25 fps.

1. **Encoder cost per stream**, the choice against the named alternative in the same run:
   PyAV in process (:class:`simulators.rtsp.encoder.Encoder`: OpenCV BGR->I420, libx264
   ultrafast/zerolatency or mjpeg, one thread) against an FFmpeg CLI process per stream fed
   I420 on a pipe (same settings, one thread). CPU of both processes per second of video at
   the profile's rate; median of ``--runs``; the ratio alternative/choice.
2. **Server CPU per playing stream**: a server process with N cameras, one FFmpeg client each
   (``-c copy``, TCP interleaved, no decoding), N growing until the 2 cores saturate (server
   and clients together above 1.9 cores, or pictures delivered below 90 % of the rate).
3. **Idle cameras**: CPU and memory of a process serving ``--idle`` cameras (two streams
   each) that nobody plays, against the same process with none.
4. **Time to first frame** with the FFmpeg CLI as the client (``-frames:v 1``, wall time of the
   process, median of ``--runs``), cold (no encoder running) and joining a stream someone
   already plays, over UDP and TCP, with FFmpeg's default probing (about a second of stream
   read before the first frame) and without it; FFmpeg's own start-up (a one-frame synthetic
   source) is printed alongside.

The server process runs on the same 2 cores as the clients; the machine is shared and noisy
(the load average is printed), so read the medians, not single runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.rtsp import RtspServer, StreamConfig
from simulators.rtsp.encoder import Encoder, to_i420
from simulators.rtsp.faults import EncoderSettings
from simulators.scene import Scene, render

PROFILES = {
    "main": StreamConfig(token="Profile_1", path="/Streaming/Channels/101", width=1920,
                         height=1080, fps=25, bitrate_kbps=4096, gop_length=50),
    "sub": StreamConfig(token="Profile_2", path="/Streaming/Channels/102", width=640,
                        height=360, fps=25, bitrate_kbps=512, gop_length=50),
    "jpeg": StreamConfig(token="Profile_3", path="/Streaming/Channels/103", codec="JPEG",
                         width=640, height=360, fps=25, jpeg_quality=75),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


# -- content -------------------------------------------------------------------------------------
_PANORAMA: dict[int, np.ndarray] = {}


def panorama(height: int) -> np.ndarray:
    """The street scene, 2400x1080 rendered once, scaled to ``height`` rows."""
    if 1080 not in _PANORAMA:
        _PANORAMA[1080] = render(Scene.for_seed(3), 40.0, -12.0, 0.0, 75.0, 2400, 1080)
    if height not in _PANORAMA:
        full = _PANORAMA[1080]
        width = round(full.shape[1] * height / full.shape[0])
        _PANORAMA[height] = cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)
    return _PANORAMA[height]


class Pan:
    """A frame source panning across the scene at the stream's own size (no scaling later)."""

    def __init__(self, width: int, height: int, step: int = 4) -> None:
        self._pano = panorama(height)
        self._width = width
        self._step = step
        self._frame = 0

    def __call__(self) -> np.ndarray:
        span = self._pano.shape[1] - self._width
        offset = (self._frame * self._step) % (2 * span)
        x = offset if offset <= span else 2 * span - offset  # back and forth
        self._frame += 1
        return self._pano[:, x:x + self._width].copy()


# -- 1. encoder cost -----------------------------------------------------------------------------
def pyav_cpu(config: StreamConfig, frames: int) -> float:
    encoder = Encoder(EncoderSettings.of(config))
    source = Pan(config.width, config.height)
    start = time.process_time()
    for _ in range(frames):
        encoder.encode(source())
    return time.process_time() - start


def ffmpeg_cli_cpu(config: StreamConfig, frames: int) -> float:
    """The alternative: one FFmpeg process per stream, I420 in on stdin, bitstream out."""
    if config.codec == "H264":
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                 "-b:v", f"{config.bitrate_kbps}k", "-g", str(config.gop_length),
                 "-x264-params", "repeat-headers=1", "-f", "h264"]
    else:
        qscale = str(round(31 - (config.jpeg_quality - 1) * 29 / 99))
        codec = ["-c:v", "mjpeg", "-huffman", "default", "-qmin", qscale, "-qmax", qscale,
                 "-pix_fmt", "yuvj420p", "-f", "mjpeg"]
    process = subprocess.Popen(
        [FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
         "-s", f"{config.width}x{config.height}", "-r", str(config.fps), "-i", "pipe:0",
         "-threads", "1", *codec, "pipe:1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None
    assert process.stdout is not None
    stdout = process.stdout
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: stdout.read(1 << 16),
                                                                 b"")])
    drain.start()
    source = Pan(config.width, config.height)
    full_range = config.codec == "JPEG"
    start = time.process_time()
    for _ in range(frames):
        process.stdin.write(to_i420(source(), config.width, config.height,
                                    full_range=full_range).tobytes())
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    drain.join()
    mine = time.process_time() - start
    if process.returncode:
        raise RuntimeError(f"ffmpeg exited with {process.returncode}")
    return mine + usage.ru_utime + usage.ru_stime


def bench_encoders(runs: int, seconds: float) -> None:
    print("\n1. Encoder CPU per stream (cores busy per playing stream; median of "
          f"{runs} runs of {seconds:g} s of video)")
    print(f"   {'profile':<28} {'PyAV':>8} {'FFmpeg CLI':>11} {'CLI/PyAV':>9}")
    for name, config in PROFILES.items():
        frames = round(seconds * config.fps)
        pyav = statistics.median(pyav_cpu(config, frames) / seconds for _ in range(runs))
        cli = statistics.median(ffmpeg_cli_cpu(config, frames) / seconds for _ in range(runs))
        label = f"{name} {config.codec} {config.width}x{config.height}@{config.fps:g}"
        print(f"   {label:<28} {pyav:8.3f} {cli:11.3f} {cli / pyav:9.2f}")


# -- the server process --------------------------------------------------------------------------
async def serve(cameras: int, profiles: list[str]) -> None:
    """Run ``cameras`` RTSP servers; print their URLs; answer "stats" and "quit" on stdin."""
    for name in profiles:  # the shared content exists even with no camera: not theirs to pay
        panorama(PROFILES[name].height)
    tracemalloc.start()
    servers = []
    for _ in range(cameras):
        server = RtspServer("127.0.0.1")
        for name in profiles:
            config = PROFILES[name]
            server.add_stream(config, Pan(config.width, config.height))
        await server.start()
        servers.append(server)
    heap, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    urls = [[s.url(PROFILES[name].token) for name in profiles] for s in servers]
    print(json.dumps({"urls": urls, "heap": heap}), flush=True)
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)).strip() != "quit":
        frames = [s.stream(PROFILES[name].token).frames_encoded
                  for s in servers for name in profiles]
        print(json.dumps({"frames": frames}), flush=True)
        if not line:
            break
    for server in servers:
        await server.aclose()


class ServerProcess:
    def __init__(self, cameras: int, profiles: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(cameras), "--profiles", *profiles],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started = json.loads(self._line())
        self.urls: list[list[str]] = started["urls"]
        #: Python heap the servers took, as tracemalloc counted it while they started.
        self.heap: int = started["heap"]

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the server process died")
        return line

    def frames(self) -> list[int]:
        assert self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return list(json.loads(self._line())["frames"])

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmRSS:")))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def server_process(cameras: int, profiles: list[str]) -> Iterator[ServerProcess]:
    server = ServerProcess(cameras, profiles)
    try:
        yield server
    finally:
        server.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def player(url: str, transport: str = "tcp") -> subprocess.Popen[bytes]:
    return subprocess.Popen([FFMPEG, "-v", "error", "-rtsp_transport", transport, "-i", url,
                             "-c", "copy", "-f", "null", "-"],
                            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- 2. saturation -------------------------------------------------------------------------------
def saturation_step(profile: str, streams: int, seconds: float) -> dict[str, float]:
    with server_process(streams, [profile]) as server:
        players = [player(urls[0]) for urls in server.urls]
        try:
            time.sleep(2.0)  # players connected, encoders running
            frames0, cpu0 = server.frames(), server.cpu()
            clients0 = sum(cpu_seconds(p.pid) for p in players)
            start = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - start
            frames1, cpu1 = server.frames(), server.cpu()
            clients1 = sum(cpu_seconds(p.pid) for p in players)
        finally:
            for p in players:
                p.terminate()
            for p in players:
                p.wait()
    rates = [(b - a) / elapsed for a, b in zip(frames0, frames1, strict=True)]
    return {"server": (cpu1 - cpu0) / elapsed, "clients": (clients1 - clients0) / elapsed,
            "fps": statistics.median(rates), "fps_min": min(rates)}


def bench_saturation(seconds: float, steps: dict[str, list[int]]) -> None:
    print(f"\n2. Server CPU with N cameras playing (one FFmpeg client each, TCP, {seconds:g} s "
          "per step)")
    print("   saturated: server and clients above 1.9 cores, or the median stream below 90 % "
          "of its rate")
    print(f"   {'profile':<7} {'N':>3} {'server cores':>13} {'per stream':>11} "
          f"{'clients':>8} {'fps median/min':>15} {'load':>5}")
    for profile, counts in steps.items():
        config = PROFILES[profile]
        saturated = None
        for n in counts:
            r = saturation_step(profile, n, seconds)
            print(f"   {profile:<7} {n:>3} {r['server']:13.2f} {r['server'] / n:11.3f} "
                  f"{r['clients']:8.2f} {r['fps']:8.1f}/{r['fps_min']:<6.1f} "
                  f"{os.getloadavg()[0]:5.1f}", flush=True)
            if saturated is None and (r["server"] + r["clients"] > 1.9
                                      or r["fps"] < 0.9 * config.fps):
                saturated = n
            if r["fps"] < 0.5 * config.fps:  # far past the knee: stop adding players
                break
        print(f"   {profile}: saturated at N={saturated}" if saturated else
              f"   {profile}: not saturated at N={counts[-1]}")


# -- 3. idle -------------------------------------------------------------------------------------
def idle_cost(cameras: int, seconds: float) -> tuple[float, int, int]:
    with server_process(cameras, ["main", "sub"]) as server:
        time.sleep(1.0)
        cpu0 = server.cpu()
        time.sleep(seconds)
        return (server.cpu() - cpu0) / seconds, server.rss_kib(), server.heap


def bench_idle(cameras: int, seconds: float) -> None:
    empty_cpu, empty_rss, _ = idle_cost(0, seconds)
    cpu, rss, heap = idle_cost(cameras, seconds)
    print(f"\n3. Idle: {cameras} cameras (main + sub stream each), nobody playing, {seconds:g} s")
    tick = 1 / CLK_TCK / seconds  # /proc counts CPU in clock ticks
    per_camera = max(cpu - empty_cpu, 0.0) / cameras * 1e6
    bound = tick / cameras * 1e6
    print(f"   process CPU: {cpu * 100:.3f} % of a core with them, {empty_cpu * 100:.3f} % "
          f"without (resolution {tick * 100:.2f} %)")
    print(f"   per idle camera: {per_camera:.1f} us of CPU per s"
          + (f" (below the resolution: < {bound:.1f} us/s)" if per_camera < bound else ""))
    print(f"   memory: {heap / cameras / 1024:.1f} KiB of Python heap per idle camera; process "
          f"RSS {rss / 1024:.0f} MiB with them, {empty_rss / 1024:.0f} MiB without")


# -- 4. time to first frame ----------------------------------------------------------------------
def first_frame(args: list[str]) -> float:
    start = time.monotonic()
    done = subprocess.run([FFMPEG, "-v", "error", *args, "-frames:v", "1", "-f", "null", "-"],
                          check=True, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=60)
    elapsed = time.monotonic() - start
    if done.stderr:
        raise RuntimeError(f"ffmpeg complained: {done.stderr.decode()[:300]}")
    return elapsed


#: FFmpeg's probing reads about a second of stream before its first frame; without it the
#: time is the server's (connection, DESCRIBE/SETUP/PLAY, the keyframe) plus decoding.
NO_PROBING = ["-analyzeduration", "0", "-probesize", "32"]


def bench_first_frame(runs: int) -> None:
    print(f"\n4. Time to first frame, ffmpeg -frames:v 1 (median of {runs}, seconds; "
          "'fast': -analyzeduration 0 -probesize 32)")
    baseline = statistics.median(first_frame(["-f", "lavfi", "-i", "color=size=64x64"])
                                 for _ in range(runs))
    print(f"   ffmpeg start-up alone (synthetic source): {baseline:.3f}")
    print(f"   {'profile':<7} {'transport':<9} {'cold':>6} {'fast':>6} {'joining':>8} "
          f"{'fast':>6}")
    with server_process(1, list(PROFILES)) as server:
        for index, profile in enumerate(PROFILES):
            url = server.urls[0][index]
            for transport in ("udp", "tcp"):
                def median(extra: list[str], url: str = url, transport: str = transport) -> float:
                    return statistics.median(
                        first_frame([*extra, "-rtsp_transport", transport, "-i", url])
                        for _ in range(runs))

                cold, cold_fast = median([]), median(NO_PROBING)
                background = player(url)
                time.sleep(1.5)
                try:
                    joining, joining_fast = median([]), median(NO_PROBING)
                finally:
                    background.terminate()
                    background.wait()
                time.sleep(0.5)
                print(f"   {profile:<7} {transport:<9} {cold:6.3f} {cold_fast:6.3f} "
                      f"{joining:8.3f} {joining_fast:6.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter steps, fewer runs")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--idle", type=int, default=200, help="idle cameras to measure")
    parser.add_argument("--only", choices=["encoders", "saturation", "idle", "first-frame"])
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profiles", nargs="*", default=["main"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.profiles))
        return
    runs = args.runs or (1 if args.quick else 3)
    step = 4.0 if args.quick else 8.0
    print(f"bench/streams.py on {os.cpu_count()} cores; ffmpeg CLI {FFMPEG}; load average "
          f"{os.getloadavg()[0]:.1f} (others share the machine)")
    if args.only in (None, "encoders"):
        bench_encoders(runs, 2.0 if args.quick else 4.0)
    if args.only in (None, "saturation"):
        bench_saturation(step, {"main": [1, 2, 4, 6, 8],
                                "sub": [1, 4, 8, 16, 24, 32, 48],
                                "jpeg": [1, 4, 8, 16, 24, 32]})
    if args.only in (None, "idle"):
        bench_idle(args.idle, 5.0 if args.quick else 10.0)
    if args.only in (None, "first-frame"):
        bench_first_frame(max(3, runs))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
