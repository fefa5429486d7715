"""PostgreSQL for the tests: a fresh schema per test, raw SQL as the owner, restricted roles.

The machines have PostgreSQL at 127.0.0.1:5432 (trust auth, database ``test``);
``CAMFLEET_TEST_POSTGRESQL`` names another server (a SQLAlchemy URL). Where none answers,
the PostgreSQL tests skip, saying how to start it; with ``CAMFLEET_REQUIRE_POSTGRESQL=1``
(set by ``.ci/run``) they fail instead, so CI cannot pass on SQLite alone.

Each test gets its own schema (``cf_<random>``, dropped afterwards) and a registry URL whose
``search_path`` is that schema, so tests run side by side under xdist on one database.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import URL, make_url

ADMIN_URL = os.environ.get("CAMFLEET_TEST_POSTGRESQL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOW_TO_START = ("start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
                "main start` (Debian's postgresql package), or set CAMFLEET_TEST_POSTGRESQL "
                "to a SQLAlchemy URL of a server where this user may create schemas and roles")


def _connect(url: URL, **kwargs: Any) -> Any:
    import psycopg  # noqa: PLC0415 (only the PostgreSQL tests need the driver)

    return psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                           user=url.username, password=url.password, connect_timeout=5,
                           autocommit=True, **kwargs)


@functools.cache
def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here (None: they can)."""
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        return "the psycopg driver is not installed (pip install -e '.[test]')"
    url = make_url(ADMIN_URL)
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"no PostgreSQL answers at {url.render_as_string(hide_password=True)} ({exc})"
    return None


def require() -> None:
    """Skip (or, with CAMFLEET_REQUIRE_POSTGRESQL=1, fail) the test if PostgreSQL is absent."""
    reason = unavailable()
    if reason is None:
        return
    message = f"PostgreSQL tests need a PostgreSQL server: {reason}; {HOW_TO_START}"
    if os.environ.get("CAMFLEET_REQUIRE_POSTGRESQL") == "1":
        pytest.fail(f"{message} (CAMFLEET_REQUIRE_POSTGRESQL=1: they must run here)")
    pytest.skip(message)


def with_schema(url: URL | str, schema: str, *, user: str | None = None) -> str:
    """``url`` (as ``user``) with ``search_path`` set to ``schema``, as a string."""
    base = make_url(url)
    if user is not None:
        base = base.set(username=user, password=None)
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A registry URL on a new, empty schema of its own; the schema is dropped afterwards."""
    require()
    schema = f"cf_{uuid.uuid4().hex[:12]}"
    admin = make_url(ADMIN_URL)
    with _connect(admin) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(admin, schema)
    finally:
        with _connect(admin) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def schema_of(url: str) -> str:
    options = make_url(url).query.get("options", "")
    assert isinstance(options, str)
    assert options.startswith("-csearch_path=")
    return options.removeprefix("-csearch_path=")


@contextlib.contextmanager
def restricted_role(url: str, grants: Callable[[str, str], Sequence[str]] | None = None,
                    ) -> Iterator[str]:
    """A new login role, granted ``grants(role, schema)`` (run as the owner) on the schema of
    ``url``, dropped afterwards; yields the registry URL as that role."""
    require()
    role = f"cf_app_{uuid.uuid4().hex[:10]}"
    admin = make_url(ADMIN_URL)
    with _connect(admin) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        for statement in grants(role, schema_of(url)) if grants else ():
            conn.execute(statement)
    try:
        yield with_schema(admin, schema_of(url), user=role)
    finally:
        with _connect(admin) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def raw(url: str, *statements: str) -> None:
    """Run SQL as the database's owner, behind camfleet's back (tampering, checks)."""
    if is_postgresql(url):
        with _connect(make_url(url), options=f"-csearch_path={schema_of(url)}") as conn:
            for statement in statements:
                conn.execute(statement)
        return
    conn = sqlite3.connect(url)
    try:
        with conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        conn.close()


def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    """Rows of one query, as the owner."""
    if is_postgresql(url):
        with _connect(make_url(url), options=f"-csearch_path={schema_of(url)}") as conn:
            return [tuple(row) for row in conn.execute(statement).fetchall()]
    conn = sqlite3.connect(url)
    try:
        return list(conn.execute(statement).fetchall())
    finally:
        conn.close()
