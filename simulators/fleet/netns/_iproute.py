"""Running iproute2's ``ip``: one command, a batch, or one batch per namespace in parallel.

One ``ip`` process per command costs ~2 ms; batches make a fleet of hundreds of namespaces
a handful of processes.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulators.fleet.netns._errors import NetnsError

#: Where ``ip netns add`` bind-mounts named namespaces.
NETNS_DIR = Path("/run/netns")
#: How many ``ip -n`` processes create() runs at once.
_PARALLEL = 64


@functools.cache
def ip_path() -> str | None:
    # /usr/sbin is not on every PATH (sudo, minimal containers).
    candidates = ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
    return shutil.which("ip") or next((p for p in candidates if os.access(p, os.X_OK)), None)


def _ip_command(*args: str, namespace: str | None = None) -> list[str]:
    ip = ip_path()
    if ip is None:
        raise NetnsError("the 'ip' command (iproute2) is not installed")
    return [ip, *(("-n", namespace) if namespace else ()), *args]


def ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    result = subprocess.run(_ip_command(*args, namespace=namespace), capture_output=True,
                            text=True, check=False)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _batch_command(force: bool, namespace: str | None, json_out: bool) -> list[str]:
    return _ip_command(*(("-j",) if json_out else ()), *(("-force",) if force else ()),
                       "-batch", "-", namespace=namespace)


def ip_batch(lines: Iterable[str], *, namespace: str | None = None, force: bool = False,
              json_out: bool = False) -> str:
    """One ``ip`` process for many commands (one process per command costs ~2 ms each)."""
    script = "".join(f"{line}\n" for line in lines)
    result = subprocess.run(_batch_command(force, namespace, json_out), input=script,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 and not force:
        where = f" in namespace {namespace}" if namespace else ""
        raise NetnsError(f"ip -batch{where} failed: {result.stderr.strip()}")
    return result.stdout


def ip_batches_parallel(scripts: dict[str, list[str]]) -> None:
    """``ip -n <ns> -batch`` for each namespace, ``_PARALLEL`` processes at a time."""
    items = list(scripts.items())
    errors: list[str] = []
    for start in range(0, len(items), _PARALLEL):
        running = []
        for namespace, lines in items[start:start + _PARALLEL]:
            proc = subprocess.Popen(_batch_command(False, namespace, False),
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            running.append((namespace, lines, proc))
        for namespace, lines, proc in running:
            _, stderr = proc.communicate("".join(f"{line}\n" for line in lines))
            if proc.returncode != 0:
                errors.append(f"{namespace}: {stderr.strip()}")
    if errors:
        raise NetnsError("configuring namespaces failed: " + "; ".join(errors))


def json_values(text: str) -> list[Any]:
    """The JSON values of ``ip -j -batch`` output (one array per command, concatenated)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)


def netns_names() -> list[str]:
    # `ip netns list` prints "name (id: 3)"; the directory is the ground truth and cheaper.
    try:
        return sorted(entry.name for entry in os.scandir(NETNS_DIR) if entry.is_file())
    except FileNotFoundError:
        return []


def links() -> list[dict[str, Any]]:
    return [link for link in json.loads(ip("-j", "link", "show") or "[]")
            if isinstance(link, dict)]
