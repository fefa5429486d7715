"""What every devmgr command shares: the two consoles, the common options, the exits.

Tables and results go to stdout; progress, warnings and errors to stderr, so ``--json``
output stays clean for scripts. Every command runs inside :func:`guarded`: a registry that
fails mid-command (a database gone, a privilege missing) is one line naming the registry and
the cause, and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from camfleet.printable import printable

if TYPE_CHECKING:
    from camfleet.targets import TargetsFile
    from devmgr.registry import Registry

# Not a terminal (a pipe, CI): wide enough that tables do not fold every cell.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)  # messages stay whole lines, for grep and logs

RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="registry: a SQLite file or a PostgreSQL URL "
                       "[default: ./camfleet-registry.sqlite]", envvar="CAMFLEET_REGISTRY")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
OperatorOption = Annotated[str | None, typer.Option(
    help="who runs this, for the audit log [default: $CAMFLEET_OPERATOR or the OS user]")]
HeadWaitOption = Annotated[float, typer.Option(
    help="seconds to wait for another run to finish with a PTZ head before skipping that "
         "camera", min=0)]

P = ParamSpec("P")
R = TypeVar("R")


def say(text: str, *, to: Console = out) -> None:
    """One line as it is: no markup, no highlighting, never folded (for grep and scripts),
    control and bidi characters escaped (:func:`literal`)."""
    to.print(literal(text), highlight=False, soft_wrap=True)


def literal(value: object, style: str = "") -> Text:
    """Text that is not ours (device names, scopes, fault reasons, filing names) as a terminal
    must show it: never read as rich markup (``[/oops]`` stays ``[/oops]``), with control,
    bidi and separator characters escaped visibly (:func:`camfleet.printable.printable`).
    Every device value that reaches a table or a line goes through here."""
    return Text(printable("" if value is None else str(value)), style=style)


def add_row(table: Table, *cells: object) -> None:
    """A table row of literal cells (a ``Text`` given keeps its style, its text escaped)."""
    table.add_row(*(literal(c.plain, str(c.style)) if isinstance(c, Text) else literal(c)
                    for c in cells))


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """The command, with a registry error anywhere in it turned into its message and exit 2
    (the one place the CLI translates them)."""
    from devmgr.registry import RegistryError  # noqa: PLC0415

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except RegistryError as exc:  # the database's words may hold "[...]": not markup
            raise fail(escape(str(exc)), 2) from exc

    return run


def dump_json(models: list[Any]) -> str:
    # Through model_dump_json: it writes an INF limit as "Infinity", which stays valid JSON.
    return json.dumps([json.loads(m.model_dump_json(exclude_none=True)) for m in models],
                      indent=2)


def open_registry(url: str | None, *, create: bool = True) -> Registry:
    """The registry at ``url`` (default: the local SQLite file); exit 2 if it cannot open.
    ``create=False``: a SQLite file that does not exist is an error, not a new registry
    (commands that only read it, such as ``registry verify``)."""
    from devmgr.registry import DEFAULT_FILENAME, Registry, RegistryError  # noqa: PLC0415

    if not create and (url is None or "://" not in url):
        path = Path(url or DEFAULT_FILENAME)
        if not path.exists():
            raise fail(f"no registry at {path} (give --registry, or set CAMFLEET_REGISTRY)", 2)
    try:
        return Registry.open(url)
    except RegistryError as exc:
        raise fail(escape(str(exc)), 2) from exc


def load_targets(path: Path) -> TargetsFile:
    """A targets file whose every secret resolves; exit 2 naming the file, entry or $VAR."""
    from camfleet.targets import TargetsError  # noqa: PLC0415
    from camfleet.targets import load_targets as load  # noqa: PLC0415

    try:
        targets = load(path)
        for target in targets.targets:
            target.onvif_password()  # a missing $VAR is a setup error: say so now
    except TargetsError as exc:
        raise fail(str(exc), 2) from exc
    return targets
