"""Options validated once, and the expectations file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hil.settings import OPTIONS, load_expectations, settings_from


def options(**given: Any) -> dict[str, Any]:
    return {**{o.dest: o.default for o in OPTIONS}, **given}


def test_defaults_are_inactive_and_limits_are_parsed() -> None:
    assert not settings_from(options().__getitem__).active
    settings = settings_from(options(hil_fleet="sim:2",
                                     hil_limit=["clock_offset=-1:1"]).__getitem__)
    assert settings.active
    assert settings.limits["clock_offset"].high == 1.0


def test_real_and_simulated_cameras_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        settings_from(options(hil_fleet="sim:2", hil_targets="site.yaml").__getitem__)


def test_expectations_merge_the_wildcard_and_refuse_unknown_capabilities(
        tmp_path: Path) -> None:
    path = tmp_path / "expect.yaml"
    path.write_text("targets:\n  '*': {capabilities: [snapshot]}\n"
                    "  gate: {capabilities: [ptz, presets]}\n"
                    "known_defects:\n  - {test: 'test_DEVICE_*', firmware: 'V5.*', "
                    "reason: 'local time'}\n", encoding="utf-8")
    expectations = load_expectations(path)
    assert expectations.capabilities_of("gate") == {"snapshot", "ptz", "presets"}
    assert expectations.capabilities_of("other") == {"snapshot"}
    assert expectations.known_defects[0].model == "*"
    path.write_text("targets:\n  gate: {capabilities: [ptzz]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown capabilities ptzz"):
        load_expectations(path)
    path.write_text("known_defects:\n  - {test: x}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"known_defects\.0\.firmware"):
        load_expectations(path)
