"""A report on disk is always a whole report: old or new, never half."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from camfleet.files import write_atomic
from devmgr.report import _html, write_html

from .factory import Sample


def test_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "audit.json"
    target.write_text("old")
    assert write_atomic(target, b"new") == target
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["audit.json"]


def test_failure_while_writing_keeps_the_previous_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "audit.json"
    target.write_text("yesterday's report")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"x" * 100_000)
    assert target.read_text() == "yesterday's report"
    assert os.listdir(tmp_path) == ["audit.json"]


def test_failure_while_rendering_keeps_the_previous_report(
        tmp_path: Path, sample: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "audit.html"
    write_html(sample.report, target, images=sample.images.get)
    before = target.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug half-way through the cameras")

    monkeypatch.setattr(_html._Page, "_camera", broken)
    with pytest.raises(RuntimeError):
        write_html(sample.report, target, images=sample.images.get)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["audit.html"]


def test_new_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "r.csv", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
