"""Every registry test that is not about one backend's files runs on SQLite and PostgreSQL.

``url``: a registry URL on a fresh database of the test's own (a SQLite file, or a
PostgreSQL schema, see :mod:`tests.postgres`); ``registry``: that registry, open; ``db``: a
SQLite file, for the tests of SQLite itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devmgr.registry import Registry
from tests.postgres import fresh_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "registry.sqlite"


@pytest.fixture
def url(backend: str, db: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(db)
        return
    with fresh_schema() as schema_url:
        yield schema_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """For what only PostgreSQL has (roles and grants, TRUNCATE): a fresh schema's URL."""
    with fresh_schema() as schema_url:
        yield schema_url


@pytest.fixture
def registry(url: str) -> Iterator[Registry]:
    with Registry.open(url) as reg:
        yield reg
