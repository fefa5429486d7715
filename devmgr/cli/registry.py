"""``devmgr registry verify | grants | migrate``: the registry itself, for its auditor and DBA.

    devmgr registry verify                    # the audit log's hash chain (Art. 16(3), 20 (2))
    devmgr registry verify --expected-head 1200:9f86d081...   # and entry 1200 is unchanged
    devmgr registry grants camfleet --schema public   # SQL for a restricted PostgreSQL role
    devmgr registry migrate --registry site.sqlite --to postgresql+psycopg://camfleet@db/city

``verify`` exits 0 when the log is intact, 1 when it is not (the first bad entry is printed,
as stored), 2 when the registry cannot be read or an option is wrong.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from devmgr.cli._console import (
    JsonOption,
    OperatorOption,
    RegistryOption,
    err,
    fail,
    guarded,
    open_registry,
    say,
)

__all__ = ["registry_app"]

registry_app = typer.Typer(no_args_is_help=True,
                           help="The registry: verify its audit log, set up its database role, "
                                "move it to another database.")


def _head(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise fail(f"--expected-head {text!r}: give SEQ:HASH, e.g. 1200:<64 hex digits>, as "
                   "an earlier verify printed it", 2)
    return int(seq), digest.lower()


@registry_app.command("verify")
@guarded
def verify(
    expected_head: Annotated[str | None, typer.Option(
        help="SEQ:HASH of an entry an earlier verify (or audit report) printed: it must still "
             "be there, unchanged (catches deleted last entries and a rewritten chain)")] = None,
    as_json: JsonOption = False,
    registry: RegistryOption = None,
) -> None:
    """Verify the audit log's hash chain: exit 0 intact, 1 broken (first bad entry shown)."""
    head = _head(expected_head)
    with open_registry(registry, create=False) as reg:
        result = reg.verify_audit_log(expected_head=head)
        bad = (reg.stored_audit_entry(result.first_bad_seq)
               if result.first_bad_seq is not None else None)
        shown = reg.url
    if as_json:
        print(json.dumps({"registry": shown, "ok": result.ok,
                          "entries_checked": result.entries_checked,
                          "first_bad_seq": result.first_bad_seq,
                          "problem": result.problem.value if result.problem else None,
                          "detail": result.detail, "first_bad_entry": bad,
                          "head_seq": result.head_seq, "head_hash": result.head_hash},
                         indent=2, default=str))
    elif result.ok:
        say(f"audit log of {shown}: intact, {result.entries_checked} entries; head "
            f"{result.head_seq}:{result.head_hash} (keep it, and check later with "
            f"--expected-head {result.head_seq}:{result.head_hash})")
    else:
        say(f"audit log of {shown}: BROKEN at entry {result.first_bad_seq} "
            f"({result.problem}): {result.detail}")
        if bad is not None:
            say(f"  entry {result.first_bad_seq} as stored: "
                + ", ".join(f"{k}={v!r}" for k, v in bad.items()))
        say(f"  entries 1..{result.head_seq} before it verify (last good hash "
            f"{result.head_hash})")
    if not result.ok:
        raise typer.Exit(1)


@registry_app.command("grants")
def grants(
    role: Annotated[str, typer.Argument(help="the role camfleet runs as (not the owner)")],
    schema: Annotated[str, typer.Option(help="the schema holding the registry")] = "public",
) -> None:
    """Print the SQL that lets ROLE run camfleet on PostgreSQL, and no more (run it as the
    owner, after the owner's first open has created the schema)."""
    from devmgr.registry import grant_statements  # noqa: PLC0415

    try:
        statements = grant_statements(role, schema)
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    for statement in statements:
        print(f"{statement};")
    err.print(f"{role} may read and append, update sweeps, devices and PTZ leases/origins; "
              "it cannot change or delete the audit log, nor drop its triggers")


@registry_app.command("migrate")
@guarded
def migrate(
    to: Annotated[str, typer.Option(
        "--to", help="the database to move into: a PostgreSQL URL (or a SQLite file), new or "
                     "empty")],
    as_json: JsonOption = False,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
) -> None:
    """Move the registry (every sweep, device, observation, filing, snapshot, baseline, audit
    result and the audit log) into an empty database; the source is left as it was. Exit 0
    when everything arrived and the audit log verifies there, 2 otherwise."""
    from devmgr.registry import default_operator, move_registry  # noqa: PLC0415

    with open_registry(registry, create=False) as source, open_registry(to) as dest:
        if source.url == dest.url:
            raise fail(f"--to is the registry itself ({dest.url})", 2)
        moved = move_registry(source, dest, who=operator or default_operator())
        shown_from, shown_to = source.url, dest.url
    if as_json:
        print(json.dumps({"from": shown_from, "to": shown_to, "rows": moved.rows,
                          "head_seq": moved.head_seq, "head_hash": moved.head_hash}, indent=2))
        return
    say(f"moved {shown_from} to {shown_to}: " + ", ".join(
        f"{count} {table}" for table, count in moved.rows.items() if count))
    say(f"audit log verified there; the move is entry {moved.head_seq}: keep "
        f"--expected-head {moved.head_seq}:{moved.head_hash}")
