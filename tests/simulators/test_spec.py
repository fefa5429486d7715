"""Camera specs: YAML round trip, and errors that name the file, the field and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulators.spec import CameraSpec, SpecError, load_spec

SHIPPED = Path(__file__).parents[2] / "simulators" / "specs"


def test_shipped_specs_load() -> None:
    for path in SHIPPED.glob("*.yaml"):
        assert load_spec(path).id


def test_yaml_round_trip(tmp_path: Path) -> None:
    spec = CameraSpec.example()
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    assert load_spec(path) == spec


def test_errors_name_file_field_and_reason(tmp_path: Path) -> None:
    data = CameraSpec.example().model_dump(mode="json")
    data["identity"]["mac"] = "44:19:b6:12:34"
    data["ptz"]["limits"]["pan"] = {"min": 10, "max": -10}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert str(path) in message
    assert "identity.mac" in message
    assert "not a MAC address" in message
    assert "ptz.limits.pan" in message
    assert "above its maximum" in message


@pytest.mark.parametrize(("content", "expected"), [
    ("id: [unclosed", "not valid YAML"),
    ("- a list", "a camera spec is a mapping"),
    ("id: x\nfavourite_colour: blue", "favourite_colour"),
])
def test_malformed_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(SpecError, match=expected):
        load_spec(path)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "nope.yaml")


def test_presets_must_lie_inside_the_limits() -> None:
    data = CameraSpec.example().model_dump(mode="json")
    data["ptz"]["presets"][0]["position"]["pan"] = 175.0
    with pytest.raises(ValueError, match="preset '1' lies outside the limits"):
        CameraSpec.model_validate(data)


def test_generic_space_maps_the_mechanical_range() -> None:
    ptz = CameraSpec.example().ptz
    assert ptz.to_generic(ptz.from_generic(0.3, -0.2, 0.5)) == pytest.approx((0.3, -0.2, 0.5))
    pan, tilt = ptz.generic_limits()
    assert pan.max == pytest.approx(170 / 180)
    assert tilt.min == pytest.approx(2 * (-80 + 90) / 120 - 1)


def test_focal_length_follows_the_field_of_view() -> None:
    optics = CameraSpec.example().optics
    assert optics.focal_px(0.0) == pytest.approx(640 / 0.5773502691896257)
    assert optics.focal_px(1.0) == pytest.approx(optics.focal_px(0.0) * optics.zoom_max)
