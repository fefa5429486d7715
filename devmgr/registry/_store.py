"""``Registry``: sweeps, devices, observations, the audit log, compliance records and PTZ heads,
in SQLite or PostgreSQL.

The registry is its parts put together, each a :class:`~devmgr.registry._database.Database`
with one concern: ``_sweeps``, ``_observations``, ``_audit_log``, ``_compliance``,
``_heads`` and ``_events``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError

from devmgr.registry._audit_log import AuditLog
from devmgr.registry._compliance import ComplianceRecords
from devmgr.registry._database import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BUSY_TIMEOUT_S,
    DEFAULT_FILENAME,
    cause,
    connect,
)
from devmgr.registry._errors import RegistryError
from devmgr.registry._events import CameraEvents
from devmgr.registry._heads import HeadRecords
from devmgr.registry._observations import INVENTORY_KINDS, Observations
from devmgr.registry._sweeps import SweepLog, file_digest

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_FILENAME",
    "INVENTORY_KINDS",
    "Registry",
    "file_digest",
]


class Registry(SweepLog, Observations, AuditLog, ComplianceRecords, HeadRecords,
               CameraEvents):
    """The registry store. Open with :meth:`open`; close with :meth:`close` or ``with``.

    One instance may be used by one thread at a time; several processes may share one SQLite
    file (WAL, busy timeout). Do not carry an open instance across ``fork()``.
    """

    @classmethod
    def open(cls, url: str | Path | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE,
             busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Registry:
        """Open (creating if needed) the registry at ``url``.

        ``url``: None for ``./camfleet-registry.sqlite`` (:data:`DEFAULT_FILENAME`, resolved
        against the current directory now); a path (``Path`` or a string without ``://``)
        for a SQLite file; or a SQLAlchemy URL of SQLite or PostgreSQL
        (``postgresql+psycopg://user@host/db``;
        ``sqlite://`` is an in-memory database). Creates missing tables, upgrades an older
        schema, and marks as aborted the running sweeps whose process on this host is gone.
        Raises :class:`RegistryError` (message: masked URL and cause) if that fails, and
        :class:`SchemaVersionError` if a newer camfleet wrote the database.
        """
        engine, shown = connect(url, busy_timeout_s)
        registry = cls(engine, shown, batch_size)
        try:
            registry._prepare_schema()
            registry.abort_stale_sweeps()
        except RegistryError:
            engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise RegistryError(f"cannot open registry {shown}: {cause(exc)}") from exc
        return registry

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"
