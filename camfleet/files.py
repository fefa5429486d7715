"""Replace a file all at once, so a file on disk is always a whole file.

Reports, manifests, filings and cached scenes are read by people, CI and other processes
while camfleet keeps writing; a crash, a full disk or a bug half-way through must leave
yesterday's file, not half of today's. The new
content goes to a temporary file beside the target (same directory, hence same filesystem,
so :func:`os.replace` is atomic), is flushed to disk, and only then takes the target's name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; on any error the old file (if any) is untouched.

    The temporary file is created with mode 0o666 filtered by the umask, like a plain
    ``open(path, "w")`` would, so the file is as readable as any other the user writes
    (``tempfile.mkstemp`` would make it 0o600).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _sync_directory(target.parent)
    return target


def _sync_directory(directory: Path) -> None:
    """Persist the rename itself (best effort: not every platform can fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
