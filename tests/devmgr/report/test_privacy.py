"""Report images are de-identified irreversibly: every block of the picture is one colour,
whatever was in it, and the people and plates the simulator drew are unrecognisable."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devmgr.cli.compliance import write_report
from devmgr.registry import Registry
from devmgr.report._privacy import BLOCKS_ACROSS, block_size, deidentify
from simulators.scene import Scene, render
from simulators.scene.living import conditions_at, living_effects, placed_movers
from simulators.spec import LivingWorld
from tests.devmgr.report.factory import make_sample

W, H = 1280, 720
POSE = (30.0, -20.0, 0.0, 60.0)
WORLD = LivingWorld(enabled=True, start_hour=8.0, speed=0.0, traffic=1.0)


def street() -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A rush-hour street frame, and the faces and plates drawn on it."""
    moment = conditions_at(WORLD, 0.0, seed=4)
    frame = render(Scene.for_seed(4), *POSE, W, H, effects=living_effects(moment, POSE))
    boxes = [box for p in placed_movers(moment, POSE, W, H)
             for box in (p.face, p.plate) if box is not None]
    return bytes(cv2.imencode(".jpg", frame)[1].tobytes()), boxes


def decoded(jpeg: bytes) -> np.ndarray:
    return np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), int)


def test_every_block_is_one_colour_so_nothing_finer_survives() -> None:
    jpeg, boxes = street()
    assert boxes, "the street has people or plates in view"
    out, block = deidentify(jpeg)
    assert block == block_size(W) == -(-W // BLOCKS_ACROSS)
    picture = decoded(out)
    assert picture.shape == (H, W, 3)
    rows, cols = H // block, W // block
    cells = picture[:rows * block, :cols * block].reshape(rows, block, cols, block, 3)
    spread = cells.max(axis=(1, 3)) - cells.min(axis=(1, 3))
    assert int(spread.max()) == 0


def test_two_pictures_that_differ_inside_blocks_come_out_the_same() -> None:
    # Irreversible: detail within a block (a face, a plate's characters) leaves no trace.
    jpeg, _ = street()
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    block = block_size(W)
    shuffled = picture.copy()
    rng = np.random.default_rng(0)
    for y in range(0, H - block + 1, block):
        for x in range(0, W - block + 1, block):
            cell = shuffled[y:y + block, x:x + block].reshape(-1, 3)
            shuffled[y:y + block, x:x + block] = rng.permutation(cell).reshape(block, block, 3)
    png = bytes(cv2.imencode(".png", picture)[1].tobytes())
    other = bytes(cv2.imencode(".png", shuffled)[1].tobytes())
    assert deidentify(png)[0] == deidentify(other)[0]


def test_garbage_is_refused_not_shown() -> None:
    with pytest.raises(ValueError, match="not a decodable image"):
        deidentify(b"\xff\xd8\xff not really a jpeg")


def test_the_audit_log_records_a_report_with_identifiable_images(tmp_path: Path) -> None:
    sample = make_sample()
    with Registry.open(tmp_path / "r.sqlite") as registry:
        for jpeg in sample.images.values():
            registry.put_snapshot(jpeg)
        write_report(sample.report, tmp_path / "plain", registry)
        assert registry.audit_entries() == []  # de-identified: nothing recognisable left
        write_report(sample.report, tmp_path / "full", registry, identifiable=True)
        [entry] = registry.audit_entries()
        assert entry.how == "devmgr audit --identifiable-images"
        assert entry.destination == str(tmp_path / "full" / "audit.html")
        assert "not de-identified" in entry.what
    plain = (tmp_path / "plain" / "audit.html").read_text(encoding="utf-8")
    full = (tmp_path / "full" / "audit.html").read_text(encoding="utf-8")
    assert "data:image/jpeg" not in plain
    assert "data:image/jpeg" in full
