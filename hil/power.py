"""``--hil-power FILE``: which switch port powers each camera under test, so that a camera
that stops answering is power-cycled once (recorded in the reports) before it is latched.

The file maps target ids to a switch of the targets file (which holds its address and write
community) and a port::

    cam-0001: {switch: sw-a, port: 2}
    cam-0002: {switch: sw-a, port: 3}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from camfleet.targets import SwitchTarget


@dataclass(frozen=True)
class PowerPlug:
    switch: SwitchTarget
    port: int


def load_power_map(path: Path, switches: tuple[SwitchTarget, ...]) -> dict[str, PowerPlug]:
    """The plugs of ``path``; ``ValueError`` names the file and the bad entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"--hil-power {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"--hil-power {path}: a mapping of target id to {{switch, port}}")
    by_name = {s.name: s for s in switches}
    plugs: dict[str, PowerPlug] = {}
    for target_id, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != {"switch", "port"}:
            raise ValueError(f"--hil-power {path}: {target_id}: give exactly switch and port")
        switch, port = entry["switch"], entry["port"]
        if switch not in by_name:
            raise ValueError(f"--hil-power {path}: {target_id}: no switch {switch!r} in the "
                             "targets file")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 2**31:
            raise ValueError(f"--hil-power {path}: {target_id}: port must be a number > 0")
        plugs[str(target_id)] = PowerPlug(by_name[switch], port)
    return plugs
