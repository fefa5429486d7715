"""What a camera is for, as the manager checks it: its video stream and its own events.

- :mod:`devmgr.media.stream`: play an RTSP stream with FFmpeg (PyAV) and say what was decoded;
- :mod:`devmgr.media.liveness`: the audit's stream check of one camera, bounded in time;
- :mod:`devmgr.media.events`: pull-point subscriptions to a camera's tamper events.
"""
