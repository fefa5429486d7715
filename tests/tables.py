"""Reading back what the CLI prints as rich tables."""

from __future__ import annotations


def unfolded_cells(table: str) -> list[str]:
    """Each cell of a rich table's body, its lines joined again. rich wraps at spaces and
    folds long words, and the two look alike: the lines are joined without a space, so compare
    with spaces removed where the text has any."""
    cells: list[str] = []
    columns: list[list[str]] = []
    for line in table.splitlines():
        parts = line.split("\u2502")[1:-1]  # between the vertical rules
        if not parts:
            continue
        if parts[0].strip():  # a new row
            cells += ["".join(column) for column in columns]
            columns = [[] for _ in parts]
        for column, part in zip(columns, parts, strict=False):
            column.append(part.strip())
    return cells + ["".join(column) for column in columns]
