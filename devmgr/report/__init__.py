"""Reports of a compliance audit: JSON, JUnit XML, CSV and HTML from one :class:`AuditReport`.

Each format serves someone: ``audit.json`` is the record (it reads back as the same
``AuditReport``), ``audit-junit.xml`` puts the audit on a CI server, ``audit.csv`` goes into the
field engineer's spreadsheet, and ``audit.html`` is what a person reads, with the snapshots as
evidence. Writers never print and never leave half a file: each renders in memory and replaces
its file atomically.

    >>> from datetime import UTC, datetime
    >>> import tempfile
    >>> from devmgr.compliance.model import AuditReport, CameraAudit
    >>> report = AuditReport(started_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
    ...                      finished_at=datetime(2025, 3, 1, 9, 5, tzinfo=UTC),
    ...                      cameras=(CameraAudit(camera="gate-1", status="compliant"),))
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_reports(report, out, formats=("json", "html"))
    ...     sorted(p.name for p in written.values())
    ['audit.html', 'audit.json']

With a registry, ``images=registry.snapshot`` embeds the baseline and current snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from devmgr.compliance.model import AuditReport
from devmgr.report._html import ImageLookup, render_html, write_html
from devmgr.report._json_csv import CSV_COLUMNS, write_csv, write_json
from devmgr.report._junit import write_junit

__all__ = [
    "CSV_COLUMNS",
    "FILENAMES",
    "ImageLookup",
    "render_html",
    "write_csv",
    "write_html",
    "write_json",
    "write_junit",
    "write_reports",
]

#: Format name -> file name in the report directory; the order is the order they are written.
FILENAMES: dict[str, str] = {
    "json": "audit.json",
    "junit": "audit-junit.xml",
    "csv": "audit.csv",
    "html": "audit.html",
}


def write_reports(report: AuditReport, directory: str | Path, *,
                  images: ImageLookup | None = None,
                  formats: Iterable[str] = ("json", "junit", "csv", "html"),
                  identifiable: bool = False) -> dict[str, Path]:
    """Write ``report`` in each of ``formats`` into ``directory`` (created if missing).

    Returns format -> path written. Every name is checked before anything is written, so a
    typo costs no half-written set; an unknown name raises :class:`ValueError` listing the
    valid ones. ``images`` (SHA-256 -> JPEG bytes) is used by the HTML report only, which
    de-identifies them (Art. 21) unless ``identifiable``.
    """
    wanted = [formats] if isinstance(formats, str) else list(dict.fromkeys(formats))
    unknown = [name for name in wanted if name not in FILENAMES]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(map(repr, unknown))}; "
                         f"valid formats: {', '.join(FILENAMES)}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Callable[[Path], Path]] = {
        "json": lambda path: write_json(report, path),
        "junit": lambda path: write_junit(report, path),
        "csv": lambda path: write_csv(report, path),
        "html": lambda path: write_html(report, path, images=images, identifiable=identifiable),
    }
    return {name: writers[name](out / FILENAMES[name]) for name in FILENAMES if name in wanted}
