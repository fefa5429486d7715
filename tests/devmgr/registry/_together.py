"""Starting several processes at the same moment, for the concurrency tests.

Each child prints "ready" and waits for the file named by ``GO_FILE``; the test starts them
all, reads every "ready", then creates the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def wait_for_go() -> None:
    """In the child: say "ready", then wait for the go file."""
    print("ready", flush=True)
    go = Path(os.environ["GO_FILE"])
    while not go.exists():
        time.sleep(0.001)


def start_together(module: str, argvs: list[list[str]], go_file: Path,
                   **env: str) -> list[subprocess.Popen[str]]:
    """Start ``python -m module argv`` for each argv; return once all are released together."""
    procs = [subprocess.Popen([sys.executable, "-m", module, *argv], cwd=REPO,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **env, "GO_FILE": str(go_file)})
             for argv in argvs]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", f"{module} {proc.args} printed {line!r}, not 'ready'"
    go_file.touch()
    return procs


def finish(procs: list[subprocess.Popen[str]], timeout: float = 120.0) -> list[str]:
    """Every process's remaining output; asserts that each exited 0."""
    outs = [proc.communicate(timeout=timeout)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), outs
    return outs
