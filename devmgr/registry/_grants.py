"""The privileges camfleet needs on PostgreSQL, and no more: run it as a role that does not
own the tables.

The owner (the role that created the schema; it also runs upgrades) keeps DDL, DELETE and
the triggers; camfleet's everyday role may only read and append, and update the few tables
whose rows have a life (a sweep finishing, a device seen again, a lease renewed, a head
put back). Above all it has no UPDATE or DELETE on ``audit_log`` (Art. 20 (2)), and cannot
drop its triggers. Appending to the audit log needs nothing else: appenders take turns
with an advisory lock, which any role may take.

    devmgr registry grants camfleet --schema public      # prints these statements
"""

from __future__ import annotations

import re

__all__ = ["PRIVILEGES", "grant_statements"]

#: table -> what the everyday role may do with it. Every table of the schema is listed
#: (a test checks it), so a new table cannot be forgotten.
PRIVILEGES: dict[str, tuple[str, ...]] = {
    "schema_version": ("SELECT",),
    "sweeps": ("SELECT", "INSERT", "UPDATE"),
    "devices": ("SELECT", "INSERT", "UPDATE"),
    "observations": ("SELECT", "INSERT"),
    "audit_log": ("SELECT", "INSERT"),
    "camera_events": ("SELECT", "INSERT"),
    "filings": ("SELECT", "INSERT"),
    "catalog_nodes": ("SELECT", "INSERT"),
    "snapshots": ("SELECT", "INSERT"),
    "baselines": ("SELECT", "INSERT"),
    "audit_results": ("SELECT", "INSERT"),
    "ptz_leases": ("SELECT", "INSERT", "UPDATE"),
    "ptz_origins": ("SELECT", "INSERT", "UPDATE"),
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def _quoted(name: str, what: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a plain SQL identifier (letters, digits, "
                         "underscore; at most 63 characters)")
    return f'"{name}"'


def grant_statements(role: str, schema: str = "public") -> list[str]:
    """The SQL the owner runs so that ``role`` can run camfleet on ``schema``."""
    who, where = _quoted(role, "role"), _quoted(schema, "schema")
    return [f"GRANT USAGE ON SCHEMA {where} TO {who}",
            *(f"GRANT {', '.join(rights)} ON {where}.{_quoted(table, 'table')} TO {who}"
              for table, rights in PRIVILEGES.items()),
            # The id columns' sequences: INSERT needs nextval().
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {who}"]
