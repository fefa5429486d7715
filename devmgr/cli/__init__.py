"""``devmgr``: the command line over devmgr's library (a thin layer: parse, call, print).

    devmgr discover --interface lo --cidr 127.42.0.0/24 --snmp-community public
    devmgr inventory --targets fleet.json
    devmgr filings import filings.csv; devmgr commission ...; devmgr audit ...
    devmgr registry verify; devmgr ptz restore --targets fleet.json
    devmgr power cycle cam-0001 --targets fleet.json

Readable tables by default (rich), ``--json`` for scripts; progress goes to stderr. Commands
of other installed packages join through the ``devmgr.commands`` entry-point group: that is
how ``devmgr demo`` (package ``scenarios``, which starts simulated cameras) is offered
without the manager depending on the simulators.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from devmgr.cli import city, compliance, sweeps
from devmgr.cli._console import guarded
from devmgr.cli.power import power_app
from devmgr.cli.ptz import ptz_app
from devmgr.cli.registry import registry_app

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Discover, inventory and audit fleets of ONVIF/SNMP cameras.")
for command in (sweeps.discover, sweeps.inventory, sweeps.monitor, city.collector):
    app.command()(guarded(command))
compliance.register(app)
app.add_typer(registry_app, name="registry")
app.add_typer(ptz_app, name="ptz")
app.add_typer(power_app, name="power")
for plugin in entry_points(group="devmgr.commands"):
    app.command(name=plugin.name)(guarded(plugin.load()))


def main() -> None:
    app(prog_name="devmgr")
