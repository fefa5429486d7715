"""What an import found: problems that refuse a file, and what it imported with its counts.

**A file is imported whole or not at all.** Each loader validates every row or item, collects
every problem with its file, line (and item index) and reason, and raises one
:class:`FilingImportError` listing them all. A filing registry that is half imported is worse
than none: the Art. 10 checks would report the missing half as removed. Duplicate device ids
are a problem too (one camera, one file).

What is *not* a problem: a record without the regulation fields or a position (an incomplete
filing, counted and later reported by the audit), a directory node (kept as the organisation
tree), an item that is neither camera nor node (skipped, counted), a placeholder or
implausible position (flagged). :class:`Imported` carries all of it and
:meth:`Imported.summary` says it in a few lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import ValidationError

from camfleet.model import format_validation_error
from devmgr.filings.model import FilingRecord
from devmgr.filings.nodes import CatalogNode
from devmgr.filings.places import is_placeholder

__all__ = [
    "Collector",
    "FilingExportError",
    "FilingImportError",
    "ImportProblem",
    "Imported",
]


class ImportProblem(NamedTuple):
    """One row or item and what is wrong with it (or worth saying about it)."""

    source: str
    line: int | None
    item: int | None  # 0-based index of the YAML/XML item, None for CSV rows
    reason: str

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line is not None else "")
        if self.item is not None:
            where += f" (item {self.item})"
        return f"{where}: {self.reason}"


class FilingImportError(ValueError):
    """Raised when an import has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s), nothing imported:\n{lines}")


class FilingExportError(ValueError):
    """Raised when records cannot be written as asked; ``problems`` names record and field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s), nothing written:\n{lines}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


_NODE_WORDS = {"division": "administrative division", "business-group": "business group",
               "virtual-organisation": "virtual organisation"}


@dataclass
class Imported:
    """Everything one file held, once it has no problems."""

    source: str
    #: The catalog's own DeviceID (the platform that sent it); "" for CSV and YAML.
    sender: str = ""
    records: list[FilingRecord] = field(default_factory=list)
    #: Directory nodes (divisions, business groups, virtual organisations): the tree.
    nodes: list[CatalogNode] = field(default_factory=list)
    #: Items that are neither a camera nor a directory node, and why they were left out.
    skipped: list[ImportProblem] = field(default_factory=list)
    #: Placeholder (read as "no position") and implausible positions.
    position_flags: list[ImportProblem] = field(default_factory=list)
    #: Anything else read differently from how it was written (e.g. a password not stored).
    notes: list[ImportProblem] = field(default_factory=list)
    #: Cameras whose item carried no regulation fields at all (a platform's plain catalog).
    catalog_only: set[str] = field(default_factory=set)
    #: How many of those took the regulation fields of their filing in force.
    kept_filed: int = 0

    def keep_filed(self, in_force: Mapping[str, FilingRecord]) -> int:
        """Give each catalog-only camera the regulation fields of its filing in force (a
        platform's catalog is silent on them, which is no reason to drop them); returns how
        many took them."""
        self.records = [r.with_filed_facts(in_force[r.device_id])
                        if r.device_id in self.catalog_only and r.device_id in in_force else r
                        for r in self.records]
        self.kept_filed = sum(1 for r in self.records
                              if r.device_id in self.catalog_only and r.device_id in in_force)
        return self.kept_filed

    @property
    def incomplete(self) -> list[FilingRecord]:
        return [r for r in self.records if r.missing]

    def summary(self) -> list[str]:
        """The counts, one line each, then each skipped item, flag and note."""
        items = len(self.records) + len(self.nodes) + len(self.skipped)
        sender = f" from {self.sender}" if self.sender else ""
        lines = [f"{self.source}: {_plural(items, 'item')}{sender}"]
        camera_line = f"  {_plural(len(self.records), 'camera')}"
        if self.kept_filed:
            camera_line += (f", {self.kept_filed} keeping the regulation fields of their filing "
                            "in force")
        if self.incomplete:
            lacking = Counter(f for r in self.incomplete for f in r.missing)
            camera_line += (f", {len(self.incomplete)} of them incomplete filings (no "
                            + ", no ".join(f"{f} {n}" for f, n in lacking.items()) + ")")
        lines.append(camera_line)
        if self.nodes:
            kinds = Counter(n.kind for n in self.nodes)
            lines.append(f"  {_plural(len(self.nodes), 'directory node')}: "
                         + ", ".join(_plural(n, _NODE_WORDS[k]) for k, n in kinds.items()))
        if self.skipped:
            lines.append(f"  {len(self.skipped)} skipped (neither camera nor directory node)")
        if self.position_flags:
            lines.append(f"  {_plural(len(self.position_flags), 'position')} flagged")
        lines += [f"    {p}" for p in (*self.skipped, *self.position_flags, *self.notes)]
        return lines


class Collector:
    """Validates records one at a time, remembering every problem and every device id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[ImportProblem] = []
        self.imported = Imported(source)
        self._seen: dict[str, ImportProblem] = {}

    def problem(self, line: int | None, item: int | None, reason: str) -> None:
        self.problems.append(ImportProblem(self.source, line, item, reason))

    def note(self, line: int | None, item: int | None, reason: str) -> None:
        self.imported.notes.append(ImportProblem(self.source, line, item, reason))

    def skip(self, line: int | None, item: int | None, reason: str) -> None:
        self.imported.skipped.append(ImportProblem(self.source, line, item, reason))

    def _first(self, device_id: str, line: int | None, item: int | None) -> bool:
        """Remember the first item with this id; a later one is a duplicate problem."""
        first = self._seen.get(device_id)
        if first is not None:
            at = f"line {first.line}" if first.line is not None else f"item {first.item}"
            self.problem(line, item, f"duplicate device_id {device_id} (first at {at})")
            return False
        self._seen[device_id] = ImportProblem(self.source, line, item, "")
        return True

    def _validated(self, cls: type[Any], data: Mapping[str, Any], line: int | None,
                   item: int | None) -> Any:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            reason = "; ".join(s.strip() for s in format_validation_error(exc).splitlines())
            self.problem(line, item, reason)
            return None

    def add(self, data: Mapping[str, Any], line: int | None, item: int | None, *,
            catalog_only: bool = False) -> None:
        record: FilingRecord | None = self._validated(FilingRecord, data, line, item)
        if record is None or not self._first(record.device_id, line, item):
            return
        if catalog_only:
            self.imported.catalog_only.add(record.device_id)
        pos = record.position
        if pos is not None and is_placeholder(pos.latitude, pos.longitude):
            record = record.model_copy(update={"position": None})
            self.imported.position_flags.append(ImportProblem(
                self.source, line, item,
                f"{record.device_id}: position 0/0 is a placeholder, read as no position"))
        for phrase in record.position_problems:
            self.imported.position_flags.append(ImportProblem(
                self.source, line, item, f"{record.device_id}: position {phrase}"))
        self.imported.records.append(record)

    def add_node(self, data: Mapping[str, Any], line: int | None, item: int | None) -> None:
        node: CatalogNode | None = self._validated(CatalogNode, data, line, item)
        if node is not None and self._first(node.device_id, line, item):
            self.imported.nodes.append(node)

    def result(self) -> Imported:
        if self.problems:
            raise FilingImportError(self.problems)
        return self.imported
