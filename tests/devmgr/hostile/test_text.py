"""Device text reaches the terminal literally: rich markup is not interpreted, control, C1
and bidi characters (also percent-encoded ones in WS-Discovery scopes) are escaped visibly.
Through ``devmgr inventory`` and ``devmgr discover`` tables, against a camera whose identity
is hostile text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port
from tests.tables import unfolded_cells

runner = CliRunner()
#: A C1 CSI (U+009B, allowed in XML 1.0) clearing the screen, an OSC (U+009D) setting the
#: title (ended by ST, U+009C), a right-to-left override, and markup rich would choke on.
MANUFACTURER = "Acme[/oops]\u009b2J\u009d0;pwned\u009c\u202egnp.exe"
#: The same in the hardware scope, percent-encoded (ESC [ 2 J) as a scope must carry it.
MODEL = "X%1B%5B2J%5B/oops%5D"
RAW = ("\u009b", "\u009c", "\u009d", "\u202e", "\x1b")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    specs = generate_fleet(2, seed=43)
    identity = specs[1].identity.model_copy(update={"manufacturer": MANUFACTURER,
                                                    "model": MODEL})
    specs[1] = specs[1].model_copy(update={"identity": identity})
    with Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port()) as running:
        yield running


def test_the_inventory_table_shows_device_text_literally(fleet: Fleet, tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.json"
    fleet.manifest().save(manifest)
    result = runner.invoke(app, ["inventory", "--targets", str(manifest),
                                 "--registry", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    shown = "Acme[/oops]\\x9b2J\\x9d0;pwned\\x9c\\u202egnp.exe"
    assert any(cell.startswith(shown) for cell in unfolded_cells(result.stdout)), result.stdout
    assert not any(c in result.stdout for c in RAW)


def test_the_discover_table_escapes_percent_encoded_controls(fleet: Fleet,
                                                             tmp_path: Path) -> None:
    result = runner.invoke(app, ["discover", "--interface", "127.0.0.1", "--port",
                                 str(fleet.discovery_port), "--registry",
                                 str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    assert "X\\x1b[2J[/oops]" in result.stdout  # decoded from the scope, then escaped
    assert not any(c in result.stdout for c in RAW)
